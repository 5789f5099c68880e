// x-consistent-hash over real TCP with amqplib and @cloudamqp/amqp-client: every key lands in the
// queue the router predicts (RabbitMQ's layout), declare and bind errors are 406 and create
// nothing, and a durable exchange keeps its bindings and its exact distribution across a restart.
// The type comes from the built-in plugin (plugins/mod.ts), registered by the loader before recovery.
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import amqp, { type Channel } from "amqplib";
import { AMQPClient } from "@cloudamqp/amqp-client";
import { BROKER_IS_PROCESS, startTestBroker, type TestBroker, withTimeout } from "../helpers/broker.ts";
import { cleanupRestartBrokers, connect, start, stop, tempDir } from "../helpers/restart_brokers.ts";
import { consistentHashExchangeType } from "../../plugins/consistent_hash/mod.ts";
import type { RoutableMessage } from "../../src/routing/router.ts";

setDefaultTimeout(30_000);

let broker: TestBroker | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});
afterAll(cleanupRestartBrokers);

/** Where the plugin's router sends each message, for bindings made in this order. */
function predict(args: Record<string, string>, bindings: [string, string][], messages: RoutableMessage[]): string[] {
  const router = consistentHashExchangeType.createRouter<string>(args);
  for (const [queue, key] of bindings) router.bind(key, {}, queue);
  const out = new Set<string>();
  return messages.map((m) => {
    out.clear();
    router.route(m.routingKey, m, out);
    return [...out][0] ?? "";
  });
}

const message = (routingKey: string, props: RoutableMessage["props"] = {}): RoutableMessage => ({
  routingKey,
  headerTable: () => props.headers,
  props,
});

/** Consumes every queue until `total` messages arrived; body → queue. */
async function drain(ch: Channel, queues: string[], total: number): Promise<Map<string, string>> {
  const where = new Map<string, string>();
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  for (const q of queues) {
    await ch.consume(q, (m) => {
      if (!m) return;
      where.set(m.content.toString(), q);
      if (where.size === total) done();
    }, { noAck: true });
  }
  if (total > 0) await withTimeout(all, 10_000, `receiving ${total} messages`);
  return where;
}

const BINDINGS: [string, string][] = [["chq-a", "1"], ["chq-b", "+2"], ["chq-c", "03"], ["chq-d", "4"]];
const QUEUES = BINDINGS.map(([q]) => q);
const KEYS = Array.from({ length: 600 }, (_, i) => `key-${i}`);

async function topology(ch: Channel, exchange: string, durable: boolean, args: Record<string, string> = {}) {
  await ch.assertExchange(exchange, "x-consistent-hash", { durable, arguments: args });
  for (const [q, key] of BINDINGS) {
    await ch.assertQueue(q, { durable, exclusive: !durable });
    await ch.bindQueue(q, exchange, key);
  }
}

describe("amqplib", () => {
  test("each routing key lands in exactly the queue RabbitMQ's layout picks, in proportion to the weights", async () => {
    broker = await startTestBroker();
    const conn = await amqp.connect(broker.url);
    const ch = await conn.createChannel();
    await topology(ch, "ch-rk", false);
    for (const key of KEYS) ch.publish("ch-rk", key, Buffer.from(key));
    const where = await drain(ch, QUEUES, KEYS.length);
    const expected = predict({}, BINDINGS, KEYS.map((k) => message(k)));
    expect(KEYS.map((k) => where.get(k))).toEqual(expected);
    const share = (q: string) => expected.filter((e) => e === q).length / KEYS.length;
    expect(share("chq-d")).toBeGreaterThan(share("chq-a"));
    await conn.close();
  });

  test.skipIf(BROKER_IS_PROCESS)("declare and bind errors are 406 with RabbitMQ's texts and create nothing", async () => {
    broker = await startTestBroker();
    const conn = await amqp.connect(broker.url);
    const failure = async (f: (ch: Channel) => Promise<unknown>) => {
      const ch = await conn.createChannel();
      const closed = new Promise<Error>((resolve) => ch.on("error", resolve));
      await expect(f(ch)).rejects.toThrow();
      return (await closed).message;
    };
    const declare = (args: Record<string, unknown>) => (ch: Channel) =>
      ch.assertExchange("bad-x", "x-consistent-hash", { arguments: args });
    expect(await failure(declare({ "hash-header": "h", "hash-property": "message_id" }))).toContain(
      '406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - hash-header and hash-property are mutually exclusive"',
    );
    expect(await failure(declare({ "hash-property": "nope" }))).toContain('"PRECONDITION_FAILED - Unsupported property: nope"');
    expect(await failure((ch) => ch.checkExchange("bad-x"))).toContain("NOT_FOUND");

    const setup = await conn.createChannel();
    await setup.assertExchange("bind-x", "x-consistent-hash", { durable: false });
    await setup.assertQueue("bind-q", { exclusive: true });
    for (
      const [key, text] of [
        ["abc", 'The binding key must be an integer: <<"abc">>'],
        ["0", "The binding key must be greater than 0"],
        ["-3", "The binding key must be greater than 0"],
      ]
    ) {
      expect(await failure((ch) => ch.bindQueue("bind-q", "bind-x", key!))).toContain(`"PRECONDITION_FAILED - ${text}"`);
    }
    const x = broker.broker.vhosts.get("/")!.exchanges.get("bind-x")!;
    expect(x.router.size).toBe(0);
    await setup.bindQueue("bind-q", "bind-x", "99999999999999999999");
    expect(x.router.size).toBe(1);
    await conn.close();
  });
});

describe("@cloudamqp/amqp-client", () => {
  test("hash-header and hash-property (message_id) pick the predicted queue; a missing value picks one queue", async () => {
    broker = await startTestBroker();
    const client = new AMQPClient(broker.url);
    await client.connect();
    const ch = await client.channel();
    for (const [exchange, args] of [["ch-h", { "hash-header": "user" }], ["ch-p", { "hash-property": "message_id" }]] as const) {
      await ch.exchangeDeclare(exchange, "x-consistent-hash", { durable: false }, args);
      const queues: string[] = [];
      for (const [q, key] of BINDINGS) {
        const name = `${exchange}-${q}`;
        queues.push(name);
        await ch.queueDeclare(name, { exclusive: true });
        await ch.queueBind(name, exchange, key);
      }
      const values = Array.from({ length: 200 }, (_, i) => `value-${i}`);
      const props = (v: string) => (exchange === "ch-h" ? { headers: { user: v } } : { messageId: v });
      for (const v of values) await ch.basicPublish(exchange, "same-key", v, props(v));
      for (let i = 0; i < 5; i++) await ch.basicPublish(exchange, `other-${i}`, `missing-${i}`, {});
      const expected = predict(args, BINDINGS.map(([q, k]) => [`${exchange}-${q}`, k]), [
        ...values.map((v) => message("same-key", props(v))),
        ...Array.from({ length: 5 }, (_, i) => message(`other-${i}`)),
      ]);
      const where = new Map<string, string>();
      for (const q of queues) {
        for (;;) {
          const m = await ch.basicGet(q, { noAck: true });
          if (!m) break;
          where.set(m.bodyToString()!, q);
        }
      }
      const bodies = [...values, ...Array.from({ length: 5 }, (_, i) => `missing-${i}`)];
      expect(bodies.map((b) => where.get(b))).toEqual(expected);
      expect(new Set(expected.slice(values.length)).size).toBe(1);
    }
    await client.close();
  });
});

test("a durable x-consistent-hash exchange keeps its bindings and its exact distribution across a restart", async () => {
  const dataDir = await tempDir();
  let node = await start(dataDir);
  let conn = await connect(node.url);
  let ch = await conn.createChannel();
  // Bound in an order that is not sorted by queue name or key: the ring follows binding order.
  const bindings: [string, string][] = [["r-q3", "3"], ["r-q1", "1"], ["r-q4", "2"], ["r-q2", "5"]];
  await ch.assertExchange("ch-durable", "x-consistent-hash", { durable: true });
  for (const [q, key] of bindings) {
    await ch.assertQueue(q, { durable: true });
    await ch.bindQueue(q, "ch-durable", key);
  }
  const run = async () => {
    for (const key of KEYS) ch.publish("ch-durable", key, Buffer.from(key));
    const where = await drain(ch, bindings.map(([q]) => q), KEYS.length);
    return KEYS.map((k) => where.get(k));
  };
  const before = await run();
  expect(before).toEqual(predict({}, bindings, KEYS.map((k) => message(k))));
  await conn.close();
  await stop(node.broker);

  node = await start(dataDir);
  expect(node.broker.vhosts.get("/")!.exchanges.get("ch-durable")!.router.size).toBe(4);
  conn = await connect(node.url);
  ch = await conn.createChannel();
  expect(await run()).toEqual(before);
  await conn.close();
});
