// Queues and exchanges through the management API, checked against what AMQP clients see.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import amqp from "amqplib";
import { createManagementApp, type ManagementApp } from "../../src/http/app.ts";
import { ratesFor } from "../../src/http/rates.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api } from "../helpers/http.ts";

let tb: TestBroker;
let app: ManagementApp;
let conn: amqp.ChannelModel;
let ch: amqp.Channel;

beforeAll(async () => {
  tb = await startTestBroker();
  app = createManagementApp(tb.broker);
  conn = await amqp.connect(tb.url);
  ch = await conn.createChannel();
});
afterAll(async () => {
  await conn.close().catch(() => {});
  await tb.stop();
});

describe("exchanges", () => {
  test("PUT declares, GET shows it, a second PUT with the same fields is 204", async () => {
    const body = { type: "topic", durable: true, auto_delete: false, internal: false, arguments: { "alternate-exchange": "amq.fanout" } };
    expect((await api(app, "PUT", "/api/exchanges/%2F/http-x1", body)).status).toBe(201);
    expect((await api(app, "PUT", "/api/exchanges/%2F/http-x1", body)).status).toBe(204);
    const r = await api(app, "GET", "/api/exchanges/%2F/http-x1");
    expect(r.body).toMatchObject({
      name: "http-x1",
      vhost: "/",
      type: "topic",
      durable: true,
      auto_delete: false,
      internal: false,
      arguments: { "alternate-exchange": "amq.fanout" },
    });
    await ch.checkExchange("http-x1"); // visible to AMQP clients
  });

  test("an inequivalent PUT is 400 with AMQP's reason text", async () => {
    const r = await api(app, "PUT", "/api/exchanges/%2F/http-x1", { type: "direct", durable: true });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({
      error: "bad_request",
      reason: "inequivalent arg 'type' for exchange 'http-x1' in vhost '/': received 'direct' but current is 'topic'",
    });
  });

  test("an unknown type is 400; an amq.* name is refused", async () => {
    expect((await api(app, "PUT", "/api/exchanges/%2F/http-x2", { type: "nope" })).body).toEqual({
      error: "bad_request",
      reason: "unknown exchange type 'nope'",
    });
    expect((await api(app, "PUT", "/api/exchanges/%2F/amq.http", { type: "direct" })).status).toBe(401);
  });

  test('the default exchange is amq.default in paths and "" in listings', async () => {
    expect((await api(app, "GET", "/api/exchanges/%2F/amq.default")).body.name).toBe("");
    const names = (await api(app, "GET", "/api/exchanges/%2F")).body.map((x: { name: string }) => x.name);
    expect(names).toContain("");
    expect(names).toContain("amq.topic");
  });

  test("publish answers routed true/false and counts publish_in/out", async () => {
    await ch.assertQueue("http-pq", { durable: false });
    await ch.bindQueue("http-pq", "http-x1", "a.*");
    const send = (routing_key: string) =>
      api(app, "POST", "/api/exchanges/%2F/http-x1/publish", {
        properties: { headers: { h: 1 } },
        routing_key,
        payload: "aGk=",
        payload_encoding: "base64",
      });
    expect((await send("a.b")).body).toEqual({ routed: true });
    // unroutable here, but the alternate exchange (amq.fanout) has no bindings either
    expect((await send("zzz")).body).toEqual({ routed: false });
    const msg = await ch.get("http-pq", { noAck: true });
    expect(msg && msg.content.toString()).toBe("hi");
    expect(msg && msg.properties.headers).toEqual({ h: 1 });
    const x = (await api(app, "GET", "/api/exchanges/%2F/http-x1")).body;
    expect(x.message_stats.publish_in).toBe(2);
    expect(x.message_stats.publish_out).toBe(1);
  });

  test("publish with another user's user_id is 400", async () => {
    const r = await api(app, "POST", "/api/exchanges/%2F/amq.default/publish", {
      properties: { user_id: "mallory" },
      routing_key: "x",
      payload: "x",
      payload_encoding: "string",
    });
    expect(r.body).toEqual({ error: "bad_request", reason: "user_id property set to 'mallory' but authenticated user was 'guest'" });
  });

  test("publish with a missing key or exchange is 400", async () => {
    const missing = await api(app, "POST", "/api/exchanges/%2F/amq.default/publish", { properties: {}, routing_key: "x", payload: "x" });
    expect(missing.body).toEqual({ error: "bad_request", reason: "[{key_missing,payload_encoding}]" });
    const noExchange = await api(app, "POST", "/api/exchanges/%2F/http-none/publish", {
      properties: {},
      routing_key: "x",
      payload: "x",
      payload_encoding: "string",
    });
    expect(noExchange.body).toEqual({ error: "bad_request", reason: "404 NOT_FOUND - no exchange 'http-none' in vhost '/'" });
  });

  test("bindings/source and bindings/destination list exchange bindings", async () => {
    await ch.assertExchange("http-x3", "fanout", { durable: false });
    await ch.bindExchange("http-x3", "http-x1", "k");
    const source = (await api(app, "GET", "/api/exchanges/%2F/http-x1/bindings/source")).body;
    expect(source.map((b: { destination: string }) => b.destination).sort()).toEqual(["http-pq", "http-x3"]);
    const destination = (await api(app, "GET", "/api/exchanges/%2F/http-x3/bindings/destination")).body;
    expect(destination).toEqual([{
      source: "http-x1",
      vhost: "/",
      destination: "http-x3",
      destination_type: "exchange",
      routing_key: "k",
      arguments: {},
      properties_key: "k",
    }]);
  });

  test("DELETE with if-unused refuses an exchange with bindings; DELETE removes it", async () => {
    const r = await api(app, "DELETE", "/api/exchanges/%2F/http-x1?if-unused=true");
    expect(r.status).toBe(400);
    expect(r.body.reason).toBe("exchange 'http-x1' in vhost '/' in use");
    expect((await api(app, "DELETE", "/api/exchanges/%2F/http-x1")).status).toBe(204);
    expect((await api(app, "GET", "/api/exchanges/%2F/http-x1")).status).toBe(404);
  });
});

describe("queues", () => {
  test("PUT declares with arguments; an inequivalent redeclare is 400", async () => {
    expect(
      (await api(app, "PUT", "/api/queues/%2F/http-q1", { durable: true, arguments: { "x-max-length": 100, "x-message-ttl": 60000 } }))
        .status,
    ).toBe(201);
    const ok = await ch.checkQueue("http-q1");
    expect(ok.queue).toBe("http-q1");
    const r = await api(app, "PUT", "/api/queues/%2F/http-q1", { durable: false });
    expect(r.body).toEqual({
      error: "bad_request",
      reason: "inequivalent arg 'durable' for queue 'http-q1' in vhost '/': received 'false' but current is 'true'",
    });
  });

  test("message counts, unacked, consumers and message_stats follow AMQP traffic", async () => {
    for (let i = 0; i < 3; i++) ch.sendToQueue("http-q1", Buffer.from(`m${i}`));
    const consumerCh = await conn.createChannel();
    await consumerCh.prefetch(1);
    const got: amqp.ConsumeMessage[] = [];
    await consumerCh.consume("http-q1", (m) => m && got.push(m), { consumerTag: "http-ctag" });
    while (got.length < 1) await Bun.sleep(5);
    const q = (await api(app, "GET", "/api/queues/%2F/http-q1")).body;
    expect(q).toMatchObject({
      name: "http-q1",
      durable: true,
      messages: 3,
      messages_ready: 2,
      messages_unacknowledged: 1,
      consumers: 1,
      state: "running",
      message_bytes: 6,
    });
    expect(q.message_stats).toMatchObject({ publish: 3, deliver: 1, deliver_get: 1, ack: 0, redeliver: 0 });
    expect(q.consumer_details).toHaveLength(1);
    expect(q.consumer_details[0]).toMatchObject({
      consumer_tag: "http-ctag",
      ack_required: true,
      prefetch_count: 1,
      queue: { name: "http-q1", vhost: "/" },
    });
    consumerCh.ack(got[0]!);
    while (got.length < 3) {
      await Bun.sleep(5);
      const last = got[got.length - 1]!;
      if (got.length < 3) consumerCh.ack(last);
    }
    consumerCh.ack(got[2]!);
    await consumerCh.close();
    const after = (await api(app, "GET", "/api/queues/%2F/http-q1")).body;
    expect(after).toMatchObject({ messages: 0, consumers: 0 });
    expect(after.message_stats).toMatchObject({ publish: 3, deliver: 3, ack: 3 });
  });

  test("rates come from samples: publishes between two samples give a publish rate", async () => {
    const sampler = ratesFor(tb.broker);
    const t0 = Date.now();
    sampler.sampleAll(t0);
    for (let i = 0; i < 10; i++) ch.sendToQueue("http-q1", Buffer.from("r"));
    await ch.checkQueue("http-q1"); // the publishes have arrived
    sampler.sampleAll(t0 + 5000);
    const q = (await api(app, "GET", "/api/queues/%2F/http-q1")).body;
    expect(q.message_stats.publish_details.rate).toBe(2);
    expect(q.messages_ready_details.rate).toBe(2);
    await ch.purgeQueue("http-q1");
  });

  // amqplib always sends a (possibly empty) headers table, and an empty table shows as {}.
  test("POST get with each ackmode, auto and base64 encodings, truncate", async () => {
    ch.sendToQueue("http-q1", Buffer.from("hello"), { headers: { a: "b" }, contentType: "text/plain" });
    ch.sendToQueue("http-q1", Buffer.from([0xff, 0x00]));
    await ch.checkQueue("http-q1");
    const peek = await api(app, "POST", "/api/queues/%2F/http-q1/get", {
      count: 5,
      ackmode: "ack_requeue_true",
      encoding: "auto",
      truncate: 3,
    });
    expect(peek.body).toEqual([
      {
        payload_bytes: 5,
        redelivered: false,
        exchange: "",
        routing_key: "http-q1",
        message_count: 1,
        properties: { content_type: "text/plain", headers: { a: "b" } },
        payload: "hel",
        payload_encoding: "string",
      },
      {
        payload_bytes: 2,
        redelivered: false,
        exchange: "",
        routing_key: "http-q1",
        message_count: 0,
        properties: { headers: {} },
        payload: "/wA=",
        payload_encoding: "base64",
      },
    ]);
    const again = await api(app, "POST", "/api/queues/%2F/http-q1/get", { count: 1, ackmode: "reject_requeue_true", encoding: "base64" });
    expect(again.body[0]).toMatchObject({ redelivered: true, payload: "aGVsbG8=", payload_encoding: "base64" });
    const take = await api(app, "POST", "/api/queues/%2F/http-q1/get", { count: 2, ackmode: "ack_requeue_false", encoding: "auto" });
    expect(take.body).toHaveLength(2);
    expect((await ch.checkQueue("http-q1")).messageCount).toBe(0);
  });

  test("POST get validates ackmode and encoding", async () => {
    expect((await api(app, "POST", "/api/queues/%2F/http-q1/get", { count: 1, ackmode: "bogus", encoding: "auto" })).status).toBe(400);
    const r = await api(app, "POST", "/api/queues/%2F/http-q1/get", { count: 1, ackmode: "ack_requeue_false", encoding: "x" });
    expect(r.body).toEqual({ error: "bad_request", reason: "Unsupported encoding. Please use auto or base64." });
  });

  test("reject_requeue_false dead-letters", async () => {
    await ch.assertQueue("http-dlq", { durable: false });
    await ch.assertQueue("http-src", {
      durable: false,
      arguments: { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "http-dlq" },
    });
    ch.sendToQueue("http-src", Buffer.from("dead"));
    await ch.checkQueue("http-src");
    await api(app, "POST", "/api/queues/%2F/http-src/get", { count: 1, ackmode: "reject_requeue_false", encoding: "auto" });
    const m = await ch.get("http-dlq", { noAck: true });
    expect(m && m.content.toString()).toBe("dead");
  });

  test("DELETE contents purges; DELETE honours if-empty and if-unused", async () => {
    ch.sendToQueue("http-q1", Buffer.from("x"));
    await ch.checkQueue("http-q1");
    const notEmpty = await api(app, "DELETE", "/api/queues/%2F/http-q1?if-empty=true");
    expect(notEmpty.body).toEqual({ error: "bad_request", reason: "queue 'http-q1' in vhost '/' not empty" });
    expect((await api(app, "DELETE", "/api/queues/%2F/http-q1/contents")).status).toBe(204);
    expect((await ch.checkQueue("http-q1")).messageCount).toBe(0);
    const c2 = await conn.createChannel();
    await c2.consume("http-q1", () => {});
    const inUse = await api(app, "DELETE", "/api/queues/%2F/http-q1?if-unused=true");
    expect(inUse.body).toEqual({ error: "bad_request", reason: "queue 'http-q1' in vhost '/' in use" });
    expect((await api(app, "DELETE", "/api/queues/%2F/http-q1?if-empty=true")).status).toBe(204);
    expect((await api(app, "GET", "/api/queues/%2F/http-q1")).status).toBe(404);
    await c2.close().catch(() => {});
  });

  test("an exclusive queue of a connection cannot be deleted over HTTP", async () => {
    const c3 = await conn.createChannel();
    const { queue } = await c3.assertQueue("", { exclusive: true });
    const r = await api(app, "DELETE", `/api/queues/%2F/${queue}`);
    expect(r.status).toBe(400);
    expect(r.body.reason).toContain("cannot obtain exclusive access to locked queue");
    expect((await api(app, "GET", `/api/queues/%2F/${queue}`)).body.exclusive).toBe(true);
    await c3.close();
  });

  test("GET /api/queues lists every vhost; /api/queues/{vhost} one", async () => {
    tb.broker.addVhost("http-v2").declareQueue(
      { name: "http-elsewhere", durable: false, exclusive: false, autoDelete: false, args: {} },
      {},
    );
    tb.broker.users.setPermission("guest", "http-v2", { configure: ".*", write: ".*", read: ".*" });
    const all = (await api(app, "GET", "/api/queues")).body.map((q: { vhost: string; name: string }) => `${q.vhost}|${q.name}`);
    expect(all).toContain("http-v2|http-elsewhere");
    const one = (await api(app, "GET", "/api/queues/http-v2")).body.map((q: { name: string }) => q.name);
    expect(one).toEqual(["http-elsewhere"]);
  });
});
