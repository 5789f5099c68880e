// Connections, channels and consumers over real HTTP, with real AMQP clients.
import { afterAll, beforeAll, expect, test } from "bun:test";
import amqp from "amqplib";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api } from "../helpers/http.ts";

let tb: TestBroker;
let conn: amqp.ChannelModel;
let ch: amqp.ConfirmChannel;

beforeAll(async () => {
  tb = await startTestBroker();
  conn = await amqp.connect(tb.url, { clientProperties: { connection_name: "http-test" } });
  ch = await conn.createConfirmChannel();
  await ch.prefetch(7);
  await ch.assertQueue("http-cq", { durable: false });
  await ch.consume("http-cq", () => {}, { consumerTag: "http-c1", noAck: false });
});
afterAll(async () => {
  await conn.close().catch(() => {});
  await tb.stop();
});

test("the management API listens on its own port and answers over HTTP", async () => {
  expect(tb.httpPort).toBeGreaterThan(0);
  expect(tb.httpPort).not.toBe(tb.port);
  expect((await api(tb.httpUrl, "GET", "/api/overview")).status).toBe(200);
});

test("GET /api/connections shows the client as RabbitMQ does", async () => {
  const list = (await api(tb.httpUrl, "GET", "/api/connections")).body;
  expect(list).toHaveLength(1);
  const c = list[0];
  expect(c).toMatchObject({
    user: "guest",
    vhost: "/",
    protocol: "AMQP 0-9-1",
    state: "running",
    auth_mechanism: "PLAIN",
    channels: 1,
    port: tb.port,
    peer_host: "127.0.0.1",
    frame_max: 131072,
    timeout: 60,
    ssl: false,
  });
  expect(c.name).toBe(`127.0.0.1:${c.peer_port} -> 127.0.0.1:${tb.port}`);
  expect(c.client_properties.product).toBe("amqplib");
  expect(c.client_properties.connection_name).toBe("http-test");
  expect(c.recv_oct).toBeGreaterThan(0);
  const one = await api(tb.httpUrl, "GET", `/api/connections/${encodeURIComponent(c.name)}`);
  expect(one.body.name).toBe(c.name);
});

test("channels and consumers", async () => {
  const channels = (await api(tb.httpUrl, "GET", "/api/channels")).body;
  expect(channels).toHaveLength(1);
  expect(channels[0]).toMatchObject({
    number: 1,
    confirm: true,
    transactional: false,
    consumer_count: 1,
    prefetch_count: 7,
    user: "guest",
    vhost: "/",
    state: "running",
  });
  ch.sendToQueue("http-cq", Buffer.from("x"));
  await ch.waitForConfirms();
  for (let i = 0; i < 100 && (await api(tb.httpUrl, "GET", "/api/channels")).body[0].message_stats.deliver < 1; i++) await Bun.sleep(5);
  const stats = (await api(tb.httpUrl, "GET", "/api/channels")).body[0].message_stats;
  expect(stats).toMatchObject({ publish: 1, confirm: 1, deliver: 1, deliver_get: 1, ack: 0, drop_unroutable: 0 });
  const consumers = (await api(tb.httpUrl, "GET", "/api/consumers/%2F")).body;
  expect(consumers).toHaveLength(1);
  expect(consumers[0]).toMatchObject({
    consumer_tag: "http-c1",
    ack_required: true,
    exclusive: false,
    prefetch_count: 7,
    active: true,
    queue: { name: "http-cq", vhost: "/" },
  });
  expect(consumers[0].channel_details.name).toBe(channels[0].name);
  expect((await api(tb.httpUrl, "GET", `/api/connections/${encodeURIComponent(channels[0].connection_details.name)}/channels`)).body)
    .toHaveLength(1);
});

test("DELETE closes the connection with 320 and the X-Reason text", async () => {
  const list = (await api(tb.httpUrl, "GET", "/api/connections")).body;
  conn.on("error", () => {}); // amqplib reports a server close on "close" (and may on "error")
  const closed = new Promise<Error>((resolve) => conn.on("close", resolve));
  const r = await api(tb.httpUrl, "DELETE", `/api/connections/${encodeURIComponent(list[0].name)}`, undefined, undefined, {
    "x-reason": "http test says bye",
  });
  expect(r.status).toBe(204);
  const err = (await closed) as Error & { code?: number };
  expect(err.code).toBe(320);
  expect(err.message).toContain("CONNECTION_FORCED - http test says bye");
  for (let i = 0; i < 100 && (await api(tb.httpUrl, "GET", "/api/connections")).body.length > 0; i++) await Bun.sleep(10);
  expect((await api(tb.httpUrl, "GET", "/api/connections")).body).toEqual([]);
});

test("broker.stop() stops the HTTP listeners", async () => {
  const url = tb.httpUrl;
  const metrics = `http://127.0.0.1:${tb.metricsPort}/metrics`;
  await tb.stop();
  await expect(fetch(url + "/api/overview")).rejects.toThrow();
  await expect(fetch(metrics)).rejects.toThrow();
});
