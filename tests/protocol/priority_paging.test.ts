// Priority queues page each priority level through the store separately: order (priority, then
// FIFO), redelivered flags and purge must be the same after paging and after a restart.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import amqp from "amqplib";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Broker, startBroker } from "../../mod.ts";

setDefaultTimeout(60_000);

const COUNT = 12_000; // three times the 4096-message window
const LEVELS = 5;
let dataDir = "";
let broker: Broker | undefined;

async function start(): Promise<string> {
  broker = await startBroker({ port: 0, httpPort: 0, metricsPort: 0, bind: "127.0.0.1", dataDir, logLevel: "none" });
  return `amqp://guest:guest@127.0.0.1:${broker.port}`;
}

async function restart(): Promise<string> {
  await broker?.stop();
  return start();
}

afterEach(async () => {
  await broker?.stop();
  broker = undefined;
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Message i has priority i % LEVELS and body "<priority>:<i>". */
async function publishAll(url: string, queue: string): Promise<void> {
  const conn = await amqp.connect(url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(queue, { durable: true, maxPriority: LEVELS - 1 });
  for (let i = 0; i < COUNT; i++) {
    const priority = i % LEVELS;
    ch.publish("", queue, Buffer.from(`${priority}:${i}`), { persistent: true, priority });
  }
  await ch.waitForConfirms();
  await conn.close();
}

/** Highest priority first, publish order within a priority. */
function expectedOrder(): string[] {
  const out: string[] = [];
  for (let p = LEVELS - 1; p >= 0; p--) for (let i = p; i < COUNT; i += LEVELS) out.push(`${p}:${i}`);
  return out;
}

async function drainAll(url: string, queue: string): Promise<{ bodies: string[]; redelivered: string[] }> {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  const bodies: string[] = [];
  const redelivered: string[] = [];
  const { messageCount } = await ch.checkQueue(queue);
  await ch.prefetch(500);
  await new Promise<void>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`only ${bodies.length} of ${messageCount} arrived`)), 50_000);
    void ch.consume(queue, (m) => {
      if (!m) return;
      const body = m.content.toString();
      bodies.push(body);
      if (m.fields.redelivered) redelivered.push(body);
      ch.ack(m);
      if (bodies.length === messageCount) {
        clearTimeout(timer);
        done();
      }
    });
  });
  await conn.close();
  return { bodies, redelivered };
}

test("a paged priority queue delivers by priority, FIFO within each, before and after a restart", async () => {
  dataDir = await mkdtemp(join(tmpdir(), "warren-prio-"));
  let url = await start();
  await publishAll(url, "prio");
  url = await restart();
  const { bodies, redelivered } = await drainAll(url, "prio");
  expect(bodies.length).toBe(COUNT);
  expect(bodies).toEqual(expectedOrder());
  expect(redelivered).toEqual([]);
});

test("after a restart, only the messages delivered before it come back redelivered, in every priority", async () => {
  dataDir = await mkdtemp(join(tmpdir(), "warren-prio-"));
  let url = await start();
  await publishAll(url, "prio");
  // Take the first 3 of the top priority without acking them. Their level's watermark must not
  // mark the lower levels (whose seqs are all smaller) as delivered.
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  const held: string[] = [];
  for (let i = 0; i < 3; i++) held.push((await ch.get("prio") || { content: "none" }).content.toString());
  await conn.close(); // the three are requeued
  url = await restart();
  const { bodies, redelivered } = await drainAll(url, "prio");
  expect(held).toEqual(["4:4", "4:9", "4:14"]);
  expect(bodies).toEqual(expectedOrder());
  expect(redelivered).toEqual(held);
});

test("purge removes every priority's paged part from the store", async () => {
  dataDir = await mkdtemp(join(tmpdir(), "warren-prio-"));
  let url = await start();
  await publishAll(url, "prio");
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  expect((await ch.purgeQueue("prio")).messageCount).toBe(COUNT);
  await conn.close();
  url = await restart();
  const conn2 = await amqp.connect(url);
  const ch2 = await conn2.createChannel();
  expect((await ch2.checkQueue("prio")).messageCount).toBe(0);
  await conn2.close();
});
