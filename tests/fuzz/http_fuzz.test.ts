// A short seeded run of the HTTP fuzzer against a broker process (the long run is
// `bun scripts/fuzz.ts`): no crash, every request answered within 5 s, no 5xx, RabbitMQ's error
// shape, and the API still answers after every hostile request.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { basic } from "../helpers/http.ts";
import { killAllWarrens, spawnWarren, type WarrenProcess } from "../helpers/warren_process.ts";
import { runHttpFuzz } from "./http_fuzzer.ts";
import { processRss } from "./process_stats.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 15);
const CASES = Number(process.env.FUZZ_HTTP_CASES ?? 400);

let dir = "";
let proc: WarrenProcess;
let log = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "warren-httpfuzz-"));
  proc = await spawnWarren({ dataDir: join(dir, "data"), onOutput: (t) => (log.length < 1_000_000 ? (log += t) : undefined) });
});
afterAll(async () => {
  await killAllWarrens();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test(`${CASES} hostile management API requests (seed ${SEED}): answered, no 5xx, the API keeps working`, async () => {
  const httpPort = Number(/Management plugin: HTTP \(non-TLS\) listener started on port (\d+)/.exec(log)?.[1]);
  const result = await runHttpFuzz({ httpPort, auth: basic("guest", "guest"), seed: SEED, cases: CASES });
  console.log(
    `http fuzz seed ${SEED}: ${result.cases} requests, statuses ${JSON.stringify(Object.fromEntries(result.statuses))}, broker RSS ${
      Math.round((processRss(proc.pid) ?? 0) / 1048576)
    } MiB`,
  );
  expect(result.failures).toEqual([]);
  expect(result.cases).toBe(CASES);
  expect(proc.exited).toBe(false);
  const rss = processRss(proc.pid);
  if (rss !== undefined) expect(rss).toBeLessThan(512 * 1024 * 1024);
  expect(log).not.toMatch(/management API: .* (TypeError|RangeError)/);
});
