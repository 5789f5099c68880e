// Crash soak: the kill -9 cycle of tests/crash/crash.test.ts (tests/helpers/crash_harness.ts),
// many times on one data dir, then a crash during recovery of a large store.
//
//   bun scripts/crash_soak.ts [--cycles 100] [--seed 1] [--no-fsync] [--strict-acks] [--recovery-messages 50000]
//
// --no-fsync runs every broker with --no-fsync (default: every fourth cycle). --strict-acks also
// fails when an ack that a later synchronous method proved processed (but not committed) comes
// back after the crash; by default that is counted and allowed (at-least-once, as in RabbitMQ).
// One progress line per cycle. Exits 1 on the first violation, printing which and keeping a
// copy of the store as it was right after that cycle's kill (the path is printed).
import { parseArgs } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crashDuringRecovery, CrashRig, formatReport } from "../tests/helpers/crash_harness.ts";
import { killAllWarrens } from "../tests/helpers/warren_process.ts";

const { values } = parseArgs({
  options: {
    cycles: { type: "string", default: "100" },
    seed: { type: "string", default: "1" },
    "no-fsync": { type: "boolean", default: false },
    "strict-acks": { type: "boolean", default: false },
    "recovery-messages": { type: "string", default: "50000" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(
    "usage: bun scripts/crash_soak.ts [--cycles 100] [--seed 1] [--no-fsync] [--strict-acks] [--recovery-messages 50000 (0: skip)]",
  );
  process.exit(0);
}
const cycles = Number(values.cycles);
const seed = Number(values.seed);
const recoveryMessages = Number(values["recovery-messages"]);
if (!Number.isInteger(cycles) || cycles < 0 || !Number.isFinite(seed) || !Number.isInteger(recoveryMessages) || recoveryMessages < 0) {
  console.error("crash_soak: --cycles and --recovery-messages take whole numbers, --seed a number");
  process.exit(2);
}

const root = mkdtempSync(join(tmpdir(), "warren-soak-"));
const crashCopy = join(root, "store-after-last-kill");
const rig = new CrashRig({
  dataDir: join(root, "data"),
  seed,
  crashCopyDir: crashCopy,
  processedAcksMustStick: values["strict-acks"],
  ...(values["no-fsync"] ? { noFsync: () => true } : {}),
});
const started = performance.now();
let failed = false;
let confirmed = 0;
let recovered = 0;
let processedAckReturned = 0;
try {
  for (let cycle = 1; cycle <= cycles; cycle++) {
    const r = await rig.cycle(cycle);
    confirmed += r.confirmed;
    recovered += r.recovered;
    processedAckReturned += r.processedAckReturned;
    console.log(`[${cycle}/${cycles} ${((performance.now() - started) / 1000).toFixed(0)} s] ${formatReport(r)}`);
    if (r.violations.length > 0) {
      failed = true;
      console.error(`crash_soak: violation in cycle ${cycle}; replay with --seed ${seed} (cycle seed ${r.seed}).`);
      console.error(`crash_soak: the store as it was right after the kill: ${crashCopy}`);
      break;
    }
  }
  await rig.close();
  if (!failed && recoveryMessages > 0) {
    const report = await crashDuringRecovery(join(root, "recovery"), {
      messages: recoveryMessages,
      attempts: 9,
      seed,
      log: (line) => console.log(`[recovery] ${line}`),
    });
    for (const v of report.violations) {
      console.error(`[recovery] VIOLATION ${v.kind} in ${v.queue}: ${v.ids.slice(0, 12).join(", ")} (${v.ids.length}) ${v.detail ?? ""}`);
    }
    console.log(
      `[recovery] ${
        report.attempts.filter((a) => a.killedBeforeReady).length
      }/${report.attempts.length} kills before startup completed; recovered ${JSON.stringify(report.recoveredCounts)}`,
    );
    if (report.violations.length > 0) failed = true;
  }
  console.log(
    `crash_soak: ${failed ? "FAILED" : "ok"}: ${confirmed} confirmed, ${recovered} recovered, ` +
      `${processedAckReturned} processed-but-uncommitted acks came back (allowed), ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
} catch (err) {
  failed = true;
  console.error(`crash_soak: harness error: ${(err as Error).stack ?? err}`);
} finally {
  await rig.close().catch(() => {});
  await killAllWarrens();
  if (!failed) rmSync(root, { recursive: true, force: true });
  else console.error(`crash_soak: kept ${root}`);
}
process.exit(failed ? 1 : 0);
