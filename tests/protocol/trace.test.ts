// Firehose tracing (PUT /api/vhosts/{vhost} {"tracing": true}, warren ctl trace_on) against Warren
// and, when RABBITMQ_REF_URL/RABBITMQ_REF_HTTP are set, the reference RabbitMQ with the same
// assertions: publishes and deliveries (consume and get) copied to amq.rabbitmq.trace with
// rabbit_trace's routing keys and headers; trace messages are not traced again; off stops it.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import amqp, { type GetMessage } from "amqplib";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api, basic } from "../helpers/http.ts";

setDefaultTimeout(30_000);

const REF_URL = process.env.RABBITMQ_REF_URL;
const REF_HTTP = process.env.RABBITMQ_REF_HTTP;
if (!REF_URL || !REF_HTTP) console.warn("RABBITMQ_REF_URL/RABBITMQ_REF_HTTP unset: tracing tests run against Warren only");

let b: TestBroker;
beforeAll(async () => {
  b = await startTestBroker();
});
afterAll(async () => {
  await b.stop();
});

const refHttp = () => {
  const u = new URL(REF_HTTP!);
  return { base: `${u.protocol}//${u.host}`, auth: basic(decodeURIComponent(u.username), decodeURIComponent(u.password)) };
};
const targets = [
  { name: "Warren", amqp: () => b.url, http: () => ({ base: b.httpUrl, auth: basic("guest", "guest") }) },
  ...(REF_URL && REF_HTTP ? [{ name: "RabbitMQ", amqp: () => REF_URL, http: refHttp }] : []),
];

for (const target of targets) {
  describe(`firehose tracing on ${target.name}`, () => {
    test("publishes and deliveries are copied to amq.rabbitmq.trace with rabbit_trace's keys and headers", async () => {
      const { base, auth } = target.http();
      const vhost = `trace-test-${process.pid}-${Date.now()}`;
      const call = (method: string, path: string, body?: unknown) => api(base, method, path, body, auth);
      expect((await call("PUT", `/api/vhosts/${vhost}`, { tracing: true })).status).toBe(201);
      await call("PUT", `/api/permissions/${vhost}/guest`, { configure: ".*", write: ".*", read: ".*" });
      try {
        expect((await call("GET", `/api/vhosts/${vhost}`)).body.tracing).toBe(true);
        const conn = await amqp.connect(`${target.amqp()}/${vhost}`);
        const ch = await conn.createConfirmChannel();
        await ch.assertQueue("tq", { durable: false });
        await ch.bindQueue("tq", "amq.rabbitmq.trace", "#");
        await ch.assertQueue("work");
        await ch.assertQueue("work2");
        ch.publish("", "work", Buffer.from("hello"), { contentType: "text/plain", headers: { a: 1 }, CC: ["work2"] });
        await ch.waitForConfirms();
        const got = await ch.get("work", { noAck: false });
        ch.ack(got as GetMessage);
        ch.publish("amq.direct", "nowhere", Buffer.from("x"));
        await ch.waitForConfirms();
        const consumed = new Promise<void>((resolve) => void ch.consume("work2", () => resolve(), { noAck: true }));
        await consumed;
        await new Promise((r) => setTimeout(r, 300));
        const traces: { key: string; headers: Record<string, unknown>; body: string }[] = [];
        for (let t = await ch.get("tq", { noAck: true }); t; t = await ch.get("tq", { noAck: true })) {
          const { node, connection, vhost: v, ...headers } = t.properties.headers as Record<string, unknown>;
          expect([typeof node, typeof connection, v, t.fields.exchange]).toEqual(["string", "string", vhost, "amq.rabbitmq.trace"]);
          traces.push({ key: t.fields.routingKey, headers, body: t.content.toString() });
        }
        const properties = { headers: { CC: ["work2"], a: 1 }, content_type: "text/plain" };
        const party = { channel: 1, user: "guest" };
        expect(traces).toEqual([
          {
            key: "publish.",
            headers: { exchange_name: "", routing_keys: ["work", "work2"], properties, ...party, routed_queues: ["work", "work2"] },
            body: "hello",
          },
          {
            key: "deliver.work",
            headers: { exchange_name: "", routing_keys: ["work", "work2"], properties, redelivered: 0, ...party },
            body: "hello",
          },
          {
            key: "publish.amq.direct",
            headers: { exchange_name: "amq.direct", routing_keys: ["nowhere"], properties: { headers: {} }, ...party, routed_queues: [] },
            body: "x",
          },
          {
            key: "deliver.work2",
            headers: { exchange_name: "", routing_keys: ["work", "work2"], properties, redelivered: 0, ...party },
            body: "hello",
          },
        ]);
        // Off: nothing more is copied.
        expect((await call("PUT", `/api/vhosts/${vhost}`, { tracing: false })).status).toBe(204);
        ch.publish("", "work", Buffer.from("untraced"));
        await ch.waitForConfirms();
        await new Promise((r) => setTimeout(r, 200));
        expect(await ch.get("tq", { noAck: true })).toBe(false);
        await conn.close();
      } finally {
        await call("DELETE", `/api/vhosts/${vhost}`);
      }
    });
  });
}
