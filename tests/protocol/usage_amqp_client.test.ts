// Typical @cloudamqp/amqp-client usage against Warren: the RabbitMQ tutorial patterns (work
// queues, pub/sub, routing, topics, RPC, publisher confirms) and the message round trips
// applications rely on. Set USAGE_TESTS_URL by hand to run them against another broker.
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type AMQPChannel, AMQPClient, type AMQPMessage, type AMQPProperties } from "@cloudamqp/amqp-client";
import { sleep, withTimeout } from "../helpers/broker.ts";
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

describe("@cloudamqp/amqp-client usage", () => {
  let target: UsageTarget;
  let clients: AMQPClient[] = [];

  beforeAll(async () => {
    target = await usageTarget();
  });
  afterAll(async () => {
    await target.stop();
  });
  afterEach(async () => {
    await Promise.all(clients.map((c) => (c.closed ? undefined : withTimeout(c.close(), 5000, "client.close()").catch(() => {}))));
    clients = [];
  });

  async function connect(): Promise<AMQPClient> {
    const client = new AMQPClient(target.url);
    client.onerror = () => {}; // failures surface through the awaited calls
    await withTimeout(client.connect(), 5000, "AMQPClient.connect");
    clients.push(client);
    return client;
  }
  async function channel(): Promise<AMQPChannel> {
    return (await connect()).channel();
  }
  /** Consumes `queue` (no-ack), pushing each delivery into the returned inbox. */
  async function collect(ch: AMQPChannel, queue: string): Promise<Inbox<AMQPMessage>> {
    const inbox = new Inbox<AMQPMessage>();
    await ch.basicConsume(queue, { noAck: true }, (msg) => inbox.push(msg));
    return inbox;
  }
  const text = (msg: AMQPMessage) => msg.bodyString() ?? "";

  test("work queue: prefetch 1 spreads persistent tasks over two workers, each done exactly once", async () => {
    const queue = uniqueName("task_queue");
    const producer = await channel();
    await producer.queueDeclare(queue, { durable: true });
    const done = new Inbox<{ worker: number; task: string; persistent: boolean }>();
    const inFlight = [0, 0];
    const maxInFlight = [0, 0];
    for (const w of [0, 1]) {
      const ch = await channel();
      await ch.queueDeclare(queue, { durable: true });
      await ch.prefetch(1);
      await ch.basicConsume(queue, { noAck: false }, async (msg) => {
        maxInFlight[w] = Math.max(maxInFlight[w]!, ++inFlight[w]!);
        await sleep(2); // "work"
        inFlight[w]!--;
        await msg.ack();
        done.push({ worker: w, task: text(msg), persistent: msg.properties.deliveryMode === 2 });
      });
    }
    const tasks = Array.from({ length: 30 }, (_, i) => `task ${i}`);
    for (const task of tasks) await producer.basicPublish("", queue, task, { deliveryMode: 2 });
    const results = await done.count(tasks.length, "processed tasks");
    expect(results.map((r) => r.task).sort()).toEqual([...tasks].sort());
    expect(results.every((r) => r.persistent)).toBe(true);
    expect(results.filter((r) => r.worker === 0).length).toBeGreaterThan(0);
    expect(results.filter((r) => r.worker === 1).length).toBeGreaterThan(0);
    expect(maxInFlight).toEqual([1, 1]); // prefetch 1: never two unacked tasks on one worker
    expect((await producer.queueDelete(queue)).messageCount).toBe(0);
  });

  test("publish/subscribe: a fanout exchange copies every message to two exclusive server-named queues", async () => {
    const exchange = uniqueName("logs");
    const publisher = await channel();
    await publisher.exchangeDeclare(exchange, "fanout", { durable: false, autoDelete: true });
    const subscribers: { queue: string; inbox: Inbox<AMQPMessage> }[] = [];
    for (let i = 0; i < 2; i++) {
      const ch = await channel();
      const { name: queue } = await ch.queueDeclare("", { exclusive: true, durable: false });
      expect(queue).toMatch(/^amq\.gen-/);
      await ch.queueBind(queue, exchange, "");
      subscribers.push({ queue, inbox: await collect(ch, queue) });
    }
    expect(subscribers[0]!.queue).not.toBe(subscribers[1]!.queue);
    const logs = Array.from({ length: 10 }, (_, i) => `log line ${i}`);
    for (const line of logs) await publisher.basicPublish(exchange, "", line);
    for (const { queue } of subscribers) await publisher.basicPublish("", queue, SENTINEL);
    for (const { inbox } of subscribers) {
      const got = await inbox.until((m) => text(m) === SENTINEL, "the end marker");
      expect(got.map(text)).toEqual(logs);
      expect(got.every((m) => m.exchange === exchange)).toBe(true);
    }
  });

  /** Declares `type` exchange, a server-named queue per binding set, publishes, compares. */
  async function routingScenario(type: "direct" | "topic", scenario: typeof DIRECT_SCENARIO): Promise<void> {
    const exchange = uniqueName(`${type}_logs`);
    const ch = await channel();
    await ch.exchangeDeclare(exchange, type, { durable: false, autoDelete: true });
    const queues: Record<string, { queue: string; inbox: Inbox<AMQPMessage> }> = {};
    for (const [name, keys] of Object.entries(scenario.bindings)) {
      const { name: queue } = await ch.queueDeclare("", { exclusive: true, durable: false });
      for (const key of keys) await ch.queueBind(queue, exchange, key);
      queues[name] = { queue, inbox: await collect(ch, queue) };
    }
    for (const key of scenario.published) await ch.basicPublish(exchange, key, `[${key}]`);
    for (const { queue } of Object.values(queues)) await ch.basicPublish("", queue, SENTINEL);
    for (const [name, { inbox }] of Object.entries(queues)) {
      const got = await inbox.until((m) => text(m) === SENTINEL, `end marker on ${name}`);
      expect({ [name]: got.map((m) => m.routingKey) }).toEqual({ [name]: scenario.expected[name]! });
      expect(got.every((m) => text(m) === `[${m.routingKey}]`)).toBe(true);
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
    await server.queueDeclare(rpcQueue, { durable: false, autoDelete: true });
    await server.prefetch(20);
    const requests: AMQPMessage[] = [];
    const calls = [3, 10, 1, 7, 20, 15, 0, 12];
    await server.basicConsume(rpcQueue, { noAck: false }, async (msg) => {
      requests.push(msg);
      if (requests.length < calls.length) return;
      // Answer only when every call is in, in reverse order: only the correlation id can pair them.
      for (const req of [...requests].reverse()) {
        const answer = String(fib(Number(text(req))));
        await server.basicPublish("", req.properties.replyTo!, answer, { correlationId: req.properties.correlationId! });
        await req.ack();
      }
    });

    const client = await channel();
    const { name: replyQueue } = await client.queueDeclare("", { exclusive: true, durable: false });
    const pending = new Map<string, (answer: string) => void>();
    await client.basicConsume(replyQueue, { noAck: true }, (msg) => {
      pending.get(msg.properties.correlationId ?? "")?.(text(msg));
    });
    const answers = calls.map(async (n, i) => {
      const correlationId = `call-${i}-${Math.random().toString(36).slice(2)}`;
      const answer = deferred<string>();
      pending.set(correlationId, answer.resolve);
      await client.basicPublish("", rpcQueue, String(n), { correlationId, replyTo: replyQueue });
      return withTimeout(answer.promise, 10_000, `RPC reply for fib(${n})`);
    });
    expect(await Promise.all(answers)).toEqual(calls.map((n) => String(fib(n))));
    expect(requests.every((r) => r.properties.replyTo === replyQueue)).toBe(true);
  });

  test("publisher confirms: 1000 messages all confirmed; a mandatory unroutable one is returned before its ack", async () => {
    const queue = uniqueName("confirmed");
    const ch = await channel();
    await ch.queueDeclare(queue, { durable: true });
    await ch.confirmSelect();
    const confirms = Array.from({ length: 1000 }, (_, i) => ch.basicPublish("", queue, `m${i}`, { deliveryMode: 2 }));
    const tags = await withTimeout(Promise.all(confirms), 10_000, "confirms for 1000 messages");
    expect(tags).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1)); // publish sequence numbers
    expect((await ch.queueDeclare(queue, { passive: true })).messageCount).toBe(1000);

    const exchange = uniqueName("nowhere");
    await ch.exchangeDeclare(exchange, "direct", { durable: false, autoDelete: false });
    const events: string[] = [];
    ch.onReturn = (msg) => events.push(`return ${msg.replyCode} ${msg.replyText} ${msg.routingKey} ${text(msg)}`);
    const confirmed = ch.basicPublish(exchange, "no.such.key", "lost", {}, true).then(
      () => events.push("ack"),
      () => events.push("nack"),
    );
    await withTimeout(confirmed, 5000, "confirm of the unroutable message");
    expect(events).toEqual(["return 312 NO_ROUTE no.such.key lost", "ack"]);
    await ch.exchangeDelete(exchange);
    expect((await ch.queueDelete(queue)).messageCount).toBe(1000);
  });

  test("basic.get polls an empty then filled queue; every property arrives as published", async () => {
    const queue = uniqueName("props");
    const ch = await channel();
    await ch.queueDeclare(queue, { durable: false });
    expect(await ch.basicGet(queue)).toBeNull();
    const props: AMQPProperties = {
      contentType: "application/json",
      contentEncoding: "identity",
      headers: RICH_HEADERS,
      deliveryMode: 2,
      priority: 5,
      correlationId: "corr-42",
      replyTo: "reply.here",
      expiration: "600000",
      messageId: "msg-0001",
      timestamp: new Date(1_700_000_000_000),
      type: "order.created",
      userId: "guest",
      appId: "usage-tests",
    };
    const body = JSON.stringify({ hello: "world" });
    await ch.basicPublish("", queue, body, props);
    await ch.basicPublish("", queue, body, props);
    let got: AMQPMessage | null = null;
    for (let i = 0; i < 200 && !got; i++) got = await ch.basicGet(queue, { noAck: false }); // polling loop
    if (!got) throw new Error("basic.get found nothing after 200 polls");
    expect(got.messageCount).toBe(1); // the other copy is still waiting
    expect(got.redelivered).toBe(false);
    expect(got.properties).toEqual(props);
    expect(text(got)).toBe(body);
    await got.ack();

    const inbox = await collect(ch, queue);
    const [consumed] = await inbox.count(1, "the consumed copy");
    expect(consumed!.properties).toEqual(props);
    expect(text(consumed!)).toBe(body);
    await ch.queueDelete(queue);
  });

  test("a user_id other than the authenticated user's is refused with 406, as RabbitMQ does", async () => {
    const ch = await channel();
    await ch.basicPublish("amq.direct", "anywhere", "forged", { userId: "mallory" });
    const err = await withTimeout(ch.queueDeclare("", { exclusive: true, durable: false }), 5000, "next call").then(
      () => new Error("the channel is still open"),
      (e: Error) => e,
    );
    expect(err.message).toContain("PRECONDITION_FAILED - user_id property set to 'mallory' but authenticated user was 'guest'");
    expect(ch.closed).toBe(true);
  });

  test("a 2 MiB body (many frames) and an empty body round trip byte-identical", async () => {
    const queue = uniqueName("big");
    const ch = await channel();
    await ch.queueDeclare(queue, { durable: false });
    const big = patternBytes(2 * 1024 * 1024, 11);
    await ch.basicPublish("", queue, big, { messageId: "big" });
    await ch.basicPublish("", queue, new Uint8Array(0), { messageId: "empty" });
    const inbox = await collect(ch, queue);
    const [first, second] = await inbox.count(2, "big and empty messages", 20_000);
    expect(first!.properties.messageId).toBe("big");
    expect(first!.bodySize).toBe(big.length);
    expect(firstDifference(first!.body ?? new Uint8Array(0), big)).toBe(-1);
    expect(second!.properties.messageId).toBe("empty");
    expect(second!.bodySize).toBe(0);
    expect(second!.body?.length ?? 0).toBe(0);
    await ch.queueDelete(queue);
  });

  /** Five messages to a consumer that acks two of them, then `drop` ends it; the rest must come back. */
  async function redeliveryAfter(drop: (ch: AMQPChannel, client: AMQPClient) => Promise<void>): Promise<void> {
    const queue = uniqueName("unacked");
    const setup = await channel();
    await setup.queueDeclare(queue, { durable: false });
    const bodies = ["a", "b", "c", "d", "e"];
    for (const b of bodies) await setup.basicPublish("", queue, b);
    const client = await connect();
    const ch = await client.channel();
    const first = new Inbox<AMQPMessage>();
    await ch.basicConsume(queue, { noAck: false }, (msg) => first.push(msg));
    const got = await first.count(5, "first deliveries");
    expect(got.map((m) => [text(m), m.redelivered])).toEqual(bodies.map((b) => [b, false]));
    await got[1]!.ack();
    await got[3]!.ack();
    await ch.queueDeclare(queue, { passive: true }); // a round trip: the acks have been processed
    await drop(ch, client);
    const again = await collect(await channel(), queue);
    const redelivered = await again.count(3, "redeliveries");
    expect(redelivered.map((m) => [text(m), m.redelivered])).toEqual([["a", true], ["c", true], ["e", true]]);
    await setup.queueDelete(queue);
  }

  test("unacked messages return to the queue, redelivered, when the consumer's channel closes", async () => {
    await redeliveryAfter((ch) => withTimeout(ch.close(), 5000, "channel.close()"));
  });

  test("unacked messages return to the queue, redelivered, when the consumer's connection closes", async () => {
    await redeliveryAfter((_ch, client) => withTimeout(client.close(), 5000, "client.close()"));
  });

  test("unacked messages return to the queue, redelivered, when the consumer's socket just drops", async () => {
    await redeliveryAfter(async (_ch, client) => {
      const socket = client.socket!;
      const closed = new Promise((resolve) => socket.once("close", resolve));
      socket.destroy();
      await withTimeout(closed, 5000, "socket close event");
      expect(client.closed).toBe(true);
    });
  });

  test("deleting a consumed queue cancels the consumer: wait() rejects, the channel stays open", async () => {
    const queue = uniqueName("doomed");
    const ch = await channel();
    await ch.queueDeclare(queue, { durable: false });
    const messages: string[] = [];
    const consumer = await ch.basicConsume(queue, { noAck: true }, (msg) => void messages.push(text(msg)));
    expect(consumer.tag).toMatch(/^amq\.ctag-/);
    // amqp-client ends a server-cancelled consumer's wait() with an error and forgets the consumer.
    const ended = consumer.wait().then(() => "ended without error", (err: Error) => err.message);
    const other = await channel();
    await other.queueDelete(queue);
    expect(await withTimeout(ended, 5000, "consumer cancel notification")).toBe("Consumer cancelled by the server");
    expect(ch.consumers.has(consumer.tag)).toBe(false);
    expect(messages).toEqual([]);
    expect(ch.closed).toBe(false);
    const { name } = await withTimeout(ch.queueDeclare("", { exclusive: true, durable: false }), 5000, "declare on the same channel");
    expect(name).toMatch(/^amq\.gen-/);
  });
});
