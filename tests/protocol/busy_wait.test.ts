// --busy-wait-us over real TCP: request/reply round trips with one message in flight (the case
// it is for) go through unchanged with many queues and clients at once, the loop polls while
// reads keep coming and stops when they stop, and the broker's stop closes the window.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import amqplib from "amqplib";
import { AMQPClient } from "@cloudamqp/amqp-client";
import { BROKER_IS_PROCESS, startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { busyWaiting } from "../../src/runtime/busy_wait.ts";

setDefaultTimeout(60_000);

let b: TestBroker;
beforeAll(async () => {
  b = await startTestBroker({ busyWaitUs: 500 });
});
afterAll(async () => {
  await b.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("amqplib: 8 clients × 250 request/reply round trips, one message in flight each", async () => {
  const clients = await Promise.all(Array.from({ length: 8 }, () => amqplib.connect(b.url)));
  try {
    await Promise.all(clients.map(async (conn, c) => {
      const ch = await conn.createChannel();
      const q = `busy-wait-${c}`;
      await ch.assertQueue(q, { durable: false });
      const got: string[] = [];
      let next: (() => void) | undefined;
      await ch.consume(q, (m) => {
        got.push(m!.content.toString());
        ch.ack(m!);
        next?.();
      });
      for (let i = 0; i < 250; i++) {
        const arrived = new Promise<void>((resolve) => (next = resolve));
        ch.sendToQueue(q, Buffer.from(`${c}:${i}`));
        await arrived;
      }
      expect(got).toEqual(Array.from({ length: 250 }, (_, i) => `${c}:${i}`));
    }));
  } finally {
    await Promise.all(clients.map((conn) => conn.close()));
  }
});

test("@cloudamqp/amqp-client: persistent publishes with confirms, one in flight, all confirmed and consumed in order", async () => {
  const client = new AMQPClient(b.url);
  const conn = await client.connect();
  try {
    const ch = await conn.channel();
    await ch.queueDeclare("busy-wait-durable", { durable: true });
    await ch.confirmSelect();
    for (let i = 0; i < 300; i++) expect(await ch.basicPublish("", "busy-wait-durable", `m${i}`, { deliveryMode: 2 })).toBe(i + 1);
    const got: string[] = [];
    const done = new Promise<void>((resolve) => {
      void ch.basicConsume("busy-wait-durable", { noAck: false }, (m) => {
        got.push(m.bodyString() ?? "");
        void m.ack();
        if (got.length === 300) resolve();
      });
    });
    await done;
    expect(got).toEqual(Array.from({ length: 300 }, (_, i) => `m${i}`));
  } finally {
    await conn.close();
  }
});

test.skipIf(BROKER_IS_PROCESS)("the loop polls while reads come and stops after the window; a stopped broker's window goes", async () => {
  // This file's broker: a 0.5 ms window, too short to catch open from the client's side on a busy
  // machine; the polling only has to end (the test's timeout says if it does not).
  const conn = await amqplib.connect(b.url);
  const ch = await conn.createChannel();
  await ch.checkQueue("busy-wait-0"); // reads
  await conn.close();
  while (busyWaiting()) await sleep(1); // heartbeats are 60 s apart: nothing reopens it

  const wide = await startTestBroker({ busyWaitUs: 5_000_000 }); // 5 s (an option; the flag stops at 10 ms)
  const c2 = await amqplib.connect(wide.url);
  await c2.close();
  await sleep(200);
  expect(busyWaiting()).toBe(true); // inside the 5 s window
  await wide.stop(); // its window goes; this file's broker keeps its 0.5 ms
  const c3 = await amqplib.connect(b.url); // reads
  await c3.close();
  await sleep(200);
  expect(busyWaiting()).toBe(false);
});
