// Issue 12: the store's pending index rows were keyed by queueId * 2^32 + seq, while priority level
// k numbers its seqs from k * 2^40: a priority queue's level-1 row and the row of the queue whose id
// is 256 higher shared a key in one commit, one overwrote the other, the publisher was confirmed and
// the message was gone after a restart. Both rows must survive.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { cleanupRestartBrokers, connect, drainAll, start, stop, tempDir } from "../helpers/restart_brokers.ts";

setDefaultTimeout(90_000);
afterAll(cleanupRestartBrokers);

test("a priority queue and the queue 256 ids later both keep a message confirmed in one commit", async () => {
  const dir = await tempDir();
  const first = await start(dir);
  const conn = await connect(first.url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue("prio", { durable: true, arguments: { "x-max-priority": 1 } });
  for (let i = 1; i <= 256; i++) await ch.assertQueue(`plain-${i}`, { durable: true });
  await ch.assertExchange("both", "fanout", { durable: true });
  await ch.bindQueue("prio", "both", "");
  await ch.bindQueue("plain-256", "both", "");
  // One publish routed to both queues: their index rows are recorded in the same turn.
  ch.publish("both", "", Buffer.from("shared"), { persistent: true, priority: 1 });
  // Two publishes in one socket write: also one turn, one message per queue.
  ch.publish("", "prio", Buffer.from("to-prio"), { persistent: true, priority: 1 });
  ch.publish("", "plain-256", Buffer.from("to-plain"), { persistent: true });
  await ch.waitForConfirms();
  await conn.close();
  await stop(first.broker);

  const second = await start(dir);
  const again = await connect(second.url);
  const rch = await again.createChannel();
  expect((await drainAll(rch, "prio")).map((m) => m.body).sort()).toEqual(["shared", "to-prio"]);
  expect((await drainAll(rch, "plain-256")).map((m) => m.body).sort()).toEqual(["shared", "to-plain"]);
  await again.close();
  await stop(second.broker);
});

test("a persistent message published right after a purge of a paged-out backlog, in the same turn, survives a restart", async () => {
  const dir = await tempDir();
  const first = await start(dir);
  const conn = await connect(first.url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue("deep", { durable: true });
  // Past the in-memory window: the tail of the backlog lives only in the store.
  for (let i = 0; i < 6000; i++) ch.sendToQueue("deep", Buffer.from(`old-${i}`), { persistent: true });
  await ch.waitForConfirms();
  // The purge's commit used to drop every row of the purged seq range, including this new one.
  const purged = ch.purgeQueue("deep");
  ch.sendToQueue("deep", Buffer.from("after-purge"), { persistent: true });
  expect((await purged).messageCount).toBe(6000);
  await ch.waitForConfirms();
  await conn.close();
  await stop(first.broker);

  const second = await start(dir);
  const again = await connect(second.url);
  const rch = await again.createChannel();
  expect((await drainAll(rch, "deep")).map((m) => m.body)).toEqual(["after-purge"]);
  await again.close();
  await stop(second.broker);
});

test("a quorum queue's delivery count survives a restart, so x-delivery-limit still holds", async () => {
  const dir = await tempDir();
  const first = await start(dir);
  const conn = await connect(first.url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue("poison", { durable: true, arguments: { "x-queue-type": "quorum", "x-delivery-limit": 2 } });
  ch.sendToQueue("poison", Buffer.from("bad"), { persistent: true });
  await ch.waitForConfirms();
  for (let i = 0; i < 2; i++) {
    const m = await ch.get("poison");
    expect(m).not.toBe(false);
    ch.nack(m as never, false, true);
  }
  await ch.checkQueue("poison"); // the returns are processed
  await conn.close();
  await stop(first.broker);

  const second = await start(dir);
  const again = await connect(second.url);
  const rch = await again.createChannel();
  const m = await rch.get("poison");
  expect(m && m.properties.headers?.["x-delivery-count"]).toBe(2);
  expect(m && m.fields.redelivered).toBe(true);
  rch.nack(m as never, false, true); // the third return is past the limit: dropped
  expect((await rch.checkQueue("poison")).messageCount).toBe(0);
  await again.close();
  await stop(second.broker);
});
