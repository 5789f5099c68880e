// Typical amqplib usage against Warren: the RabbitMQ tutorial patterns (work queues, pub/sub,
// routing, topics, RPC, publisher confirms) and the message round trips applications rely on.
// Set USAGE_TESTS_URL by hand to run the same tests against another broker (e.g. RabbitMQ).
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import amqp, { type Channel, type ChannelModel, type ConsumeMessage, type Message } from "amqplib";
import { withTimeout } from "../helpers/broker.ts";
import {
  deferred,
  DIRECT_SCENARIO,
  fib,
  firstDifference,
  Inbox,
  patternBytes,
  RICH_HEADERS,
  SENTINEL,
  TOPIC_SCENARIO,
  uniqueName,
  type UsageTarget,
  usageTarget,
} from "../helpers/usage.ts";

setDefaultTimeout(30_000);

describe("amqplib usage", () => {
  let target: UsageTarget;
  let conns: ChannelModel[] = [];

  beforeAll(async () => {
    target = await usageTarget();
  });
  afterAll(async () => {
    await target.stop();
  });
  afterEach(async () => {
    await Promise.all(conns.map((c) => withTimeout(c.close(), 5000, "conn.close()").catch(() => {})));
    conns = [];
  });

  async function connect(): Promise<ChannelModel> {
    const conn = await withTimeout(amqp.connect(target.url), 5000, "amqp.connect");
    conn.on("error", () => {}); // failures surface through the awaited calls
    conns.push(conn);
    return conn;
  }
  async function channel(): Promise<Channel> {
    return (await connect()).createChannel();
  }
  /** Consumes `queue` (no-ack), pushing each delivery into the returned inbox. */
  async function collect(ch: Channel, queue: string): Promise<Inbox<ConsumeMessage>> {
    const inbox = new Inbox<ConsumeMessage>();
    await ch.consume(queue, (msg) => msg && inbox.push(msg), { noAck: true });
    return inbox;
  }
  const text = (msg: Message) => msg.content.toString();

  test("work queue: prefetch 1 spreads persistent tasks over two workers, each done exactly once", async () => {
    const queue = uniqueName("task_queue");
    const producer = await channel();
    await producer.assertQueue(queue, { durable: true });
    const done = new Inbox<{ worker: number; task: string; persistent: boolean }>();
    const inFlight = [0, 0];
    const maxInFlight = [0, 0];
    for (const w of [0, 1]) {
      const ch = await channel();
      await ch.assertQueue(queue, { durable: true });
      await ch.prefetch(1);
      await ch.consume(queue, (msg) => {
        if (!msg) return;
        maxInFlight[w] = Math.max(maxInFlight[w]!, ++inFlight[w]!);
        setTimeout(() => { // "work", then ack
          inFlight[w]!--;
          ch.ack(msg);
          done.push({ worker: w, task: text(msg), persistent: msg.properties.deliveryMode === 2 });
        }, 2);
      }, { noAck: false });
    }
    const tasks = Array.from({ length: 30 }, (_, i) => `task ${i}`);
    for (const task of tasks) producer.sendToQueue(queue, Buffer.from(task), { persistent: true });
    const results = await done.count(tasks.length, "processed tasks");
    expect(results.map((r) => r.task).sort()).toEqual([...tasks].sort());
    expect(results.every((r) => r.persistent)).toBe(true);
    expect(results.filter((r) => r.worker === 0).length).toBeGreaterThan(0);
    expect(results.filter((r) => r.worker === 1).length).toBeGreaterThan(0);
    expect(maxInFlight).toEqual([1, 1]); // prefetch 1: never two unacked tasks on one worker
    expect((await producer.deleteQueue(queue)).messageCount).toBe(0);
  });

  test("publish/subscribe: a fanout exchange copies every message to two exclusive server-named queues", async () => {
    const exchange = uniqueName("logs");
    const publisher = await channel();
    await publisher.assertExchange(exchange, "fanout", { durable: false, autoDelete: true });
    const subscribers: { queue: string; inbox: Inbox<ConsumeMessage> }[] = [];
    for (let i = 0; i < 2; i++) {
      const ch = await channel();
      const { queue } = await ch.assertQueue("", { exclusive: true });
      expect(queue).toMatch(/^amq\.gen-/);
      await ch.bindQueue(queue, exchange, "");
      subscribers.push({ queue, inbox: await collect(ch, queue) });
    }
    expect(subscribers[0]!.queue).not.toBe(subscribers[1]!.queue);
    const logs = Array.from({ length: 10 }, (_, i) => `log line ${i}`);
    for (const line of logs) publisher.publish(exchange, "", Buffer.from(line));
    for (const { queue } of subscribers) publisher.sendToQueue(queue, Buffer.from(SENTINEL));
    for (const { inbox } of subscribers) {
      const got = await inbox.until((m) => text(m) === SENTINEL, "the end marker");
      expect(got.map(text)).toEqual(logs);
      expect(got.every((m) => m.fields.exchange === exchange)).toBe(true);
    }
  });

  /** Declares `type` exchange, a server-named queue per binding set, publishes, compares. */
  async function routingScenario(type: "direct" | "topic", scenario: typeof DIRECT_SCENARIO): Promise<void> {
    const exchange = uniqueName(`${type}_logs`);
    const ch = await channel();
    await ch.assertExchange(exchange, type, { durable: false, autoDelete: true });
    const queues: Record<string, { queue: string; inbox: Inbox<ConsumeMessage> }> = {};
    for (const [name, keys] of Object.entries(scenario.bindings)) {
      const { queue } = await ch.assertQueue("", { exclusive: true });
      for (const key of keys) await ch.bindQueue(queue, exchange, key);
      queues[name] = { queue, inbox: await collect(ch, queue) };
    }
    for (const key of scenario.published) ch.publish(exchange, key, Buffer.from(`[${key}]`));
    for (const { queue } of Object.values(queues)) ch.sendToQueue(queue, Buffer.from(SENTINEL));
    for (const [name, { inbox }] of Object.entries(queues)) {
      const got = await inbox.until((m) => text(m) === SENTINEL, `end marker on ${name}`);
      expect({ [name]: got.map((m) => m.fields.routingKey) }).toEqual({ [name]: scenario.expected[name]! });
      expect(got.every((m) => text(m) === `[${m.fields.routingKey}]`)).toBe(true);
    }
  }

  test("routing: a direct exchange delivers to each queue only its binding keys", async () => {
    await routingScenario("direct", DIRECT_SCENARIO);
  });

  test("topics: * matches one word, # zero or more; each queue gets exactly its matches, once", async () => {
    await routingScenario("topic", TOPIC_SCENARIO);
  });

  test("RPC: replies reach an exclusive reply queue and match their requests by correlation_id", async () => {
    const rpcQueue = uniqueName("rpc_queue");
    const server = await channel();
    await server.assertQueue(rpcQueue, { durable: false, autoDelete: true });
    await server.prefetch(20);
    const requests: ConsumeMessage[] = [];
    const calls = [3, 10, 1, 7, 20, 15, 0, 12];
    await server.consume(rpcQueue, (msg) => {
      if (!msg) return;
      requests.push(msg);
      if (requests.length < calls.length) return;
      // Answer only when every call is in, in reverse order: only the correlation id can pair them.
      for (const req of [...requests].reverse()) {
        const answer = String(fib(Number(text(req))));
        server.sendToQueue(req.properties.replyTo, Buffer.from(answer), { correlationId: req.properties.correlationId });
        server.ack(req);
      }
    }, { noAck: false });

    const client = await channel();
    const { queue: replyQueue } = await client.assertQueue("", { exclusive: true });
    const pending = new Map<string, (answer: string) => void>();
    await client.consume(replyQueue, (msg) => {
      if (msg) pending.get(msg.properties.correlationId)?.(text(msg));
    }, { noAck: true });
    const answers = calls.map((n, i) => {
      const correlationId = `call-${i}-${Math.random().toString(36).slice(2)}`;
      const answer = deferred<string>();
      pending.set(correlationId, answer.resolve);
      client.sendToQueue(rpcQueue, Buffer.from(String(n)), { correlationId, replyTo: replyQueue });
      return withTimeout(answer.promise, 10_000, `RPC reply for fib(${n})`);
    });
    expect(await Promise.all(answers)).toEqual(calls.map((n) => String(fib(n))));
    expect(requests.every((r) => r.properties.replyTo === replyQueue)).toBe(true);
  });

  test("publisher confirms: 1000 messages all confirmed; a mandatory unroutable one is returned before its ack", async () => {
    const queue = uniqueName("confirmed");
    const ch = await (await connect()).createConfirmChannel();
    await ch.assertQueue(queue, { durable: true });
    let acked = 0;
    const failures: unknown[] = [];
    for (let i = 0; i < 1000; i++) {
      ch.sendToQueue(queue, Buffer.from(`m${i}`), { persistent: true }, (err) => (err ? failures.push(err) : acked++));
    }
    await withTimeout(ch.waitForConfirms(), 10_000, "confirms for 1000 messages");
    expect({ acked, failures }).toEqual({ acked: 1000, failures: [] });
    expect((await ch.checkQueue(queue)).messageCount).toBe(1000);

    const exchange = uniqueName("nowhere");
    await ch.assertExchange(exchange, "direct", { durable: false, autoDelete: false });
    const events: string[] = [];
    ch.on("return", (msg: Message) => {
      const f = msg.fields as Message["fields"] & { replyCode: number; replyText: string };
      events.push(`return ${f.replyCode} ${f.replyText} ${f.routingKey} ${text(msg)}`);
    });
    const confirmed = deferred<void>();
    ch.publish(exchange, "no.such.key", Buffer.from("lost"), { mandatory: true }, (err) => {
      events.push(err ? "nack" : "ack");
      confirmed.resolve();
    });
    await withTimeout(confirmed.promise, 5000, "confirm of the unroutable message");
    expect(events).toEqual(["return 312 NO_ROUTE no.such.key lost", "ack"]);
    await ch.deleteExchange(exchange);
    expect((await ch.deleteQueue(queue)).messageCount).toBe(1000);
  });

  test("basic.get polls an empty then filled queue; every property arrives as published", async () => {
    const queue = uniqueName("props");
    const ch = await channel();
    await ch.assertQueue(queue, { durable: false, autoDelete: false });
    expect(await ch.get(queue, { noAck: true })).toBe(false);
    const props = {
      contentType: "application/json",
      contentEncoding: "identity",
      headers: RICH_HEADERS,
      deliveryMode: 2,
      priority: 5,
      correlationId: "corr-42",
      replyTo: "reply.here",
      expiration: "600000",
      messageId: "msg-0001",
      timestamp: 1_700_000_000,
      type: "order.created",
      userId: "guest",
      appId: "usage-tests",
    };
    const expected = { ...props, clusterId: undefined }; // amqplib lists every property, unset ones as undefined
    const body = Buffer.from(JSON.stringify({ hello: "world" }));
    ch.sendToQueue(queue, body, props);
    ch.sendToQueue(queue, body, props);
    let got: Message | false = false;
    for (let i = 0; i < 200 && !got; i++) got = await ch.get(queue, { noAck: false }); // the tutorial's polling loop
    if (!got) throw new Error("basic.get found nothing after 200 polls");
    expect(got.fields.messageCount).toBe(1); // the other copy is still waiting
    expect(got.fields.redelivered).toBe(false);
    expect(got.properties).toEqual(expected);
    expect(got.content.equals(body)).toBe(true);
    ch.ack(got);

    const inbox = await collect(ch, queue);
    const [consumed] = await inbox.count(1, "the consumed copy");
    expect(consumed!.properties).toEqual(expected);
    expect(consumed!.content.equals(body)).toBe(true);
    await ch.deleteQueue(queue);
  });

  test("a user_id other than the authenticated user's is refused with 406, as RabbitMQ does", async () => {
    const ch = await channel();
    const closed = new Promise<Error>((resolve) => ch.once("error", resolve));
    ch.publish("amq.direct", "anywhere", Buffer.from("forged"), { userId: "mallory" });
    const err = await withTimeout(closed, 5000, "channel close after a forged user_id");
    expect(err.message).toContain("PRECONDITION_FAILED - user_id property set to 'mallory' but authenticated user was 'guest'");
  });

  test("a 2 MiB body (many frames) and an empty body round trip byte-identical", async () => {
    const queue = uniqueName("big");
    const ch = await channel();
    await ch.assertQueue(queue, { durable: false, autoDelete: false });
    const big = Buffer.from(patternBytes(2 * 1024 * 1024, 7));
    ch.sendToQueue(queue, big, { messageId: "big" });
    ch.sendToQueue(queue, Buffer.alloc(0), { messageId: "empty" });
    const inbox = await collect(ch, queue);
    const [first, second] = await inbox.count(2, "big and empty messages", 20_000);
    expect(first!.properties.messageId).toBe("big");
    expect(first!.content.length).toBe(big.length);
    expect(firstDifference(first!.content, big)).toBe(-1);
    expect(second!.properties.messageId).toBe("empty");
    expect(second!.content.length).toBe(0);
    await ch.deleteQueue(queue);
  });

  /** Five messages to a consumer that acks two of them, then `drop` ends it; the rest must come back. */
  async function redeliveryAfter(drop: (ch: Channel, conn: ChannelModel) => Promise<void> | void): Promise<void> {
    const queue = uniqueName("unacked");
    const setup = await channel();
    await setup.assertQueue(queue, { durable: false, autoDelete: false });
    const bodies = ["a", "b", "c", "d", "e"];
    for (const b of bodies) setup.sendToQueue(queue, Buffer.from(b));
    const conn = await connect();
    const ch = await conn.createChannel();
    ch.on("error", () => {});
    const first = new Inbox<ConsumeMessage>();
    await ch.consume(queue, (msg) => msg && first.push(msg), { noAck: false });
    const got = await first.count(5, "first deliveries");
    expect(got.map((m) => [text(m), m.fields.redelivered])).toEqual(bodies.map((b) => [b, false]));
    ch.ack(got[1]!);
    ch.ack(got[3]!);
    // A round trip on the channel: the acks have been processed before `drop` (amqplib may
    // otherwise write connection.close ahead of channel frames it still holds).
    await ch.checkQueue(queue);
    await drop(ch, conn);
    const again = await collect(await channel(), queue);
    const redelivered = await again.count(3, "redeliveries");
    expect(redelivered.map((m) => [text(m), m.fields.redelivered])).toEqual([["a", true], ["c", true], ["e", true]]);
    await setup.deleteQueue(queue);
  }

  test("unacked messages return to the queue, redelivered, when the consumer's channel closes", async () => {
    await redeliveryAfter((ch) => withTimeout(ch.close(), 5000, "channel.close()"));
  });

  test("unacked messages return to the queue, redelivered, when the consumer's connection closes", async () => {
    await redeliveryAfter((_ch, conn) => withTimeout(conn.close(), 5000, "connection.close()"));
  });

  test("unacked messages return to the queue, redelivered, when the consumer's socket just drops", async () => {
    await redeliveryAfter(async (_ch, conn) => {
      const closed = new Promise((resolve) => conn.once("close", resolve));
      (conn.connection as unknown as { stream: { destroy(): void } }).stream.destroy();
      await withTimeout(closed, 5000, "connection close event");
    });
  });

  test("deleting a consumed queue cancels the consumer: the callback gets null, the channel stays open", async () => {
    const queue = uniqueName("doomed");
    const ch = await channel();
    await ch.assertQueue(queue, { durable: false, autoDelete: false });
    const cancelled = deferred<null>();
    const messages: string[] = [];
    const { consumerTag } = await ch.consume(queue, (msg) => {
      if (msg === null) cancelled.resolve(null);
      else messages.push(text(msg));
    }, { noAck: true });
    expect(consumerTag).toMatch(/^amq\.ctag-/);
    const other = await channel();
    await other.deleteQueue(queue);
    expect(await withTimeout(cancelled.promise, 5000, "consumer cancel notification (callback with null)")).toBeNull();
    expect(messages).toEqual([]);
    // The channel is still usable after the cancel notification.
    const { queue: fresh } = await withTimeout(ch.assertQueue("", { exclusive: true }), 5000, "declare on the same channel");
    expect(fresh).toMatch(/^amq\.gen-/);
  });
});
