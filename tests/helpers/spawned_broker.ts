// A Warren broker in its own process (`bun src/main.ts`), for tests that kill -9 it.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");

export interface SpawnedBroker {
  readonly url: string;
  readonly process: ChildProcess;
  /** SIGKILL, and wait until the process is gone. */
  kill9(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => done(port));
    });
  });
}

/** Starts a broker on `dataDir` and resolves once it logs "Server startup complete". */
export async function spawnBroker(dataDir: string, timeoutMs = 30_000): Promise<SpawnedBroker> {
  const port = await freePort();
  const child = spawn(join(ROOT, "node_modules/.bin/bun"), [join(ROOT, "src/main.ts"), "--port", String(port), "--bind", "127.0.0.1", "--data-dir", dataDir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`broker did not start within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Server startup complete")) {
        clearTimeout(timer);
        ready();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`broker exited with ${code} before starting:\n${output}`));
    });
  });
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    process: child,
    async kill9() {
      child.kill("SIGKILL");
      await exited;
    },
  };
}
