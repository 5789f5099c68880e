// A restart with backlogs in many queues reads nothing of them, and only the head of a queue
// whose stored messages can expire (a small page, for the expiry check), not a window each: 500
// queues of 2,500 × 1 KiB held 1.5 GB after boot, and 2,000 queues' heads 64 MiB. What stays on
// disk is still all there, in order, once consumers come. A boot counts a queue's bytes from the sizes in
// its rows (schema 9), and from the messages for rows written before. amqplib over TCP.
import { Database } from "bun:sqlite";
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { cleanupRestartBrokers, connect, start, stop, tempDir } from "../helpers/restart_brokers.ts";
import { consumeAndAck, numbered, publishConfirmed } from "../helpers/reclaim_load.ts";

setDefaultTimeout(120_000);
afterAll(cleanupRestartBrokers);

const QUEUES = 200;
const EACH = 300;

test(`a boot with ${QUEUES} queues of ${EACH} messages reads a small page of those with a TTL only, and the rest comes when consumed`, async () => {
  const dir = await tempDir();
  const first = await start(dir);
  const conn = await connect(first.url);
  const ch = await conn.createConfirmChannel();
  const names = Array.from({ length: QUEUES }, (_, i) => `boot-${i}`);
  const withTtl = (i: number) => i % 2 === 1; // an hour: nothing expires during the test
  for (const [i, q] of names.entries()) {
    await ch.assertQueue(q, { durable: true, ...(withTtl(i) ? { messageTtl: 3_600_000 } : {}) });
    await publishConfirmed(ch, q, 1, EACH + 1);
  }
  await conn.close();
  await stop(first.broker);

  const second = await start(dir);
  const queues = names.map((q) => second.broker.vhosts.get("/")!.queues.get(q)!);
  for (const [i, queue] of queues.entries()) {
    expect(queue.messageCount).toBe(EACH);
    // Before: every queue's whole backlog (300 < a page) was read at boot; then a small page of each.
    const inMemory = queue.messageCount - queue.pagedOut;
    if (withTtl(i)) expect({ i, inMemory: inMemory > 0 && inMemory <= 64 }).toEqual({ i, inMemory: true });
    else expect({ i, inMemory }).toEqual({ i, inMemory: 0 });
  }
  const conn2 = await connect(second.url);
  for (const q of [names[0]!, names[QUEUES - 1]!]) {
    const got = await consumeAndAck(await conn2.createChannel(), q, EACH);
    expect(got).toEqual(Array.from({ length: EACH }, (_, i) => i + 1));
  }
  const get = await conn2.createChannel();
  const m = await get.get(names[1]!, { noAck: true });
  expect(m && m.content.equals(numbered(1))).toBe(true);
  await conn2.close();
  await stop(second.broker);
});

test("a boot counts a queue's bytes from its rows, and from the messages for rows written before schema 9", async () => {
  const dir = await tempDir();
  const first = await start(dir);
  const conn = await connect(first.url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue("sizes", { durable: true });
  let bytes = 0;
  for (let n = 1; n <= 6_000; n++) {
    const size = 16 + (n % 50) * 10;
    bytes += size;
    ch.sendToQueue("sizes", numbered(n, size), { persistent: true });
  }
  await ch.waitForConfirms();
  await conn.close();
  await stop(first.broker);
  const db = new Database(join(dir, "warren.sqlite"));
  const nulls = () => db.prepare("SELECT COUNT(*) AS n FROM queue_messages WHERE body_size IS NULL").get() as { n: number };
  expect(nulls().n).toBe(0);
  // Half the rows as a store before schema 9 left them.
  db.exec("UPDATE queue_messages SET body_size = NULL WHERE seq % 2 = 0");
  expect(nulls().n).toBe(3_000);
  db.close();
  const second = await start(dir);
  const queue = second.broker.vhosts.get("/")!.queues.get("sizes")!;
  expect([queue.messageCount, queue.readyBytes, queue.persistentBytes]).toEqual([6_000, bytes, bytes]);
  await stop(second.broker);
});
