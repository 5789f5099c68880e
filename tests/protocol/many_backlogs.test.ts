// Many queues with backlogs at once: each queue's window is bounded (4 MiB), but 100 queues of
// 800 KiB each would hold 80 MiB between them. The windows of all queues together hold at most
// HELD_IN_WINDOWS_BYTES of stored messages (src/broker/backlog.ts); past it messages are read back
// from the store when needed. Every message still arrives once and in order, before and after a
// restart, and the count of what the windows hold returns to zero once everything is consumed.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import type { Channel } from "amqplib";
import { HELD_IN_WINDOWS_BYTES } from "../../src/broker/backlog.ts";
import type { Broker } from "../../mod.ts";
import { api } from "../helpers/http.ts";
import { cleanupRestartBrokers, connect, start, stop, tempDir } from "../helpers/restart_brokers.ts";

setDefaultTimeout(120_000);
afterAll(cleanupRestartBrokers);

const QUEUES = 100;
const PER_QUEUE = 50;
const BODY = 16 * 1024; // 100 × 50 × 16 KiB = 80 MiB, over the 64 MiB budget
const queueName = (q: number) => `backlog-${String(q).padStart(3, "0")}`;

function body(q: number, i: number): Buffer {
  const b = Buffer.alloc(BODY, q % 251);
  b.write(`${queueName(q)}:${i}:`, 0);
  return b;
}

const held = (broker: Broker) => broker.store!.heldInWindows;

async function fill(ch: Channel): Promise<void> {
  for (let q = 0; q < QUEUES; q++) {
    await ch.assertQueue(queueName(q), { durable: true });
    for (let i = 0; i < PER_QUEUE; i++) ch.sendToQueue(queueName(q), body(q, i), { persistent: true });
  }
}

/** Takes every message of every queue (basic.get, acked), checking each queue's order and bodies. */
async function takeAll(ch: Channel, broker: Broker, budgetChecks: number[]): Promise<void> {
  for (let q = 0; q < QUEUES; q++) {
    for (let i = 0; i < PER_QUEUE; i++) {
      const m = await ch.get(queueName(q));
      if (m === false) throw new Error(`${queueName(q)}: message ${i} missing`);
      if (!m.content.equals(body(q, i))) throw new Error(`${queueName(q)}: message ${i} is ${m.content.subarray(0, 20)}`);
      ch.ack(m);
      budgetChecks.push(held(broker));
    }
    expect(await ch.get(queueName(q))).toBe(false);
  }
}

test(`${QUEUES} queues × ${PER_QUEUE} × 16 KiB: the windows together stay within their budget, and every message arrives in order`, async () => {
  const dir = await tempDir();
  let { broker, url } = await start(dir);
  let conn = await connect(url);
  const pub = await conn.createConfirmChannel();
  await fill(pub);
  await pub.waitForConfirms();
  // Past the budget new messages went to the store only: at most one message over it.
  expect(held(broker)).toBeGreaterThan(HELD_IN_WINDOWS_BYTES / 2);
  expect(held(broker)).toBeLessThanOrEqual(HELD_IN_WINDOWS_BYTES + BODY);
  // Operators see it on the node.
  const node = (await api(`http://127.0.0.1:${broker.httpPort}`, "GET", "/api/nodes")).body[0];
  expect(node.store_window_bytes).toBe(held(broker));
  const metrics = await (await fetch(`http://127.0.0.1:${broker.metricsPort}/metrics`)).text();
  expect(metrics).toContain(`\nrabbitmq_store_window_bytes ${held(broker)}\n`);
  await conn.close();

  // After a restart the heads read back for the expiry check stay within it too.
  await stop(broker);
  ({ broker, url } = await start(dir));
  expect(held(broker)).toBeLessThanOrEqual(HELD_IN_WINDOWS_BYTES + 64 * 1024);
  conn = await connect(url);
  const ch = await conn.createChannel();
  const checks: number[] = [];
  await takeAll(ch, broker, checks);
  // While consuming, a window over the budget reads one small page at a time (64 KiB).
  expect(Math.max(...checks)).toBeLessThanOrEqual(HELD_IN_WINDOWS_BYTES + 64 * 1024);
  await conn.close();
  expect(held(broker)).toBe(0);
});

test("the count follows purges, deletes, requeues and consumers without drifting", async () => {
  const { broker, url } = await start(await tempDir());
  const conn = await connect(url);
  const pub = await conn.createConfirmChannel();
  await fill(pub);
  await pub.waitForConfirms();
  const ch = await conn.createChannel();
  // Requeues: take some unacked, then close the channel (they go back to their windows).
  const taking = await conn.createChannel();
  for (let q = 0; q < 10; q++) for (let i = 0; i < 5; i++) expect(await taking.get(queueName(q))).not.toBe(false);
  await taking.close();
  // Purge a third, delete a third, consume the rest with consumers.
  for (let q = 0; q < QUEUES; q++) {
    if (q % 3 === 0) await ch.purgeQueue(queueName(q));
    else if (q % 3 === 1) await ch.deleteQueue(queueName(q));
  }
  let left = 0;
  for (let q = 2; q < QUEUES; q += 3) left += PER_QUEUE;
  await ch.prefetch(64);
  await new Promise<void>((resolve) => {
    for (let q = 2; q < QUEUES; q += 3) {
      void ch.consume(queueName(q), (m) => {
        ch.ack(m!);
        if (--left === 0) resolve();
      });
    }
  });
  await ch.close(); // after its acks (amqplib may send a connection.close before a channel's frames)
  await conn.close();
  expect(held(broker)).toBe(0);
});
