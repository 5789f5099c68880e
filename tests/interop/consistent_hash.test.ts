// Differential: x-consistent-hash on Warren and on the reference RabbitMQ (which ships the
// plugin): every declare and bind error (code and text), and for one set of bindings, 2,000
// routing keys, header values and message_ids each land in the same queue on both brokers.
// Skips without RABBITMQ_REF_URL.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import amqp, { type Channel, type ChannelModel } from "amqplib";
import { startTestBroker, type TestBroker, withTimeout } from "../helpers/broker.ts";

setDefaultTimeout(60_000);
const REF = process.env.RABBITMQ_REF_URL || undefined;
if (!REF) console.warn("RABBITMQ_REF_URL unset: skipping x-consistent-hash differential tests against RabbitMQ");

const run = `${process.pid}-${Date.now()}`;
const N = 2_000;

async function errors(url: string): Promise<string[]> {
  const conn = await amqp.connect(url);
  const out: string[] = [];
  const attempt = async (f: (ch: Channel) => Promise<unknown>) => {
    const ch = await conn.createChannel();
    let err = "ok";
    ch.on("error", (e: Error & { code?: number }) => (err = `${e.code} ${e.message}`));
    try {
      await f(ch);
      await ch.close();
    } catch (e) {
      err = `${(e as { code?: number }).code} ${(e as Error).message}`;
    }
    out.push(err.replace(/ExchangeDeclare|QueueBind/, "M"));
  };
  const x = `chx-err-${run}`;
  for (
    const args of [
      { "hash-header": "h", "hash-property": "message_id" },
      { "hash-header": "h", "hash-property": "nope" },
      { "hash-property": "nope" },
      { "hash-property": "" },
      { "hash-property": "héé" },
      { "hash-header": "" },
    ]
  ) {
    await attempt(async (ch) => {
      await ch.assertExchange(x, "x-consistent-hash", { durable: false, arguments: args });
      await ch.deleteExchange(x);
    });
    await attempt((ch) => ch.checkExchange(x)); // nothing was created
  }
  const setup = await conn.createChannel();
  await setup.assertExchange(`${x}-b`, "x-consistent-hash", { durable: false, autoDelete: false });
  const q = (await setup.assertQueue("", { exclusive: true })).queue;
  await setup.bindQueue(q, `${x}-b`, "1"); // later valid keys add nothing to the ring (no huge weight)
  const keys = [
    "abc",
    "",
    "0",
    "-1",
    "-0",
    "+0",
    "+1",
    "01",
    "1.5",
    " 1",
    "1e3",
    "é",
    "ą",
    "a\u0000b",
    'a"b\\c\n',
    "99999999999999999999",
    "x".repeat(100),
    "y".repeat(250),
    String.fromCharCode(...Array.from({ length: 60 }, (_, i) => i + 1)),
  ];
  for (const key of keys) await attempt((ch) => ch.bindQueue(q, `${x}-b`, key));
  await setup.deleteExchange(`${x}-b`);
  await conn.close();
  return out;
}

/** Publishes N messages per mode through one topology; returns, per mode, the queue index of each. */
async function placements(url: string): Promise<Record<string, number[]>> {
  const conn: ChannelModel = await amqp.connect(url);
  const ch = await conn.createChannel();
  const weights = ["3", "1", "7", "2", "5"];
  const modes: [string, Record<string, string>, (i: number) => [string, amqp.Options.Publish]][] = [
    ["routing key", {}, (i) => [`rk-${i}.${(i * 7919) % 1000}`, {}]],
    ["header", { "hash-header": "user" }, (i) => ["k", { headers: { user: `user-${i}` } }]],
    ["header int", { "hash-header": "n" }, (i) => ["k", { headers: { n: i * 37 } }]],
    ["message_id", { "hash-property": "message_id" }, (i) => ["k", { messageId: `m-${i}` }]],
    ["correlation_id", { "hash-property": "correlation_id" }, (i) => ["k", { correlationId: `c-${i}` }]],
    ["timestamp", { "hash-property": "timestamp" }, (i) => ["k", { timestamp: 1_700_000_000 + i * 13 }]],
    ["missing", { "hash-header": "absent" }, (i) => [`m-${i}`, {}]],
  ];
  const result: Record<string, number[]> = {};
  for (const [mode, args, make] of modes) {
    const x = `chx-${mode.replace(" ", "-")}-${run}`;
    await ch.assertExchange(x, "x-consistent-hash", { durable: false, autoDelete: false, arguments: args });
    const queues: string[] = [];
    for (const w of weights) {
      const q = (await ch.assertQueue("", { exclusive: true })).queue;
      queues.push(q);
      await ch.bindQueue(q, x, w);
    }
    for (let i = 0; i < N; i++) {
      const [key, props] = make(i);
      ch.publish(x, key, Buffer.from(String(i)), props);
    }
    const where = new Array<number>(N).fill(-1);
    let got = 0;
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    for (const [qi, q] of queues.entries()) {
      await ch.consume(q, (m) => {
        if (!m) return;
        where[Number(m.content.toString())] = qi;
        if (++got === N) done();
      }, { noAck: true });
    }
    await withTimeout(all, 20_000, `${mode}: receiving ${N} messages from ${url}`);
    result[mode] = where;
    await ch.deleteExchange(x);
  }
  await conn.close();
  return result;
}

describe.skipIf(!REF)("x-consistent-hash differential against RabbitMQ", () => {
  let warren: TestBroker;
  beforeAll(async () => {
    warren = await startTestBroker();
  });
  afterAll(() => warren?.stop());

  test("every declare and bind error: same code and text, nothing created", async () => {
    const [ours, theirs] = [await errors(warren.url), await errors(REF!)];
    expect(theirs.filter((e) => e.startsWith("406 ")).length).toBe(21);
    expect(ours).toEqual(theirs);
  });

  test(`${N} routing keys, header values, message_ids, correlation_ids and timestamps land in the same queues`, async () => {
    const [ours, theirs] = [await placements(warren.url), await placements(REF!)];
    for (const mode of Object.keys(theirs)) {
      expect(theirs[mode]!.includes(-1)).toBe(false);
      expect(new Set(theirs[mode]).size).toBe(mode === "missing" ? 1 : 5);
      expect({ mode, where: ours[mode] }).toEqual({ mode, where: theirs[mode] });
    }
  });
});
