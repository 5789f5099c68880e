// One kill -9 crash cycle against a spawned broker, shared by tests/crash/kill9.test.ts and
// scripts/crash_soak.ts: publishers with confirms and a consumer acking run at full speed, the
// broker is SIGKILLed at a random moment, restarted on the same data dir, and the queue is
// compared with what the clients saw.
import amqp, { type ConfirmChannel, type ConsumeMessage } from "amqplib";
import { spawnBroker, type SpawnedBroker } from "./spawned_broker.ts";

const QUEUE = "crash-q";
const MARKERS = "crash-markers";

/** A small seeded PRNG so a failing cycle can be replayed. */
export function random(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

interface Ledger {
  published: Set<string>;
  confirmed: Set<string>;
  delivered: Set<string>;
  committedAcks: Set<string>;
}

export async function publisher(url: string, prefix: string, ledger: Ledger, stop: () => boolean): Promise<void> {
  const conn = await amqp.connect(url);
  conn.on("error", () => {});
  try {
    const ch = await conn.createConfirmChannel();
    ch.on("error", () => {});
    await ch.assertQueue(QUEUE, { durable: true });
    let n = 0;
    while (!stop()) {
      const id = `${prefix}-${n++}`;
      ledger.published.add(id);
      ch.publish("", QUEUE, Buffer.from(id), { persistent: true }, (err) => {
        if (!err) ledger.confirmed.add(id);
      });
      if (n % 50 === 0) await ch.waitForConfirms();
    }
  } catch {
    // the broker was killed under us
  }
}

async function consumer(url: string, ledger: Ledger, stop: () => boolean): Promise<void> {
  const conn = await amqp.connect(url);
  conn.on("error", () => {});
  try {
    const ch: ConfirmChannel = await conn.createConfirmChannel();
    ch.on("error", () => {});
    await ch.assertQueue(MARKERS, { durable: true });
    await ch.prefetch(200);
    let pending: string[] = [];
    await ch.consume(QUEUE, (m: ConsumeMessage | null) => {
      if (!m) return;
      const id = m.content.toString();
      ledger.delivered.add(id);
      ch.ack(m);
      pending.push(id);
    });
    while (!stop()) {
      await new Promise((r) => setTimeout(r, 5));
      if (pending.length === 0) continue;
      const acked = pending;
      pending = [];
      // A confirmed persistent publish after the acks: once confirmed, they are committed.
      await new Promise<void>((done, fail) => ch.publish("", MARKERS, Buffer.from("m"), { persistent: true }, (err) => (err ? fail(err) : done())));
      for (const id of acked) ledger.committedAcks.add(id);
    }
  } catch {
    // killed
  }
}

async function drainQueue(url: string): Promise<string[]> {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  await ch.assertQueue(QUEUE, { durable: true });
  await ch.purgeQueue(MARKERS).catch(() => {});
  const ids: string[] = [];
  for (;;) {
    const m = await ch.get(QUEUE, { noAck: true });
    if (!m) break;
    ids.push(m.content.toString());
  }
  await conn.close();
  return ids;
}

export interface CycleResult {
  confirmed: number;
  lost: string[];
  resurrected: string[];
  unknown: string[];
  duplicates: number;
}

/**
 * Runs one cycle on `dataDir`. `onBroker` sees every broker started, so a caller can kill it
 * if the cycle throws.
 */
export async function crashCycle(
  dataDir: string, cycle: number, rand: () => number, onBroker: (b: SpawnedBroker | undefined) => void,
): Promise<CycleResult> {
  let broker = await spawnBroker(dataDir);
  onBroker(broker);
  const ledger: Ledger = { published: new Set(), confirmed: new Set(), delivered: new Set(), committedAcks: new Set() };
  let stopped = false;
  const stop = () => stopped;
  const workers = [
    publisher(broker.url, `c${cycle}a`, ledger, stop),
    publisher(broker.url, `c${cycle}b`, ledger, stop),
    consumer(broker.url, ledger, stop),
  ];
  await new Promise((r) => setTimeout(r, 150 + rand() * 600));
  await broker.kill9(); // mid-flight: publishes, confirms, deliveries and acks all in progress
  stopped = true;
  await Promise.all(workers);

  broker = await spawnBroker(dataDir);
  onBroker(broker);
  const recovered = await drainQueue(broker.url);
  await broker.kill9();
  onBroker(undefined);

  const inQueue = new Set(recovered);
  return {
    confirmed: ledger.confirmed.size,
    lost: [...ledger.confirmed].filter((id) => !inQueue.has(id) && !ledger.delivered.has(id)),
    resurrected: recovered.filter((id) => ledger.committedAcks.has(id)),
    unknown: recovered.filter((id) => !ledger.published.has(id)),
    duplicates: recovered.length - inQueue.size,
  };
}
