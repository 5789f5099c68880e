// x-delayed-message over real TCP (amqplib): declare checks, x-delay semantics (held, released in
// due order through the x-delayed-type, the header rewritten negative), malformed and too large
// delays, mandatory, confirms, the underlying types, exchange deletion. The reference RabbitMQ
// here does not ship rabbitmq_delayed_message_exchange, so the shared behaviour (declare, x-delay
// rules, the negative header) is checked against the plugin's documented behaviour (its README
// and rabbit_delayed_message_utils) rather than differentially; docs/delayed-message.md lists
// where Warren differs on purpose.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from "amqplib";
import { startTestBroker, type TestBroker, withTimeout } from "../helpers/broker.ts";
import { api } from "../helpers/http.ts";

setDefaultTimeout(30_000);

let broker: TestBroker | undefined;
let conn: ChannelModel | undefined;
afterEach(async () => {
  await conn?.close().catch(() => {});
  conn = undefined;
  await broker?.stop();
  broker = undefined;
});

async function open(): Promise<{ b: TestBroker; ch: Channel }> {
  broker = await startTestBroker();
  conn = await amqp.connect(broker.url);
  conn.on("error", () => {});
  const ch = await conn.createChannel();
  ch.on("error", () => {});
  return { b: broker, ch };
}

/** Declares a delayed exchange of `type` bound to a fresh queue with `key`. */
async function delayed(ch: Channel, name: string, type = "direct", key = "k", durable = true) {
  await ch.assertExchange(name, "x-delayed-message", { durable, arguments: { "x-delayed-type": type } });
  const q = (await ch.assertQueue(`${name}-q`, { durable })).queue;
  await ch.bindQueue(q, name, key);
  return q;
}

/** Collects deliveries of a queue until `n` arrived. */
function collect(ch: Channel, queue: string, n: number): Promise<ConsumeMessage[]> {
  const got: ConsumeMessage[] = [];
  return withTimeout(
    new Promise((resolve) => {
      void ch.consume(queue, (m) => {
        if (!m) return;
        got.push(m);
        if (got.length === n) resolve(got);
      }, { noAck: true });
    }),
    15_000,
    `receiving ${n} messages from ${queue}`,
  );
}

/** The error a channel closes with, as "code text". */
async function channelError(c: ChannelModel, fn: (ch: Channel) => Promise<unknown>): Promise<string> {
  const ch = await c.createChannel();
  const closed = new Promise<string>((resolve) => ch.on("error", (e: Error & { code?: number }) => resolve(`${e.code} ${e.message}`)));
  await fn(ch).catch(() => {});
  return withTimeout(closed, 5_000, "the channel error");
}

async function messagesDelayed(b: TestBroker, name: string): Promise<number> {
  const r = await api(b.httpUrl, "GET", `/api/exchanges/%2F/${name}`);
  return r.body.messages_delayed;
}

describe("x-delayed-message declare", () => {
  test("x-delayed-type missing or not a string is 406 with RabbitMQ's text; an unknown type is 503", async () => {
    const { b } = await open();
    const missing = await channelError(conn!, (ch) => ch.assertExchange("delayed-bad", "x-delayed-message"));
    expect(missing).toContain("406");
    expect(missing).toContain("PRECONDITION_FAILED - Invalid argument, 'x-delayed-type' must be an existing exchange type");
    const number = await channelError(
      conn!,
      (ch) => ch.assertExchange("delayed-bad", "x-delayed-message", { arguments: { "x-delayed-type": 5 } }),
    );
    expect(number).toContain("406");
    const self = await channelError(
      conn!,
      (ch) => ch.assertExchange("delayed-bad", "x-delayed-message", { arguments: { "x-delayed-type": "x-delayed-message" } }),
    );
    expect(self).toContain("406");
    // 503 COMMAND_INVALID is a connection error, as for any unknown exchange type.
    const other = await amqp.connect(b.url);
    const closed = new Promise<string>((resolve) => other.on("error", (e: Error & { code?: number }) => resolve(`${e.code} ${e.message}`)));
    const ch = await other.createChannel();
    ch.on("error", () => {});
    await ch.assertExchange("delayed-bad", "x-delayed-message", { arguments: { "x-delayed-type": "nope" } }).catch(() => {});
    const unknown = await withTimeout(closed, 5_000, "the connection error");
    expect(unknown).toContain("503");
    expect(unknown).toContain("unknown exchange type 'nope'");
    expect((await api(b.httpUrl, "GET", "/api/exchanges/%2F/delayed-bad")).status).toBe(404);
  });

  test("the underlying type checks bindings (headers x-match) and the exchange shows in /api/overview", async () => {
    const { b } = await open();
    await conn!.createChannel().then((ch) =>
      ch.assertExchange("delayed-h", "x-delayed-message", { arguments: { "x-delayed-type": "headers" } })
    );
    const q = (await (await conn!.createChannel()).assertQueue("", { exclusive: false })).queue;
    const bad = await channelError(conn!, (ch) => ch.bindQueue(q, "delayed-h", "", { "x-match": "nope" }));
    expect(bad).toContain("406");
    const overview = await api(b.httpUrl, "GET", "/api/overview");
    expect(overview.body.exchange_types.map((t: { name: string }) => t.name)).toContain("x-delayed-message");
    const x = await api(b.httpUrl, "GET", "/api/exchanges/%2F/delayed-h");
    expect(x.body.type).toBe("x-delayed-message");
    expect(x.body.arguments).toEqual({ "x-delayed-type": "headers" });
    expect(x.body.messages_delayed).toBe(0);
  });
});

describe("x-delay", () => {
  test("held messages are released in due order, with x-delay rewritten negative", async () => {
    const { b, ch } = await open();
    const q = await delayed(ch, "delayed-order");
    const delays = [600, 200, 400, 0, -5];
    for (const d of delays) ch.publish("delayed-order", "k", Buffer.from(`m${d}`), { headers: { "x-delay": d } });
    ch.publish("delayed-order", "k", Buffer.from("string-300"), { headers: { "x-delay": "300" } });
    ch.publish("delayed-order", "k", Buffer.from("none"));
    await ch.checkQueue(q); // the publishes are processed
    expect(await messagesDelayed(b, "delayed-order")).toBe(4);
    const got = await collect(ch, q, 7);
    expect(got.map((m) => m.content.toString())).toEqual(["m0", "m-5", "none", "m200", "string-300", "m400", "m600"]);
    // As RabbitMQ's plugin: the released message carries -Delay; undelayed ones keep theirs.
    expect(got.map((m) => m.properties.headers?.["x-delay"])).toEqual([0, -5, undefined, -200, -300, -400, -600]);
    expect(got.every((m) => m.fields.exchange === "delayed-order" && m.fields.routingKey === "k")).toBe(true);
    expect(await messagesDelayed(b, "delayed-order")).toBe(0);
  });

  test("a released message re-published to the exchange is not delayed again", async () => {
    const { ch } = await open();
    const q = await delayed(ch, "delayed-again");
    ch.publish("delayed-again", "k", Buffer.from("once"), { headers: { "x-delay": 100 } });
    const [first] = await collect(ch, q, 1);
    const again = await ch.assertQueue("delayed-again-q2");
    await ch.bindQueue(again.queue, "delayed-again", "k2");
    ch.publish("delayed-again", "k2", first!.content, { headers: first!.properties.headers });
    await ch.checkQueue(again.queue);
    expect((await ch.checkQueue(again.queue)).messageCount).toBe(1);
  });

  test("malformed x-delay values are refused with 406 naming them; nothing is held", async () => {
    const { b, ch } = await open();
    await delayed(ch, "delayed-bad-header");
    for (
      const [value, text] of [
        ["abc", "invalid x-delay header 'abc': it must be an integer number of milliseconds"],
        [true, "invalid x-delay header of type boolean"],
        [{ a: 1 }, "invalid x-delay header of type table"],
      ] as [unknown, string][]
    ) {
      const error = await channelError(conn!, async (c) => {
        c.publish("delayed-bad-header", "k", Buffer.from("x"), { headers: { "x-delay": value } });
        await c.checkExchange("delayed-bad-header");
      });
      expect(error).toContain("406");
      expect(error).toContain(text);
    }
    expect(await messagesDelayed(b, "delayed-bad-header")).toBe(0);
  });

  test("delays of years are held (absolute due times); beyond the maximum is 406, never routed at once", async () => {
    const { b, ch } = await open();
    const q = await delayed(ch, "delayed-years");
    const fiveYears = 5 * 365 * 24 * 3600 * 1000;
    ch.publish("delayed-years", "k", Buffer.from("later"), { headers: { "x-delay": fiveYears }, persistent: true });
    await ch.checkQueue(q);
    expect(await messagesDelayed(b, "delayed-years")).toBe(1);
    const list = await api(b.httpUrl, "GET", "/api/exchanges/%2F/delayed-years/delayed");
    expect(Math.abs(list.body.items[0].due_timestamp - (Date.now() + fiveYears))).toBeLessThan(60_000);
    const tooLong = await channelError(conn!, async (c) => {
      c.publish("delayed-years", "k", Buffer.from("x"), { headers: { "x-delay": 11 * 365 * 24 * 3600 * 1000 } });
      await c.checkExchange("delayed-years");
    });
    expect(tooLong).toContain("406");
    expect(tooLong).toContain("exceeds the maximum delay of 315360000000 ms");
    // A policy lowers the maximum for the exchanges it applies to.
    const put = await api(b.httpUrl, "PUT", "/api/policies/%2F/delayed-max", {
      pattern: "^delayed-years$",
      "apply-to": "exchanges",
      definition: { "delayed-max-delay": 1000 },
    });
    expect(put.status).toBeLessThan(300);
    const overPolicy = await channelError(conn!, async (c) => {
      c.publish("delayed-years", "k", Buffer.from("x"), { headers: { "x-delay": 1001 } });
      await c.checkExchange("delayed-years");
    });
    expect(overPolicy).toContain("exceeds the maximum delay of 1000 ms");
    const badPolicy = await api(b.httpUrl, "PUT", "/api/policies/%2F/delayed-max2", {
      pattern: "^x$",
      definition: { "delayed-max-delay": "soon" },
    });
    expect(badPolicy.status).toBe(400);
    expect(JSON.stringify(badPolicy.body)).toContain("is not a valid maximum delay");
    expect((await ch.checkQueue(q)).messageCount).toBe(0);
  });
});

describe("mandatory, confirms, routing at release", () => {
  test("mandatory: unroutable at publish time is returned (312 NO_ROUTE) and not held; routable is held", async () => {
    const { b, ch } = await open();
    const q = await delayed(ch, "delayed-mandatory");
    const returned: string[] = [];
    ch.on("return", (m: ConsumeMessage) => returned.push(`${m.content}`));
    ch.publish("delayed-mandatory", "nowhere", Buffer.from("lost"), { headers: { "x-delay": 100 }, mandatory: true });
    ch.publish("delayed-mandatory", "k", Buffer.from("kept"), { headers: { "x-delay": 100 }, mandatory: true });
    await ch.checkQueue(q);
    expect(returned).toEqual(["lost"]);
    expect(await messagesDelayed(b, "delayed-mandatory")).toBe(1);
    const got = await collect(ch, q, 1);
    expect(got[0]!.content.toString()).toBe("kept");
  });

  test("without mandatory a message unroutable at release is dropped and counted; an alternate exchange takes it", async () => {
    const { b, ch } = await open();
    await ch.assertExchange("delayed-ae-target", "fanout");
    const aeQ = (await ch.assertQueue("delayed-ae-q")).queue;
    await ch.bindQueue(aeQ, "delayed-ae-target", "");
    await ch.assertExchange("delayed-ae", "x-delayed-message", {
      arguments: { "x-delayed-type": "direct", "alternate-exchange": "delayed-ae-target" },
    });
    ch.publish("delayed-ae", "none", Buffer.from("to-ae"), { headers: { "x-delay": 50 } });
    await ch.assertExchange("delayed-drop", "x-delayed-message", { arguments: { "x-delayed-type": "direct" } });
    ch.publish("delayed-drop", "none", Buffer.from("dropped"), { headers: { "x-delay": 50 } });
    const got = await collect(ch, aeQ, 1);
    expect(got[0]!.content.toString()).toBe("to-ae");
    await Bun.sleep(100);
    const metrics = await (await fetch(`http://127.0.0.1:${b.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/rabbitmq_delayed_messages_released_total\{outcome="unroutable"\} 1/);
  });

  test("confirms of held persistent messages come after the commit; transient ones on a durable exchange are held in memory", async () => {
    const { b } = await open();
    const cc = await conn!.createConfirmChannel();
    const q = await delayed(cc, "delayed-confirm");
    cc.publish("delayed-confirm", "k", Buffer.from("p"), { headers: { "x-delay": 60_000 }, persistent: true });
    cc.publish("delayed-confirm", "k", Buffer.from("t"), { headers: { "x-delay": 60_000 } });
    await cc.waitForConfirms();
    const list = await api(b.httpUrl, "GET", "/api/exchanges/%2F/delayed-confirm/delayed");
    expect(list.body.items.map((i: { payload: string; stored: string }) => `${i.payload}:${i.stored}`)).toEqual(["p:disk", "t:memory"]);
    expect((await cc.checkQueue(q)).messageCount).toBe(0);
  });

  test("routing goes through the x-delayed-type: topic, fanout and exchange-to-exchange bindings", async () => {
    const { ch } = await open();
    const q = await delayed(ch, "delayed-topic", "topic", "a.*");
    ch.publish("delayed-topic", "a.b", Buffer.from("hit"), { headers: { "x-delay": 50 } });
    ch.publish("delayed-topic", "b.b", Buffer.from("miss"), { headers: { "x-delay": 50 } });
    await ch.assertExchange("delayed-fan", "x-delayed-message", { arguments: { "x-delayed-type": "fanout" } });
    await ch.assertExchange("delayed-e2e-dest", "fanout");
    const q2 = (await ch.assertQueue("delayed-e2e-q")).queue;
    await ch.bindQueue(q2, "delayed-e2e-dest", "");
    await ch.bindExchange("delayed-e2e-dest", "delayed-fan", "");
    ch.publish("delayed-fan", "any", Buffer.from("via-e2e"), { headers: { "x-delay": 50 } });
    expect((await collect(ch, q, 1))[0]!.content.toString()).toBe("hit");
    const e2e = await collect(ch, q2, 1);
    expect(e2e[0]!.content.toString()).toBe("via-e2e");
    expect(e2e[0]!.properties.headers?.["x-delay"]).toBe(-50);
  });

  test("x-consistent-hash as the underlying type", async () => {
    const { ch } = await open();
    await ch.assertExchange("delayed-ch", "x-delayed-message", { arguments: { "x-delayed-type": "x-consistent-hash" } });
    const a = (await ch.assertQueue("delayed-ch-a")).queue;
    const bq = (await ch.assertQueue("delayed-ch-b")).queue;
    await ch.bindQueue(a, "delayed-ch", "1");
    await ch.bindQueue(bq, "delayed-ch", "1");
    const bad = await channelError(conn!, (c) => c.bindQueue(a, "delayed-ch", "zero"));
    expect(bad).toContain("The binding key must be an integer");
    for (let i = 0; i < 40; i++) ch.publish("delayed-ch", `key-${i}`, Buffer.from(`${i}`), { headers: { "x-delay": 30 } });
    await Bun.sleep(300);
    const na = (await ch.checkQueue(a)).messageCount;
    const nb = (await ch.checkQueue(bq)).messageCount;
    expect(na + nb).toBe(40);
    expect(na).toBeGreaterThan(0);
    expect(nb).toBeGreaterThan(0);
  });

  test("deleting the exchange drops what it held", async () => {
    const { b, ch } = await open();
    const q = await delayed(ch, "delayed-gone");
    for (let i = 0; i < 10; i++) {
      ch.publish("delayed-gone", "k", Buffer.from(`${i}`), { headers: { "x-delay": 300 }, persistent: i % 2 === 0 });
    }
    await ch.checkQueue(q);
    expect(await messagesDelayed(b, "delayed-gone")).toBe(10);
    await ch.deleteExchange("delayed-gone");
    await ch.assertExchange("delayed-gone", "x-delayed-message", { durable: true, arguments: { "x-delayed-type": "direct" } });
    await ch.bindQueue(q, "delayed-gone", "k");
    expect(await messagesDelayed(b, "delayed-gone")).toBe(0);
    await Bun.sleep(500);
    expect((await ch.checkQueue(q)).messageCount).toBe(0);
  });
});
