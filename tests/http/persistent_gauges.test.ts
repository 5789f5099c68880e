// messages_persistent / message_bytes_persistent (API) and rabbitmq_queue_messages_persistent(_bytes)
// (Prometheus): persistent messages a durable queue holds, ready and unacked, through acks, a
// paged-out backlog, a purge and a restart; the same small scenario on the reference RabbitMQ.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import amqp from "amqplib";
import { api, basic } from "../helpers/http.ts";
import { cleanupRestartBrokers, connect, start, stop, tempDir } from "../helpers/restart_brokers.ts";

setDefaultTimeout(90_000);
afterAll(cleanupRestartBrokers);

const AUTH = basic("guest", "guest");
const REF_URL = process.env.RABBITMQ_REF_URL;
const REF_HTTP = process.env.RABBITMQ_REF_HTTP;
if (!REF_URL || !REF_HTTP) console.warn("RABBITMQ_REF_URL/RABBITMQ_REF_HTTP unset: the persistent-gauge scenario runs against Warren only");

type Gauges = { messages_persistent: number; message_bytes_persistent: number; messages: number };
async function gauges(base: string, queue: string, auth = AUTH): Promise<Gauges> {
  const r = await api(base, "GET", `/api/queues/%2F/${encodeURIComponent(queue)}`, undefined, auth);
  return r.body as Gauges;
}

/** 5 persistent and 3 transient 100-byte messages in a durable queue, 2 persistent ones acked. */
async function scenario(url: string, queue: string): Promise<void> {
  const conn = await amqp.connect(url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(queue, { durable: true });
  await ch.purgeQueue(queue);
  for (let i = 0; i < 8; i++) ch.sendToQueue(queue, Buffer.alloc(100, i), { persistent: i < 5 });
  await ch.waitForConfirms();
  for (let i = 0; i < 2; i++) ch.ack((await ch.get(queue)) as amqp.GetMessage);
  await ch.checkQueue(queue);
  await conn.close();
}

test("messages_persistent counts a durable queue's persistent messages through acks, paging, purge and restart", async () => {
  const dir = await tempDir();
  const first = await start(dir);
  const base = `http://127.0.0.1:${first.broker.httpPort}`;
  await scenario(first.url, "pq");
  expect(await gauges(base, "pq")).toMatchObject({ messages: 6, messages_persistent: 3, message_bytes_persistent: 300 });

  // Past the in-memory window: the backlog pages to the store and is still counted.
  const conn = await connect(first.url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue("deep", { durable: true });
  for (let i = 0; i < 6000; i++) ch.sendToQueue("deep", Buffer.alloc(10), { persistent: i % 3 !== 0 });
  await ch.waitForConfirms();
  expect(await gauges(base, "deep")).toMatchObject({ messages: 6000, messages_persistent: 4000, message_bytes_persistent: 40_000 });
  const metrics = await (await fetch(`http://127.0.0.1:${first.broker.metricsPort}/metrics/per-object`)).text();
  expect(metrics).toMatch(/rabbitmq_queue_messages_persistent\{[^}]*queue="deep"[^}]*\} 4000/);
  expect(metrics).toMatch(/rabbitmq_queue_messages_persistent_bytes\{[^}]*queue="pq"[^}]*\} 300/);
  await conn.close();
  await stop(first.broker);

  const second = await start(dir);
  const base2 = `http://127.0.0.1:${second.broker.httpPort}`;
  // Transient messages are gone after a restart; the persistent ones and their count are back.
  expect(await gauges(base2, "pq")).toMatchObject({ messages: 3, messages_persistent: 3, message_bytes_persistent: 300 });
  expect(await gauges(base2, "deep")).toMatchObject({ messages: 4000, messages_persistent: 4000 });
  const c2 = await connect(second.url);
  const ch2 = await c2.createChannel();
  await ch2.purgeQueue("deep");
  expect(await gauges(base2, "deep")).toMatchObject({ messages: 0, messages_persistent: 0, message_bytes_persistent: 0 });
  await c2.close();
  await stop(second.broker);
});

test("the reference RabbitMQ reports the same messages_persistent for the small scenario", async () => {
  if (!REF_URL || !REF_HTTP) return;
  const ref = new URL(REF_HTTP);
  const base = `${ref.protocol}//${ref.host}`;
  const auth = basic(decodeURIComponent(ref.username) || "guest", decodeURIComponent(ref.password) || "guest");
  const queue = `pq-gauges-${process.pid}`;
  await scenario(REF_URL, queue);
  // RabbitMQ publishes queue stats on an interval, and its message counts and its persistent
  // gauges can arrive in different emissions: wait until both show the acks.
  let seen: Gauges | undefined;
  for (let i = 0; i < 60; i++) {
    seen = await gauges(base, queue, auth);
    if (seen.messages === 6 && seen.messages_persistent === 3) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  expect(seen).toMatchObject({ messages: 6, messages_persistent: 3, message_bytes_persistent: 300 });
  await api(base, "DELETE", `/api/queues/%2F/${queue}`, undefined, auth);
});
