// What the machine gives the broker: its memory limit (cgroup v2, then v1, then the host),
// its resident memory, and free disk space.
import { readFileSync, statfsSync } from "node:fs";
import { totalmem } from "node:os";

/** cgroup v1 reports "no limit" as a huge number just under 2^63. */
const UNLIMITED_V1 = 2 ** 60;

/** The memory limit that applies to this process, in bytes. `root` is for tests (fixture files). */
export function memoryLimit(root = "/sys/fs/cgroup"): number {
  const v2 = readNumber(`${root}/memory.max`);
  if (v2 !== undefined) return Math.min(v2, totalmem());
  const v1 = readNumber(`${root}/memory/memory.limit_in_bytes`);
  if (v1 !== undefined && v1 < UNLIMITED_V1) return Math.min(v1, totalmem());
  return totalmem();
}

function readNumber(path: string): number | undefined {
  try {
    const text = readFileSync(path, "utf8").trim();
    if (!/^\d+$/.test(text)) return undefined; // "max": no limit at this level
    return Number(text);
  } catch {
    return undefined;
  }
}

export function residentMemory(): number {
  return process.memoryUsage.rss();
}

export function freeDiskBytes(dir: string): number {
  const stats = statfsSync(dir);
  return Number(stats.bavail) * Number(stats.bsize);
}
