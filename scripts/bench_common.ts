// What the bench scripts share: free ports, waiting for a listener, a process's RSS, medians, and
// dist/warren started on a fresh temp data dir.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { connect } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const binary = join(root, "dist", "warren");

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function freePort(): Promise<number> {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

export function tryConnect(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      done(true);
    });
    socket.on("error", () => done(false));
  });
}

export async function waitForPort(port: number, timeoutMs = 10_000): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (await tryConnect(port)) return performance.now() - started;
    await Bun.sleep(1);
  }
  return NaN;
}

export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/**
 * Drops the executable's pages from the page cache, so the next start reads it as after a
 * reboot. A file just written by the build sits in the cache in large folios, and mapping those
 * adds about 5 MiB of file-backed RSS that a later start does not see (docs/memory.md).
 */
export function dropFromPageCache(path: string): void {
  Bun.spawnSync(["dd", `if=${path}`, "iflag=nocache", "count=0", "status=none"]);
}

/** dist/warren on a fresh temp data dir (removed when the process exits), fsync on. */
export function spawnWarren(port: number, extraArgs: string[] = []) {
  const dataDir = mkdtempSync(join(tmpdir(), "warren-bench-"));
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--data-dir", dataDir, "--log-level", "warning"];
  const proc = Bun.spawn([binary, ...args, "--http-port", "0", "--metrics-port", "0", ...extraArgs], {
    stdout: "ignore",
    stderr: "inherit",
  });
  void proc.exited.then(() => rmSync(dataDir, { recursive: true, force: true }));
  return proc;
}

/** Spawn → first accepted TCP connection, and RSS once idle (500 ms later). */
export async function startupRun(): Promise<{ portOpenMs: number; idleRssMiB: number }> {
  const port = await freePort();
  const proc = spawnWarren(port);
  const portOpenMs = await waitForPort(port);
  await Bun.sleep(500);
  const idleRssMiB = rssMiB(proc.pid);
  proc.kill("SIGTERM");
  await proc.exited;
  return { portOpenMs, idleRssMiB };
}
