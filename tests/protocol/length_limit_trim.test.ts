// A length limit applied by policy to a queue with a backlog on disk (Backlog.dropOldest): the
// oldest messages go without being read back, the newest stay in order, the store deletes the
// dropped rows in the background, and a restart keeps exactly what stayed. amqplib over TCP.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import type { SqliteStore } from "../../storage/sqlite_store.ts";
import { cleanupRestartBrokers, connect, start, stop, tempDir } from "../helpers/restart_brokers.ts";
import { until } from "../helpers/until.ts";

setDefaultTimeout(120_000);
afterAll(cleanupRestartBrokers);

// The window holds 4,096 persistent messages, or 65,536 transient ones: most are on disk.
const PERSISTENT = 20_000;
const TRANSIENT = 100_000;

const numbered = (n: number) => {
  const b = Buffer.alloc(64);
  b.writeUInt32BE(n, 0);
  return b;
};

async function drain(url: string, queue: string, count: number): Promise<number[]> {
  const conn = await connect(url);
  const ch = await conn.createChannel();
  const got: number[] = [];
  for (let i = 0; i < count; i++) {
    const m = await ch.get(queue, { noAck: true });
    if (!m) break;
    got.push(m.content.readUInt32BE(0));
  }
  expect(await ch.get(queue, { noAck: true })).toBe(false);
  await conn.close();
  return got;
}

for (const durable of [true, false]) {
  const MESSAGES = durable ? PERSISTENT : TRANSIENT;
  // More than the window stays (some of it on disk), or only a few: the store sums the side that
  // goes, or the side that stays.
  const KEEP = durable ? 8_000 : 10;
  test(`a max-length policy trims a ${durable ? "durable" : "non-durable"} backlog of ${MESSAGES} to its newest ${KEEP}`, async () => {
    const dir = await tempDir();
    const first = await start(dir);
    const q = `trim-${durable ? "durable" : "transient"}`;
    const conn = await connect(first.url);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue(q, { durable });
    for (let n = 1; n <= MESSAGES; n++) ch.sendToQueue(q, numbered(n), { persistent: durable });
    await ch.waitForConfirms();
    // Count the pages read back: dropping one by one would read every page of the backlog.
    const store = first.broker.store as SqliteStore;
    const readPage = store.readPage.bind(store);
    let pagesRead = 0;
    store.readPage = (...args: Parameters<SqliteStore["readPage"]>) => {
      pagesRead++;
      return readPage(...args);
    };
    const res = await fetch(`http://127.0.0.1:${first.broker.httpPort}/api/policies/%2F/trim-${q}`, {
      method: "PUT",
      headers: { "content-type": "application/json", authorization: `Basic ${btoa("guest:guest")}` },
      body: JSON.stringify({ pattern: `^${q}$`, definition: { "max-length": KEEP }, "apply-to": "queues" }),
    });
    expect(res.status).toBeLessThan(300);
    expect((await ch.checkQueue(q)).messageCount).toBe(KEEP);
    expect(pagesRead).toBeLessThanOrEqual(1);
    // What the queue counts agrees with what stayed: 10 bodies of 64 bytes, persistent or not.
    const queue = first.broker.vhosts.get("/")!.queues.get(q)!;
    expect(queue.readyBytes).toBe(KEEP * 64);
    expect([queue.persistentCount, queue.persistentBytes]).toEqual(durable ? [KEEP, KEEP * 64] : [0, 0]);
    const storeId = first.broker.vhosts.get("/")!.queues.get(q)!.storeId;
    const rows = () => store.db.prepare("SELECT COUNT(*) AS n FROM queue_messages WHERE queue_id = ?").get<{ n: number }>(storeId)!.n;
    await until("the dropped rows deleted", () => rows() <= KEEP);
    // One more publish: the limit holds (the oldest kept one goes), order is kept.
    ch.sendToQueue(q, numbered(MESSAGES + 1), { persistent: durable });
    await ch.waitForConfirms();
    await conn.close();
    const expected = Array.from({ length: KEEP }, (_, i) => MESSAGES + 2 - KEEP + i);
    if (!durable) {
      expect(await drain(first.url, q, KEEP)).toEqual(expected);
      await stop(first.broker);
      return;
    }
    await stop(first.broker);
    const second = await start(dir);
    expect(await drain(second.url, q, KEEP)).toEqual(expected);
    await stop(second.broker);
  });
}
