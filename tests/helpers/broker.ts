// Starts a Warren broker for a test: port 0, loopback, a fresh temp data dir, no logging. In
// process mode (WARREN_RUNTIME=deno or WARREN_CMD, warren_runtime.ts) it is a process of its own,
// and `broker` (the in-process object) is unavailable: a test that needs it fails saying so.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Broker, startBroker } from "../../mod.ts";
import type { BrokerOptions } from "../../src/config.ts";
import { startBrokerProcess } from "./broker_process.ts";
import { brokerAsProcess, brokerDescription } from "./warren_runtime.ts";

export interface TestBroker {
  broker: Broker;
  port: number;
  /** amqp://guest:guest@127.0.0.1:<port> */
  url: string;
  /** Management API and Prometheus ports (both picked free). */
  httpPort: number;
  metricsPort: number;
  /** http://127.0.0.1:<httpPort> */
  httpUrl: string;
  dataDir: string;
  /** Stops the broker (idempotent) and removes the temp data dir. */
  stop(): Promise<void>;
}

/**
 * The broker under test runs as a process (WARREN_RUNTIME / WARREN_CMD): tests that look inside
 * the Broker object use `test.skipIf(BROKER_IS_PROCESS)`.
 */
export const BROKER_IS_PROCESS = brokerAsProcess();

export async function startTestBroker(opts: Partial<BrokerOptions> = {}): Promise<TestBroker> {
  const dataDir = await mkdtemp(join(tmpdir(), "warren-test-"));
  if (brokerAsProcess()) return await startProcessBroker(opts, dataDir);
  let broker: Broker;
  try {
    // The MQTT plugin's listeners stay off unless a test asks for them (tests/plugins/mqtt/helpers.ts).
    const pluginSettings = { "mqtt.listeners.tcp.default": "none", "web_mqtt.ws_path": "none", ...opts.pluginSettings };
    broker = await startBroker({
      port: 0,
      httpPort: 0,
      metricsPort: 0,
      bind: "127.0.0.1",
      dataDir,
      logLevel: "none",
      ...opts,
      pluginSettings,
    });
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const port = broker.port;
  let stopped: Promise<void> | undefined;
  return {
    broker,
    port,
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    httpPort: broker.httpPort,
    metricsPort: broker.metricsPort,
    httpUrl: `http://127.0.0.1:${broker.httpPort}`,
    dataDir,
    stop() {
      stopped ??= (async () => {
        try {
          await withTimeout(broker.stop(), 10_000, "broker.stop()");
        } finally {
          await rm(dataDir, { recursive: true, force: true });
        }
      })();
      return stopped;
    },
  };
}

async function startProcessBroker(opts: Partial<BrokerOptions>, dataDir: string): Promise<TestBroker> {
  let server;
  try {
    server = await startBrokerProcess(opts, dataDir);
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    get broker(): Broker {
      throw new Error(`this test needs the in-process broker; the broker under test is a process (${brokerDescription()})`);
    },
    port: server.port,
    url: `amqp://guest:guest@127.0.0.1:${server.port}`,
    httpPort: server.httpPort,
    metricsPort: server.metricsPort,
    httpUrl: `http://127.0.0.1:${server.httpPort}`,
    dataDir,
    stop() {
      stopped ??= (async () => {
        try {
          await withTimeout(server.stop(), 10_000, "stopping the broker process");
        } finally {
          await rm(dataDir, { recursive: true, force: true });
        }
      })();
      return stopped;
    },
  };
}

/** Rejects with a clear message when `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The RabbitMQ reference broker, when RABBITMQ_REF_URL is set. */
export function referenceBroker(): { url: string; host: string; port: number; user: string; pass: string } | undefined {
  const raw = process.env.RABBITMQ_REF_URL;
  if (!raw) return undefined;
  const u = new URL(raw);
  return {
    url: raw,
    host: u.hostname || "127.0.0.1",
    port: Number(u.port) || 5672,
    user: decodeURIComponent(u.username) || "guest",
    pass: decodeURIComponent(u.password) || "guest",
  };
}
