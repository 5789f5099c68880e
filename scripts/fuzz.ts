// The long fuzz run (npm test runs a short one): the frame fuzzer and the HTTP fuzzer against a
// broker process of their own, then prints counts, close codes, statuses and the broker's RSS.
// Exits 1 on any failure, printing the seed and case number to replay it.
//   bun scripts/fuzz.ts [--seed 1] [--frames 20000] [--http 5000] [--concurrency 8]
import { parseArgs } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { basic } from "../tests/helpers/http.ts";
import { killAllWarrens, spawnWarren } from "../tests/helpers/warren_process.ts";
import { runFrameFuzz } from "../tests/fuzz/frame_fuzzer.ts";
import { runHttpFuzz } from "../tests/fuzz/http_fuzzer.ts";
import { processRss } from "../tests/fuzz/process_stats.ts";

const { values: o } = parseArgs({
  options: {
    seed: { type: "string", default: "1" },
    frames: { type: "string", default: "20000" },
    http: { type: "string", default: "5000" },
    concurrency: { type: "string", default: "8" },
  },
});
const seed = Number(o.seed);
const dir = mkdtempSync(join(tmpdir(), "warren-fuzz-"));
let log = "";
const mib = (n: number | undefined) => `${Math.round((n ?? 0) / 1048576)} MiB`;
let failed = false;
try {
  const proc = await spawnWarren({ dataDir: join(dir, "data"), onOutput: (t) => (log.length < 4_000_000 ? (log += t) : undefined) });
  const httpPort = Number(/Management plugin: HTTP \(non-TLS\) listener started on port (\d+)/.exec(log)?.[1]);
  const concurrency = Number(o.concurrency);
  console.log(`fuzz: broker pid ${proc.pid}, RSS ${mib(processRss(proc.pid))} at start`);

  const started = performance.now();
  const frames = await runFrameFuzz({ port: proc.port, seed, cases: Number(o.frames), concurrency });
  console.log(
    `frames: ${frames.cases} cases in ${
      ((performance.now() - started) / 1000).toFixed(1)
    } s, ${frames.closedByBroker} closed by the broker, ` +
      `${frames.wellBehaved} well-behaved clients served, close codes ${JSON.stringify(Object.fromEntries(frames.closeCodes))}, RSS ${
        mib(processRss(proc.pid))
      }`,
  );
  const httpStarted = performance.now();
  const http = await runHttpFuzz({ httpPort, auth: basic("guest", "guest"), seed, cases: Number(o.http), concurrency });
  console.log(
    `http: ${http.cases} requests in ${((performance.now() - httpStarted) / 1000).toFixed(1)} s, statuses ${
      JSON.stringify(Object.fromEntries(http.statuses))
    }, RSS ${mib(processRss(proc.pid))}`,
  );

  for (const f of [...frames.failures, ...http.failures]) console.log(`FAIL ${f}`);
  if (proc.exited) console.log("FAIL the broker exited");
  failed = frames.failures.length + http.failures.length > 0 || proc.exited;
} finally {
  await killAllWarrens();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
