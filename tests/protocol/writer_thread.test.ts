// The store's writer thread (--writer-thread, issue 22): commits applied on a second thread with
// its own SQLite connection. Real clients over TCP, many queues committing together, a restart on
// the same data dir, and a backlog paged back in through the loop's connection. The store
// conformance suite runs the same store with and without the thread (tests/unit/storage/), and
// the kill -9 cycles of tests/crash/crash.test.ts run every other broker with it.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { AMQPClient } from "@cloudamqp/amqp-client";
import { existsSync, readdirSync } from "node:fs";
import { THREADS_SUPPORTED } from "../../src/runtime/thread.ts";
import { cleanupRestartBrokers, connect, drainAll, start, stop, tempDir } from "../helpers/restart_brokers.ts";

setDefaultTimeout(120_000);
afterAll(cleanupRestartBrokers);

if (!THREADS_SUPPORTED) console.warn("skipping the writer-thread protocol tests: this runtime has no threads for the store's writer");

const QUEUES = 200;
const threadCount = () => readdirSync("/proc/self/task").length;

test.skipIf(!THREADS_SUPPORTED)(
  "200 queues fed by amqplib and amqp-client commit together on the writer thread; acked messages stay gone and the rest survive a restart",
  async () => {
    const dir = await tempDir();
    const first = await start(dir, { writerThread: true });
    const conn = await connect(first.url);
    const ch = await conn.createConfirmChannel();
    for (let q = 0; q < QUEUES; q++) await ch.assertQueue(`wt-${q}`, { durable: true });
    // amqplib: 10 messages to every queue in one burst (their rows are recorded in the same turns).
    for (let i = 0; i < 10; i++) {
      for (let q = 0; q < QUEUES; q++) ch.sendToQueue(`wt-${q}`, Buffer.from(`a-${q}-${i}`), { persistent: true });
    }
    await ch.waitForConfirms();
    // @cloudamqp/amqp-client on its own connection: 5 more to every queue, each confirmed.
    const client = new AMQPClient(first.url);
    const other = await client.connect();
    const och = await other.channel();
    await och.confirmSelect();
    const confirms: Promise<unknown>[] = [];
    for (let i = 0; i < 5; i++) {
      for (let q = 0; q < QUEUES; q++) {
        confirms.push(och.basicPublish("", `wt-${q}`, `c-${q}-${i}`, { deliveryMode: 2 }));
      }
    }
    await Promise.all(confirms);
    await other.close();
    // Ack the first 4 of every queue; the rest stay.
    const consumer = await conn.createChannel();
    for (let q = 0; q < QUEUES; q++) {
      for (let i = 0; i < 4; i++) {
        const m = await consumer.get(`wt-${q}`, { noAck: false });
        if (m === false) throw new Error(`wt-${q} is empty`);
        expect(m.content.toString()).toBe(`a-${q}-${i}`);
        consumer.ack(m);
      }
    }
    await consumer.close(); // the acks are processed before the close-ok
    await conn.close();
    await stop(first.broker);

    const second = await start(dir, { writerThread: true });
    const again = await connect(second.url);
    const rch = await again.createChannel();
    for (let q = 0; q < QUEUES; q++) {
      const bodies = (await drainAll(rch, `wt-${q}`)).map((m) => m.body);
      const expected = [
        ...Array.from({ length: 6 }, (_, i) => `a-${q}-${i + 4}`),
        ...Array.from({ length: 5 }, (_, i) => `c-${q}-${i}`),
      ];
      expect(bodies).toEqual(expected);
    }
    await again.close();
    await stop(second.broker);
  },
);

test.skipIf(!THREADS_SUPPORTED || !existsSync("/proc/self/task"))(
  "the writer thread starts with the first message to store, not at boot, and a backlog past the memory window pages back in order",
  async () => {
    const dir = await tempDir();
    const { broker, url } = await start(dir, { writerThread: true });
    const conn = await connect(url);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue("deep", { durable: true });
    await ch.assertQueue("transient-only", { durable: false });
    ch.sendToQueue("transient-only", Buffer.from("t"));
    await ch.waitForConfirms();
    const idle = threadCount();
    // 9,000 messages: past the queue's in-memory window, so most are read back from the store.
    for (let i = 0; i < 9_000; i++) ch.sendToQueue("deep", Buffer.from(`m-${i}`), { persistent: true });
    await ch.waitForConfirms();
    const busy = threadCount();
    expect(busy).toBeGreaterThan(idle);
    const consumer = await conn.createChannel();
    const bodies = (await drainAll(consumer, "deep")).map((m) => m.body);
    expect(bodies).toEqual(Array.from({ length: 9_000 }, (_, i) => `m-${i}`));
    await conn.close();
    await stop(broker);
  },
);
