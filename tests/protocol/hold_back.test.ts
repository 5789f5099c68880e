// Holding back delivered rows (storage/hold_back.ts, issue 22) through real clients over TCP:
// 40 durable queues fed in bursts by amqplib and @cloudamqp/amqp-client with confirms, while one
// consumer takes every queue and acks half of what it gets at once and holds the rest. Busy
// commits hold back the delivered rows; every confirm must still come, and after a restart on
// the same data dir exactly the messages never acked are there, in order. The kill -9 cycles of
// tests/crash/crash.test.ts check the same under crashes; tests/unit/storage/hold_back.test.ts
// checks the commits one by one.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { AMQPClient } from "@cloudamqp/amqp-client";
import type { ConsumeMessage } from "amqplib";
import { cleanupRestartBrokers, connect, drainAll, start, stop, tempDir } from "../helpers/restart_brokers.ts";

setDefaultTimeout(120_000);
afterAll(cleanupRestartBrokers);

const QUEUES = 40;
const BURSTS = 5;
const PER_BURST = 20; // per queue and publisher: 1,600 messages a burst, in a handful of commits

test("40 queues with a consumer acking half: every confirm comes, and a restart holds exactly the unacked messages", async () => {
  const dir = await tempDir();
  const first = await start(dir);
  const conn = await connect(first.url);
  const ch = await conn.createConfirmChannel();
  const names = Array.from({ length: QUEUES }, (_, q) => `hold-${q}`);
  for (const name of names) await ch.assertQueue(name, { durable: true });

  // The consumer: acks the messages whose number is even as they come, keeps the odd ones.
  const consumer = await conn.createChannel();
  await consumer.prefetch(0);
  const kept = new Map<string, string[]>(names.map((n) => [n, []]));
  let received = 0;
  const onMessage = (name: string) => (m: ConsumeMessage | null) => {
    if (m === null) return;
    received++;
    const body = m.content.toString();
    if (Number(body.split("-").pop()) % 2 === 0) consumer.ack(m);
    else kept.get(name)!.push(body);
  };
  for (const name of names) await consumer.consume(name, onMessage(name), { noAck: false });

  const client = new AMQPClient(first.url);
  const other = await client.connect();
  const och = await other.channel();
  await och.confirmSelect();
  let total = 0;
  for (let burst = 0; burst < BURSTS; burst++) {
    const confirms: Promise<unknown>[] = [];
    for (let i = 0; i < PER_BURST; i++) {
      const n = burst * PER_BURST + i;
      for (const name of names) {
        ch.sendToQueue(name, Buffer.from(`${name}-a-${n}`), { persistent: true });
        confirms.push(och.basicPublish("", name, `${name}-c-${n}`, { deliveryMode: 2 }));
        total += 2;
      }
    }
    await ch.waitForConfirms();
    await Promise.all(confirms);
  }
  // Every message reached the consumer; acks sent before the channel closes are processed first.
  const deadline = Date.now() + 30_000;
  while (received < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(received).toBe(total);
  await other.close();
  await consumer.close(); // the odd ones go back to their queues, unacked
  await conn.close();
  await stop(first.broker);

  const second = await start(dir);
  const again = await connect(second.url);
  const rch = await again.createChannel();
  for (const name of names) {
    const bodies = (await drainAll(rch, name)).map((m) => m.body);
    // Per publisher in publish order; the two publishers' messages interleave as they arrived.
    const fromA = bodies.filter((b) => b.includes("-a-"));
    const fromC = bodies.filter((b) => b.includes("-c-"));
    const odd = (tag: string) => Array.from({ length: (BURSTS * PER_BURST) / 2 }, (_, k) => `${name}-${tag}-${2 * k + 1}`);
    expect({ name, fromA, fromC, count: bodies.length }).toEqual({
      name,
      fromA: odd("a"),
      fromC: odd("c"),
      count: BURSTS * PER_BURST,
    });
    expect(kept.get(name)!.slice().sort()).toEqual(bodies.slice().sort());
  }
  await again.close();
  await stop(second.broker);
});
