// Durable queues keep a bounded window in memory and page the rest through SQLite: order,
// bodies, transient messages and restarts must be exactly as if everything stayed in memory.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import amqp from "amqplib";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Broker, startBroker } from "../../mod.ts";
import { setMemoryPressure } from "../../src/broker/queue.ts";
import type { SqliteStore } from "../../storage/sqlite_store.ts";

setDefaultTimeout(60_000);

const COUNT = 20_000; // well past the 4096-message window
let dataDir = "";
let broker: Broker | undefined;

async function start(): Promise<string> {
  broker = await startBroker({ port: 0, httpPort: 0, metricsPort: 0, bind: "127.0.0.1", dataDir, logLevel: "none" });
  return `amqp://guest:guest@127.0.0.1:${broker.port}`;
}

afterEach(async () => {
  await broker?.stop();
  broker = undefined;
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function publishAll(url: string, queue: string, bodies: (i: number) => { body: string; persistent: boolean }) {
  const conn = await amqp.connect(url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(queue, { durable: true });
  for (let i = 0; i < COUNT; i++) {
    const { body, persistent } = bodies(i);
    ch.publish("", queue, Buffer.from(body), { persistent });
  }
  await ch.waitForConfirms();
  await conn.close();
}

async function drainAll(url: string, queue: string): Promise<string[]> {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  const got: string[] = [];
  const { messageCount } = await ch.checkQueue(queue);
  await ch.prefetch(500);
  await new Promise<void>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`only ${got.length} of ${messageCount} arrived`)), 50_000);
    void ch.consume(queue, (m) => {
      if (!m) return;
      got.push(m.content.toString());
      ch.ack(m);
      if (got.length === messageCount) {
        clearTimeout(timer);
        done();
      }
    });
  });
  await conn.close();
  return got;
}

test("a backlog larger than the memory window comes back complete and in order", async () => {
  dataDir = await mkdtemp(join(tmpdir(), "warren-paging-"));
  const url = await start();
  await publishAll(url, "backlog", (i) => ({ body: `m${i}`, persistent: true }));
  const got = await drainAll(url, "backlog");
  expect(got.length).toBe(COUNT);
  expect(got).toEqual(Array.from({ length: COUNT }, (_, i) => `m${i}`));
});

test("transient messages paged with persistent ones keep their place, and are gone after a restart", async () => {
  dataDir = await mkdtemp(join(tmpdir(), "warren-paging-"));
  let url = await start();
  const kind = (i: number) => i % 3 === 0;
  await publishAll(url, "mixed", (i) => ({ body: `m${i}`, persistent: kind(i) }));
  // While running, every message is there in order.
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  expect((await ch.checkQueue("mixed")).messageCount).toBe(COUNT);
  await conn.close();
  await broker!.stop();
  url = await start();
  const got = await drainAll(url, "mixed");
  const persistent = Array.from({ length: COUNT }, (_, i) => i).filter(kind).map((i) => `m${i}`);
  expect(got).toEqual(persistent);
});

test("purge and delete count paged-out messages", async () => {
  dataDir = await mkdtemp(join(tmpdir(), "warren-paging-"));
  const url = await start();
  await publishAll(url, "p", (i) => ({ body: `m${i}`, persistent: true }));
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  expect((await ch.purgeQueue("p")).messageCount).toBe(COUNT);
  expect((await ch.checkQueue("p")).messageCount).toBe(0);
  await publishAll(url, "p", (i) => ({ body: `n${i}`, persistent: true }));
  expect((await ch.deleteQueue("p")).messageCount).toBe(COUNT);
  await conn.close();
});

test("a non-durable queue pages past its larger transient window too, in order, and nothing of it survives a restart", async () => {
  dataDir = await mkdtemp(join(tmpdir(), "warren-paging-"));
  let url = await start();
  const TRANSIENT = 70_000; // past the 65536-message transient window
  const conn = await amqp.connect(url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue("mem", { durable: false });
  for (let i = 0; i < TRANSIENT; i++) ch.publish("", "mem", Buffer.from(`t${i}`), { persistent: i % 2 === 0 });
  await ch.waitForConfirms();
  await conn.close();
  const got = await drainAll(url, "mem");
  expect(got.length).toBe(TRANSIENT);
  expect(got).toEqual(Array.from({ length: TRANSIENT }, (_, i) => `t${i}`));

  // Fill it again past the window, restart: the queue and its stored backlog are gone.
  const again = await amqp.connect(url);
  const ch2 = await again.createConfirmChannel();
  for (let i = 0; i < TRANSIENT; i++) ch2.publish("", "mem", Buffer.from(`u${i}`), { persistent: true });
  await ch2.waitForConfirms();
  await again.close();
  await broker!.stop();
  url = await start();
  const after = await amqp.connect(url);
  const ch3 = await after.createChannel();
  ch3.on("error", () => {}); // the 404 closes the channel; the rejection below is what we check
  const gone = await ch3.checkQueue("mem").then(() => "exists", (e: { code?: number }) => e.code);
  expect(gone).toBe(404);
  await after.close().catch(() => {});
});

test("large bodies stored in segment files come back intact after paging and a restart, and their files are reclaimed", async () => {
  dataDir = await mkdtemp(join(tmpdir(), "warren-paging-"));
  let url = await start();
  const big = (i: number) => Buffer.alloc(300 * 1024, i % 251); // over the 256 KiB segment threshold
  const conn = await amqp.connect(url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue("big", { durable: true });
  for (let i = 0; i < 120; i++) ch.publish("", "big", big(i), { persistent: true });
  await ch.waitForConfirms();
  await conn.close();
  await broker!.stop();
  url = await start();
  const c2 = await amqp.connect(url);
  const ch2 = await c2.createChannel();
  for (let i = 0; i < 120; i++) {
    const m = await ch2.get("big");
    if (!m) throw new Error(`message ${i} missing`);
    expect(Buffer.compare(m.content, big(i))).toBe(0);
    ch2.ack(m);
  }
  await ch2.checkQueue("big"); // a round trip: the acks above were processed
  await c2.close();
  await broker!.stop();
  // Nothing refers to the old segments any more: a restart deletes them.
  await start();
  const { readdirSync, statSync } = await import("node:fs");
  const sizes = readdirSync(join(dataDir, "segments")).map((f) => statSync(join(dataDir, "segments", f)).size);
  expect(sizes.reduce((a, b) => a + b, 0)).toBe(0);
});

test("under memory pressure transient messages page at the normal window", async () => {
  dataDir = await mkdtemp(join(tmpdir(), "warren-paging-"));
  const url = await start();
  const stored = () => {
    const queue = broker!.vhosts.get("/")!.queues.get("pressure")!;
    return (broker!.store as SqliteStore).queueStats(queue.storeId).count;
  };
  const conn = await amqp.connect(url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue("pressure", { durable: false });
  for (let i = 0; i < 6000; i++) ch.publish("", "pressure", Buffer.from(`a${i}`));
  await ch.waitForConfirms();
  broker!.store!.commit();
  expect(stored()).toBe(0); // memory is plentiful: 6000 transient messages stay in memory
  setMemoryPressure(true);
  try {
    for (let i = 0; i < 1000; i++) ch.publish("", "pressure", Buffer.from(`b${i}`));
    await ch.waitForConfirms();
    broker!.store!.commit();
    expect(stored()).toBe(1000); // past the 4096 window: on disk
  } finally {
    setMemoryPressure(false);
  }
  await conn.close();
  const got = await drainAll(url, "pressure");
  expect(got).toEqual([...Array.from({ length: 6000 }, (_, i) => `a${i}`), ...Array.from({ length: 1000 }, (_, i) => `b${i}`)]);
});
