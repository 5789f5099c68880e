// What the machine gives the broker: its memory limit (cgroup v2, then v1, then the host),
// its resident memory, and free disk space.
import { readdirSync, readFileSync, statfsSync } from "node:fs";
import { availableParallelism, totalmem } from "node:os";
import { dirname, resolve } from "node:path";

/** cgroup v1 reports "no limit" as a huge number just under 2^63. */
const UNLIMITED_V1 = 2 ** 60;

/**
 * The memory limit that applies to this process, in bytes: the cgroup v2 `memory.max`, else the
 * cgroup v1 `memory.limit_in_bytes`, never more than the host's RAM. "max" and v1's "unlimited"
 * value mean no limit at that level. `root` and `host` are for tests (fixture files).
 */
export function memoryLimit(root = "/sys/fs/cgroup", host = totalmem()): number {
  const v2 = readLimit(`${root}/memory.max`);
  if (v2 !== undefined) return Math.min(v2, host);
  const v1 = readLimit(`${root}/memory/memory.limit_in_bytes`);
  if (v1 !== undefined) return Math.min(v1, host);
  return host;
}

function readLimit(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8").trim();
  } catch {
    return undefined; // no such file: not this cgroup version
  }
  if (!/^\d+$/.test(text)) return undefined; // "max": no limit at this level
  const bytes = Number(text);
  return bytes > 0 && bytes < UNLIMITED_V1 ? bytes : undefined;
}

/** Resident set size of this process, in bytes. */
export function residentMemory(): number {
  return process.memoryUsage.rss();
}

/**
 * Bytes available to unprivileged users on the file system holding `dir` (df's "Available", as
 * RabbitMQ reads it). A directory not created yet is measured at its nearest existing parent.
 */
export function freeDiskBytes(dir: string): number {
  let path = resolve(dir);
  for (;;) {
    try {
      const stats = statfsSync(path);
      return Number(stats.bavail) * Number(stats.bsize);
    } catch (err) {
      const parent = dirname(path);
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" || parent === path) throw err;
      path = parent;
    }
  }
}

/** The runtime and its version, for the management API's erlang_version field. */
export const RUNTIME_VERSION = `Bun ${Bun.version}`;

/** File descriptors open in this process (Linux /proc; 0 where unavailable). */
export function openFileDescriptors(): number {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return 0;
  }
}

/** The soft limit on open file descriptors (RabbitMQ's fd_total); 0 where unknown. */
export function fileDescriptorLimit(): number {
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
    const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
    return soft === undefined || soft === "unlimited" ? 0 : Number(soft);
  } catch {
    return 0;
  }
}

/** Logical processors available. */
export function processorCount(): number {
  return availableParallelism();
}
