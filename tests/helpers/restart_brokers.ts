// Brokers started and stopped on the same data dir, for restart tests: each test file gets its
// own set, and cleanupRestartBrokers() (in afterAll) stops what is left and removes the dirs.
import amqp, { type Channel, type ChannelModel } from "amqplib";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Broker, type BrokerOptions, startBroker } from "../../mod.ts";
import { withTimeout } from "./broker.ts";

const running = new Set<Broker>();
const dirs: string[] = [];

export async function cleanupRestartBrokers(): Promise<void> {
  for (const b of running) await withTimeout(b.stop(), 10_000, "broker.stop()").catch(() => {});
  running.clear();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
}

export async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "warren-restart-"));
  dirs.push(d);
  return d;
}

export async function start(
  dataDir: string,
  options: Partial<BrokerOptions> = {},
): Promise<{ broker: Broker; url: string; port: number }> {
  const broker = await startBroker({ port: 0, httpPort: 0, metricsPort: 0, bind: "127.0.0.1", dataDir, logLevel: "none", ...options });
  running.add(broker);
  return { broker, url: `amqp://guest:guest@127.0.0.1:${broker.port}`, port: broker.port };
}

export async function stop(broker: Broker): Promise<void> {
  await withTimeout(broker.stop(), 10_000, "broker.stop()");
  running.delete(broker);
}

export async function connect(url: string): Promise<ChannelModel> {
  const conn = await withTimeout(amqp.connect(url), 10_000, `connecting to ${url}`);
  conn.on("error", () => {});
  return conn;
}

export interface Seen {
  body: string;
  redelivered: boolean;
  props: Record<string, unknown>;
}

/** Gets every message of the queue (no-ack). */
export async function drainAll(ch: Channel, queue: string): Promise<Seen[]> {
  const out: Seen[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (!m) return out;
    out.push({ body: m.content.toString(), redelivered: m.fields.redelivered, props: { ...m.properties } });
  }
}
