// A Warren broker in a process of its own (`bun src/main.ts`, or what warren_runtime.ts picks:
// WARREN_RUNTIME=deno runs it on Deno), for the crash tests and the
// crash soak: it can be SIGKILLed at any moment. Every wait has a time limit, and every process
// started here is registered so that a test's afterAll (or a script's finally) can kill all of
// them with killAllWarrens().
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { ROOT, warrenCommand } from "./warren_runtime.ts";

export { ROOT };

/** The line the broker logs (at info level) once it accepts connections. */
export const STARTUP_LINE = "Server startup complete";

export interface WarrenProcess {
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** The last 64 KiB of stdout and stderr, for failure messages. */
  output(): string;
  /** True once the process has exited. */
  readonly exited: boolean;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exit: Promise<number | string>;
  /** Resolves when a line matching `pattern` was logged; rejects on exit or after `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** SIGKILL, then wait (bounded) until the process is gone. Idempotent. */
  kill9(timeoutMs?: number): Promise<void>;
}

export interface SpawnOptions {
  dataDir: string;
  /** Extra command-line flags, e.g. ["--no-fsync"]. */
  args?: string[];
  /** Defaults to info: the startup line is an info line. */
  logLevel?: "debug" | "info" | "warning" | "error" | "none";
  port?: number;
  /** Extra environment variables; with RABBITMQ_NODE_PORT no --port flag is passed (it would win). */
  env?: Record<string, string>;
  /** Start under this RLIMIT_NOFILE (soft and hard), through util-linux's prlimit. */
  nofile?: number;
  /** The command that runs warren (default: warrenCommand(), chosen by the environment). */
  command?: string[];
  /** Sees every chunk of stdout and stderr (the output() tail keeps only the last 64 KiB). */
  onOutput?: (text: string) => void;
}

const live = new Set<WarrenProcess>();

/** Kills every broker process started by this module that is still running. */
export async function killAllWarrens(): Promise<void> {
  await Promise.all([...live].map((p) => p.kill9().catch(() => {})));
}

// A script or test runner that dies must not leave brokers behind.
process.once("exit", () => {
  for (const p of live) if (!p.exited) p.child.kill("SIGKILL");
});

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** Starts the process without waiting for it to be ready. */
export async function launchWarren(opts: SpawnOptions): Promise<WarrenProcess> {
  const envPort = opts.env?.RABBITMQ_NODE_PORT;
  const port = envPort !== undefined ? Number(envPort) : opts.port ?? (await freePort());
  const [command, ...pre] = opts.command ?? warrenCommand();
  const argv = [
    ...pre,
    ...(envPort !== undefined ? [] : ["--port", String(port)]),
    "--bind",
    "127.0.0.1",
    "--data-dir",
    opts.dataDir,
    "--log-level",
    opts.logLevel ?? "info",
    "--http-port",
    "0",
    "--metrics-port",
    "0",
    ...(opts.args ?? []),
  ];
  const spawnOptions = {
    stdio: ["ignore", "pipe", "pipe"] as ("ignore" | "pipe")[],
    cwd: ROOT,
    ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
  };
  // prlimit execs the broker with the limit set: the pid stays the broker's.
  const child = opts.nofile === undefined
    ? spawn(command!, argv, spawnOptions)
    : spawn("prlimit", [`--nofile=${opts.nofile}:${opts.nofile}`, command!, ...argv], spawnOptions);
  let tail = "";
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer) => {
    const text = chunk.toString();
    opts.onOutput?.(text);
    tail += text;
    if (tail.length > 65_536) tail = tail.slice(-65_536);
    for (const l of [...listeners]) l();
  };
  child.stdout!.on("data", append);
  child.stderr!.on("data", append);
  let exited = false;
  const exit = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = true;
      live.delete(proc);
      for (const l of [...listeners]) l();
      resolve(code ?? signal ?? "unknown");
    });
  });
  const proc: WarrenProcess = {
    port,
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    pid: child.pid ?? -1,
    child,
    output: () => tail,
    get exited() {
      return exited;
    },
    exit,
    waitForLine(pattern, timeoutMs) {
      return new Promise<string>((resolve, reject) => {
        // Lines logged before the call count too (the tail is searched from its start).
        const check = () => {
          const m = pattern.exec(tail);
          if (m) {
            done();
            resolve(m[0]);
          } else if (exited) {
            done();
            reject(new Error(`broker (pid ${proc.pid}) exited before logging ${pattern}:\n${tail}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`broker (pid ${proc.pid}) did not log ${pattern} within ${timeoutMs} ms:\n${tail}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async kill9(timeoutMs = 10_000) {
      if (!exited) child.kill("SIGKILL");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`broker pid ${proc.pid} still running ${timeoutMs} ms after SIGKILL`)), timeoutMs);
      });
      try {
        await Promise.race([exit, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
  live.add(proc);
  return proc;
}

/**
 * Starts a broker on `dataDir` and resolves once it logged "Server startup complete" (it accepts
 * connections only after recovery). Retries once on another port if the chosen one was taken.
 */
export async function spawnWarren(opts: SpawnOptions, timeoutMs = 60_000): Promise<WarrenProcess> {
  for (let attempt = 0;; attempt++) {
    const proc = await launchWarren(opts);
    try {
      await proc.waitForLine(new RegExp(STARTUP_LINE), timeoutMs);
      return proc;
    } catch (err) {
      await proc.kill9();
      if (attempt < 2 && opts.port === undefined && /EADDRINUSE|address already in use/i.test(proc.output())) continue;
      throw err;
    }
  }
}
