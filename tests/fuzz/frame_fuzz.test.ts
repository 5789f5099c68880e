// A short seeded run of the frame fuzzer against a broker process (the long run is
// `bun scripts/fuzz.ts`): no crash, no hang over 5 s, a fresh client works after every hostile
// connection, broker RSS bounded, and every close code one RabbitMQ uses.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killAllWarrens, spawnWarren, type WarrenProcess } from "../helpers/warren_process.ts";
import { runFrameFuzz } from "./frame_fuzzer.ts";
import { processRss } from "./process_stats.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 15);
const CASES = Number(process.env.FUZZ_CASES ?? 300);

let dir = "";
const trouble: string[] = [];
let proc: WarrenProcess;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "warren-fuzz-"));
  proc = await spawnWarren({
    dataDir: join(dir, "data"),
    onOutput: (text) => {
      for (const line of text.split("\n")) if (/internal error|Unhandled|uncaught|TypeError|RangeError/i.test(line)) trouble.push(line);
    },
  });
});
afterAll(async () => {
  await killAllWarrens();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test(`${CASES} mutated AMQP conversations (seed ${SEED}): the broker stays up, responsive and exact`, async () => {
  const result = await runFrameFuzz({ port: proc.port, seed: SEED, cases: CASES });
  console.log(
    `frame fuzz seed ${SEED}: ${result.cases} cases, ${result.closedByBroker} closed by the broker, close codes ${
      JSON.stringify(Object.fromEntries(result.closeCodes))
    }, broker RSS ${Math.round((processRss(proc.pid) ?? 0) / 1048576)} MiB`,
  );
  expect(result.failures).toEqual([]);
  expect(result.cases).toBe(CASES);
  expect(result.wellBehaved).toBe(CASES);
  expect(proc.exited).toBe(false);
  const rss = processRss(proc.pid);
  if (rss !== undefined) expect(rss).toBeLessThan(512 * 1024 * 1024);
  expect(trouble).toEqual([]);
});
