// What the machine gives the broker: its memory limit (cgroup v2, then v1, then the host),
// its resident memory, and free disk space.
import { spawnSync } from "node:child_process";
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
export { RUNTIME_VERSION } from "./platform.ts";

/** File descriptors open in this process (Linux /proc; 0 where unavailable). */
export function openFileDescriptors(): number {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return 0;
  }
}

/** RLIMIT_NOFILE of this process from /proc/self/limits (Linux); undefined where unreadable. */
export function fileDescriptorLimits(): { soft: number; hard: number } | undefined {
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
    const [soft, hard] = line?.slice("Max open files".length).trim().split(/\s+/) ?? [];
    if (soft === undefined || hard === undefined) return undefined;
    const value = (v: string) => (v === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(v));
    return { soft: value(soft), hard: value(hard) };
  } catch {
    return undefined;
  }
}

/** The soft limit on open file descriptors (RabbitMQ's fd_total); 0 where unknown. */
export function fileDescriptorLimit(): number {
  return fileDescriptorLimits()?.soft ?? 0;
}

/**
 * Raises the soft descriptor limit to the hard limit, as RabbitMQ's start script does with
 * ulimit. Neither Bun nor Deno has setrlimit; Bun raises the soft limit itself at start-up, and
 * where it is still below the hard limit (another runtime) util-linux's `prlimit` sets it on
 * this process. Returns the limits after trying (undefined where they cannot be read).
 */
export function raiseFileDescriptorLimit(): { soft: number; hard: number } | undefined {
  const before = fileDescriptorLimits();
  if (before === undefined || before.soft >= before.hard || before.hard === Number.MAX_SAFE_INTEGER) return before;
  try {
    spawnSync("prlimit", ["--pid", String(process.pid), `--nofile=${before.hard}:${before.hard}`], { stdio: "ignore", timeout: 2000 });
  } catch {
    // no prlimit: keep the soft limit
  }
  return fileDescriptorLimits();
}

/** Logical processors available. */
export function processorCount(): number {
  return availableParallelism();
}
