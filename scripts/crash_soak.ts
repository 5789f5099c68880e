// Long crash soak: the kill -9 cycle of tests/crash/kill9.test.ts, many times.
//   bun scripts/crash_soak.ts [--cycles 100] [--seed 1]
// Prints one line per cycle; exits 1 on the first violation.
import { parseArgs } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crashCycle, random } from "../tests/helpers/crash_cycle.ts";
import type { SpawnedBroker } from "../tests/helpers/spawned_broker.ts";

const { values } = parseArgs({ options: { cycles: { type: "string", default: "100" }, seed: { type: "string", default: "1" } } });
const cycles = Number(values.cycles);
const rand = random(Number(values.seed));
const dataDir = mkdtempSync(join(tmpdir(), "warren-soak-"));
let broker: SpawnedBroker | undefined;
let exitCode = 0;
try {
  for (let cycle = 1; cycle <= cycles; cycle++) {
    const r = await crashCycle(dataDir, cycle, rand, (b) => (broker = b));
    const bad = r.lost.length + r.resurrected.length + r.unknown.length + r.duplicates;
    console.log(`cycle ${cycle}/${cycles}: ${r.confirmed} confirmed, lost ${r.lost.length}, resurrected ${r.resurrected.length}, unknown ${r.unknown.length}, duplicates ${r.duplicates}`);
    if (bad > 0) {
      console.error(`crash_soak: violation in cycle ${cycle}: ${JSON.stringify(r).slice(0, 2000)}`);
      exitCode = 1;
      break;
    }
  }
} finally {
  await broker?.kill9();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(exitCode);
