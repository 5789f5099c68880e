// The broker a tool-level test talks to: in-process (startTestBroker) by default, or the built
// executable when WARREN_BIN is set (CI runs the rabbitmqadmin and definitions round-trip tests
// against dist/warren that way). Either way it listens on free loopback ports with a temp data dir.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestBroker } from "./broker.ts";

export interface BrokerUnderTest {
  /** "in-process" or the executable's path. */
  kind: string;
  port: number;
  httpPort: number;
  /** http://127.0.0.1:<httpPort> */
  httpUrl: string;
  stop(): Promise<void>;
}

export async function startBrokerUnderTest(): Promise<BrokerUnderTest> {
  const bin = process.env.WARREN_BIN;
  if (!bin) {
    const tb = await startTestBroker();
    return { kind: "in-process", port: tb.port, httpPort: tb.httpPort, httpUrl: tb.httpUrl, stop: () => tb.stop() };
  }
  return await startExecutable(bin);
}

async function startExecutable(bin: string): Promise<BrokerUnderTest> {
  const dataDir = await mkdtemp(join(tmpdir(), "warren-bin-"));
  const child = spawn(bin, ["--port", "0", "--http-port", "0", "--metrics-port", "0", "--bind", "127.0.0.1", "--data-dir", dataDir], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let log = "";
  const ports = await new Promise<{ port: number; httpPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${bin} did not start within 20 s:\n${log}`)), 20_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      if (!log.includes("Server startup complete")) return;
      clearTimeout(timer);
      const amqpPort = /started TCP listener on [^\n]*:(\d+)\n/.exec(log)?.[1];
      const httpPort = /Management plugin: HTTP \(non-TLS\) listener started on port (\d+)/.exec(log)?.[1];
      if (!amqpPort || !httpPort) reject(new Error(`cannot find the listener ports in the log of ${bin}:\n${log}`));
      else resolve({ port: Number(amqpPort), httpPort: Number(httpPort) });
    });
    child.on("exit", (code) => reject(new Error(`${bin} exited with ${code} before it was ready:\n${log}`)));
  }).catch(async (err) => {
    child.kill("SIGKILL");
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  });
  child.stdout!.resume(); // keep draining the log
  let stopped: Promise<void> | undefined;
  return {
    kind: bin,
    ...ports,
    httpUrl: `http://127.0.0.1:${ports.httpPort}`,
    stop() {
      stopped ??= (async () => {
        const exited = new Promise((done) => child.once("exit", done));
        child.kill("SIGTERM");
        await exited;
        await rm(dataDir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
