// Resource alarms: while the memory alarm is set, a connection that publishes is blocked
// (connection.blocked, nothing more read from it) and consumers elsewhere keep draining;
// when it clears, connection.unblocked and the held publishes go through.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import amqp from "amqplib";
import { startTestBroker, withTimeout, type TestBroker } from "../helpers/broker.ts";

setDefaultTimeout(30_000);

let b: TestBroker;
beforeAll(async () => {
  b = await startTestBroker();
});
afterAll(() => b.stop());

const until = async (what: string, check: () => boolean | Promise<boolean>) => {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
};

test("a memory alarm blocks publishers, not consumers, and unblocks them when it clears", async () => {
  const admin = await amqp.connect(b.url);
  const adminCh = await admin.createChannel();
  await adminCh.assertQueue("alarm-q");
  adminCh.sendToQueue("alarm-q", Buffer.from("before"));
  await adminCh.checkQueue("alarm-q");

  const publisher = await amqp.connect(b.url);
  const events: string[] = [];
  publisher.on("blocked", (reason: string) => events.push(`blocked: ${reason}`));
  publisher.on("unblocked", () => events.push("unblocked"));
  const pubCh = await publisher.createChannel();

  b.broker.alarms.setMemoryHighWatermark(2); // 2 bytes (values ≤ 1 are fractions): the alarm is set at once
  expect([...b.broker.alarms.current]).toEqual(["memory"]);

  pubCh.sendToQueue("alarm-q", Buffer.from("during-1"));
  await until("connection.blocked", () => events.length > 0);
  expect(events).toEqual(["blocked: low on memory"]);
  pubCh.sendToQueue("alarm-q", Buffer.from("during-2")); // not read by the broker while blocked

  // A consumer on another connection keeps receiving and acking.
  const consumer = await amqp.connect(b.url);
  const conCh = await consumer.createChannel();
  const first = await withTimeout(conCh.get("alarm-q"), 5000, "get during the alarm");
  expect(first && first.content.toString()).toBe("before");
  conCh.ack(first as amqp.GetMessage);
  // "during-1" was the publish that triggered the block: it was taken; "during-2" was not read.
  await until("during-1", async () => (await adminCh.checkQueue("alarm-q")).messageCount === 1);
  expect((await adminCh.checkQueue("alarm-q")).messageCount).toBe(1);

  b.broker.alarms.setMemoryHighWatermark(0.99);
  expect(b.broker.alarms.current.size).toBe(0);
  await until("connection.unblocked", () => events.length === 2);
  expect(events).toEqual(["blocked: low on memory", "unblocked"]);
  await until("held publish", async () => (await adminCh.checkQueue("alarm-q")).messageCount === 2);
  const bodies: string[] = [];
  for (let m = await conCh.get("alarm-q", { noAck: true }); m; m = await conCh.get("alarm-q", { noAck: true })) bodies.push(m.content.toString());
  expect(bodies).toEqual(["during-1", "during-2"]);

  await Promise.all([admin.close(), publisher.close(), consumer.close()]);
});

test("a connection that only consumes is never blocked", async () => {
  const conn = await amqp.connect(b.url);
  const events: string[] = [];
  conn.on("blocked", () => events.push("blocked"));
  const ch = await conn.createChannel();
  await ch.assertQueue("alarm-q2");
  b.broker.alarms.setMemoryHighWatermark(2);
  expect([...b.broker.alarms.current]).toEqual(["memory"]);
  try {
    await ch.checkQueue("alarm-q2");
    await ch.get("alarm-q2");
    expect(events).toEqual([]);
  } finally {
    b.broker.alarms.setMemoryHighWatermark(0.99);
    await conn.close();
  }
});
