// Crash safety of the durable store: the broker runs in its own process and is killed with
// SIGKILL while publishers (confirms, transactions) and consumers (acks, multiple acks, requeues,
// rejects, held deliveries) run at full speed, then restarted on the same data dir. Beside three
// busy queues, each cycle spreads its load over 300 more durable queues committing together
// (priority, quorum, length-limited with dead-lettering, reject-publish, plain:
// tests/helpers/crash_topology.ts). What is
// checked after every restart is described in tests/helpers/crash_harness.ts: no confirmed
// message lost, no committed ack undone, no duplicates, no transient message back, per-publisher
// order kept, bodies and properties intact, redelivered set where the delivery was committed.
// scripts/crash_soak.ts runs the same cycle 100 times.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crashDuringRecovery, CrashRig, type CycleReport, formatReport } from "../helpers/crash_harness.ts";
import { killAllWarrens } from "../helpers/warren_process.ts";
import { brokerAsProcess } from "../helpers/warren_runtime.ts";

// On Deno (WARREN_RUNTIME=deno) each of the 20 restarts takes longer: Deno starts slower.
setDefaultTimeout(brokerAsProcess() ? 240_000 : 110_000);

const CYCLES = 20;
const SEED = Number(process.env.WARREN_CRASH_SEED ?? 7);
const VERBOSE = process.env.WARREN_CRASH_VERBOSE === "1";

const dirs: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

afterAll(async () => {
  await killAllWarrens();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

test(`${CYCLES} kill -9 cycles under load: nothing confirmed lost, no committed ack undone, no duplicates`, async () => {
  const rig = new CrashRig({ dataDir: await tempDir("warren-crash-"), seed: SEED });
  const reports: CycleReport[] = [];
  try {
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      const report = await rig.cycle(cycle);
      reports.push(report);
      if (VERBOSE || report.violations.length > 0) console.log(formatReport(report));
      // Stop at the first violating cycle: its report names the seed to replay it with.
      expect(report.violations.length === 0 ? "ok" : formatReport(report)).toBe("ok");
    }
  } finally {
    await rig.close();
  }
  // The load really ran and the crashes really hit work in progress.
  const sum = (f: (r: CycleReport) => number) => reports.reduce((n, r) => n + f(r), 0);
  expect(sum((r) => r.confirmed)).toBeGreaterThan(0);
  expect(sum((r) => r.settledCommitted)).toBeGreaterThan(0);
  expect(sum((r) => r.recovered)).toBeGreaterThan(0);
  expect(reports.some((r) => !r.fsync)).toBe(true);
  console.log(
    `crash cycles: ${CYCLES}, ${sum((r) => r.confirmed)} confirmed, ${sum((r) => r.recovered)} recovered, ` +
      `${sum((r) => r.processedAckReturned)} processed-but-uncommitted acks came back (allowed)`,
  );
});

test("kill -9 during recovery (50k persistent messages), again and again, then a full boot has everything", async () => {
  const report = await crashDuringRecovery(await tempDir("warren-crash-boot-"), {
    messages: 50_000,
    attempts: 6,
    seed: SEED,
    ...(VERBOSE ? { log: (line: string) => console.log(line) } : {}),
  });
  const detail = report.violations.map((v) =>
    `${v.kind} in ${v.queue}: ${v.ids.slice(0, 10).join(", ")} (${v.ids.length}) ${v.detail ?? ""}`
  );
  expect(detail).toEqual([]);
  expect(report.recoveredCounts).toEqual({ "rc.a": 30_000, "rc.b": 29_900, "rc.c": 20_000 });
  // The kills on the log lines land before the broker is ready: it was killed mid-boot.
  expect(report.attempts.filter((a) => a.killedBeforeReady).length).toBeGreaterThan(0);
});
