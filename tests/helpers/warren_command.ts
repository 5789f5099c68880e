// Runs the warren command as a user would: the built executable when WARREN_BIN is set (CI), the
// command warren_runtime.ts picks (WARREN_CMD, WARREN_RUNTIME=deno), else `bun src/main.ts`. startServer() waits for "Server startup complete" and reads the listener
// ports from the log; run() runs a subcommand (`plugins …`, `ctl …`) to completion.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { warrenCommand } from "./warren_runtime.ts";

export const WARREN: string[] = warrenCommand();

export interface ServerProcess {
  port: number;
  httpPort: number;
  metricsPort: number;
  dataDir: string;
  log(): string;
  stop(): Promise<void>;
}

const live = new Set<ServerProcess>();
export async function stopAllServers(): Promise<void> {
  await Promise.all([...live].map((s) => s.stop()));
}

/** Starts `warren server` with `args` on free loopback ports and a temp data dir (or `dataDir`). */
export async function startServer(args: string[] = [], env: Record<string, string> = {}, dataDir?: string): Promise<ServerProcess> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), "warren-cmd-"));
  const [cmd, ...pre] = WARREN;
  const child = spawn(cmd!, [
    ...pre,
    "--port",
    "0",
    "--http-port",
    "0",
    "--metrics-port",
    "0",
    "--bind",
    "127.0.0.1",
    "--data-dir",
    dir,
    ...args,
  ], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let log = "";
  child.stdout!.on("data", (c: Buffer) => (log += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (log += c.toString()));
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  const ports = await new Promise<{ port: number; httpPort: number; metricsPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`warren did not start within 20 s:\n${log}`)), 20_000);
    const check = () => {
      if (!log.includes("Server startup complete")) return;
      clearTimeout(timer);
      resolve({
        port: Number(/started TCP listener on [^\n]*:(\d+)\n/.exec(log)?.[1]),
        httpPort: Number(/Management plugin: HTTP \(non-TLS\) listener started on port (\d+)/.exec(log)?.[1]),
        metricsPort: Number(/Prometheus metrics: HTTP \(non-TLS\) listener started on port (\d+)/.exec(log)?.[1]),
      });
    };
    child.stdout!.on("data", check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new ExitedError(code, log));
    });
  }).catch((err) => {
    child.kill("SIGKILL");
    if (!dataDir) rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  let stopping: Promise<void> | undefined;
  const server: ServerProcess = {
    ...ports,
    dataDir: dir,
    log: () => log,
    stop() {
      stopping ??= (async () => {
        live.delete(server);
        child.kill("SIGTERM");
        await exited;
        if (!dataDir) rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
  live.add(server);
  return server;
}

/** The process ended before it was ready: its exit code and output. */
export class ExitedError extends Error {
  constructor(readonly code: number | null, readonly output: string) {
    super(`warren exited with ${code} before it was ready:\n${output}`);
  }
}

/** Runs `warren <args>` to completion. */
export function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [cmd, ...pre] = WARREN;
  const child = spawn(cmd!, [...pre, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, stdout, stderr })));
}
