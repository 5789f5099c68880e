// The delayed-message management surface over real HTTP: messages_delayed in the exchange's
// JSON, the listing of held messages (due order, paging, properties, body preview), deleting one
// and purging all, the permissions they need (read to list, configure to delete), the Prometheus
// gauge, definitions round trips, and a graceful restart (persistent held messages come back,
// transient ones do not, as in queues).
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import amqp, { type Channel, type ChannelModel } from "amqplib";
import { AMQPClient } from "@cloudamqp/amqp-client";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api, basic } from "../helpers/http.ts";
import { cleanupRestartBrokers, connect, start, stop, tempDir } from "../helpers/restart_brokers.ts";

setDefaultTimeout(30_000);

const brokers: TestBroker[] = [];
const conns: ChannelModel[] = [];
afterEach(async () => {
  for (const c of conns.splice(0)) await c.close().catch(() => {});
  for (const b of brokers.splice(0)) await b.stop();
});
afterAll(cleanupRestartBrokers);

async function open(): Promise<{ b: TestBroker; ch: Channel }> {
  const b = await startTestBroker();
  brokers.push(b);
  const conn = await amqp.connect(b.url);
  conns.push(conn);
  return { b, ch: await conn.createChannel() };
}

async function delayedExchange(ch: Channel, name: string): Promise<void> {
  await ch.assertExchange(name, "x-delayed-message", { durable: true, arguments: { "x-delayed-type": "direct" } });
  await ch.assertQueue(`${name}-q`, { durable: true });
  await ch.bindQueue(`${name}-q`, name, "k");
}

describe("listing held messages", () => {
  test("in due order with paging, properties, size and a body preview", async () => {
    const { b, ch } = await open();
    await delayedExchange(ch, "delayed-list");
    for (const [i, d] of [30_000, 10_000, 20_000, 40_000, 50_000].entries()) {
      ch.publish("delayed-list", "k", Buffer.from(`body-${i}`), {
        headers: { "x-delay": d, tag: `t${i}` },
        persistent: i % 2 === 0,
        contentType: "text/plain",
        messageId: `id-${i}`,
      });
    }
    ch.publish("delayed-list", "k", Buffer.concat([Buffer.from([0, 1, 2]), Buffer.alloc(400, 7)]), { headers: { "x-delay": 60_000 } });
    await ch.checkExchange("delayed-list");
    const x = await api(b.httpUrl, "GET", "/api/exchanges/%2F/delayed-list");
    expect(x.body.messages_delayed).toBe(6);
    const page1 = await api(b.httpUrl, "GET", "/api/exchanges/%2F/delayed-list/delayed?page=1&page_size=4");
    expect(page1.status).toBe(200);
    expect(page1.body).toMatchObject({ page: 1, page_size: 4, page_count: 2, total_count: 6, item_count: 4 });
    expect(page1.body.items.map((m: { properties: { message_id: string } }) => m.properties.message_id)).toEqual([
      "id-1",
      "id-2",
      "id-0",
      "id-3",
    ]);
    const first = page1.body.items[0];
    expect(first).toMatchObject({
      delay: 10_000,
      routing_key: "k",
      payload: "body-1",
      payload_encoding: "string",
      payload_bytes: 6,
      payload_truncated: false,
      stored: "memory",
    });
    expect(first.properties).toMatchObject({ content_type: "text/plain", headers: { "x-delay": 10_000, tag: "t1" } });
    expect(Date.parse(first.due) - Date.now()).toBeGreaterThan(5_000);
    expect(page1.body.items[1].stored).toBe("disk");
    const page2 = await api(b.httpUrl, "GET", "/api/exchanges/%2F/delayed-list/delayed?page=2&page_size=4");
    expect(page2.body.items.length).toBe(2);
    const binary = page2.body.items[1];
    expect(binary).toMatchObject({ payload_encoding: "base64", payload_bytes: 403, payload_truncated: true });
    expect(Buffer.from(binary.payload, "base64").length).toBe(256);
    expect((await api(b.httpUrl, "GET", "/api/exchanges/%2F/delayed-list/delayed?page_size=501")).status).toBe(400);
    expect((await api(b.httpUrl, "GET", "/api/exchanges/%2F/amq.direct/delayed")).status).toBe(400);
    expect((await api(b.httpUrl, "GET", "/api/exchanges/%2F/delayed-none/delayed")).status).toBe(404);
  });

  test("delete one, purge all; read permission to list, configure to delete", async () => {
    const { b, ch } = await open();
    await delayedExchange(ch, "delayed-del");
    for (let i = 0; i < 12; i++) {
      ch.publish("delayed-del", "k", Buffer.from(`${i}`), { headers: { "x-delay": 60_000 + i }, persistent: i < 6 });
    }
    await ch.checkExchange("delayed-del");
    await api(b.httpUrl, "PUT", "/api/users/delayed-reader", { password: "pw", tags: "management" });
    await api(b.httpUrl, "PUT", "/api/permissions/%2F/delayed-reader", { configure: "", write: "", read: ".*" });
    await api(b.httpUrl, "PUT", "/api/users/delayed-nobody", { password: "pw", tags: "management" });
    await api(b.httpUrl, "PUT", "/api/permissions/%2F/delayed-nobody", { configure: ".*", write: ".*", read: "^$" });
    const reader = basic("delayed-reader", "pw");
    const nobody = basic("delayed-nobody", "pw");
    const list = await api(b.httpUrl, "GET", "/api/exchanges/%2F/delayed-del/delayed", undefined, reader);
    expect(list.status).toBe(200);
    const [disk, , , , , , memory] = list.body.items as { id: number; stored: string }[];
    expect([disk!.stored, memory!.stored]).toEqual(["disk", "memory"]);
    expect((await api(b.httpUrl, "GET", "/api/exchanges/%2F/delayed-del/delayed", undefined, nobody)).status).toBe(401);
    expect((await api(b.httpUrl, "DELETE", `/api/exchanges/%2F/delayed-del/delayed/${disk!.id}`, undefined, reader)).status).toBe(401);
    expect((await api(b.httpUrl, "DELETE", `/api/exchanges/%2F/delayed-del/delayed/${disk!.id}`)).status).toBe(204);
    expect((await api(b.httpUrl, "DELETE", `/api/exchanges/%2F/delayed-del/delayed/${memory!.id}`)).status).toBe(204);
    expect((await api(b.httpUrl, "DELETE", `/api/exchanges/%2F/delayed-del/delayed/${disk!.id}`)).status).toBe(404);
    expect((await api(b.httpUrl, "DELETE", "/api/exchanges/%2F/delayed-del/delayed/abc")).status).toBe(404);
    expect((await api(b.httpUrl, "GET", "/api/exchanges/%2F/delayed-del")).body.messages_delayed).toBe(10);
    expect((await api(b.httpUrl, "DELETE", "/api/exchanges/%2F/delayed-del/delayed", undefined, reader)).status).toBe(401);
    const purge = await api(b.httpUrl, "DELETE", "/api/exchanges/%2F/delayed-del/delayed");
    expect(purge.body).toEqual({ purged: 10 });
    expect((await api(b.httpUrl, "GET", "/api/exchanges/%2F/delayed-del")).body.messages_delayed).toBe(0);
    expect((await api(b.httpUrl, "GET", "/api/exchanges/%2F/delayed-del/delayed")).body.items).toEqual([]);
  });

  test("the Prometheus gauge counts each exchange's held messages", async () => {
    const { b, ch } = await open();
    await delayedExchange(ch, "delayed-metric");
    for (let i = 0; i < 3; i++) ch.publish("delayed-metric", "k", Buffer.from("m"), { headers: { "x-delay": 60_000 }, persistent: i > 0 });
    await ch.checkExchange("delayed-metric");
    const text = await (await fetch(`http://127.0.0.1:${b.metricsPort}/metrics`)).text();
    expect(text).toContain("# TYPE rabbitmq_delayed_messages gauge");
    expect(text).toContain('rabbitmq_delayed_messages{vhost="/",exchange="delayed-metric"} 3');
  });
});

describe("definitions and restarts", () => {
  test("a delayed exchange and its policy keys round-trip through definitions", async () => {
    const { b, ch } = await open();
    await delayedExchange(ch, "delayed-defs");
    await api(b.httpUrl, "PUT", "/api/policies/%2F/delayed-defs-policy", {
      pattern: "^delayed-defs$",
      "apply-to": "exchanges",
      definition: { "delayed-max-delay": 5000, "delayed-overdue-dead-letter-exchange": "amq.fanout" },
    });
    const defs = (await api(b.httpUrl, "GET", "/api/definitions")).body;
    const other = (await open()).b;
    expect((await api(other.httpUrl, "POST", "/api/definitions", defs)).status).toBeLessThan(300);
    const x = await api(other.httpUrl, "GET", "/api/exchanges/%2F/delayed-defs");
    expect(x.body).toMatchObject({
      type: "x-delayed-message",
      durable: true,
      arguments: { "x-delayed-type": "direct" },
      policy: "delayed-defs-policy",
    });
    const again = (await api(other.httpUrl, "GET", "/api/definitions")).body;
    expect(again.exchanges).toEqual(defs.exchanges);
    expect(again.policies).toEqual(defs.policies);
  });

  test("after a graceful restart persistent held messages come back and are released; transient ones do not", async () => {
    const dir = await tempDir();
    let { broker, url } = await start(dir);
    let conn = await connect(url);
    let ch = await conn.createConfirmChannel();
    await delayedExchange(ch, "delayed-restart");
    ch.publish("delayed-restart", "k", Buffer.from("persistent"), { headers: { "x-delay": 1500 }, persistent: true });
    ch.publish("delayed-restart", "k", Buffer.from("transient"), { headers: { "x-delay": 1500 } });
    await ch.waitForConfirms();
    await conn.close();
    await stop(broker);
    ({ broker, url } = await start(dir));
    const http = `http://127.0.0.1:${broker.httpPort}`;
    expect((await api(http, "GET", "/api/exchanges/%2F/delayed-restart")).body.messages_delayed).toBe(1);
    conn = await connect(url);
    ch = await conn.createConfirmChannel();
    await Bun.sleep(1_800);
    const got = await ch.get("delayed-restart-q", { noAck: true });
    expect(got && got.content.toString()).toBe("persistent");
    expect(got && got.properties.headers?.["x-delay"]).toBe(-1500);
    expect(await ch.get("delayed-restart-q", { noAck: true })).toBe(false);
    await conn.close();
    await stop(broker);
  });
});

test("deleting a vhost drops what its delayed exchanges held", async () => {
  const { b } = await open();
  await api(b.httpUrl, "PUT", "/api/vhosts/delayed-vh");
  await api(b.httpUrl, "PUT", "/api/permissions/delayed-vh/guest", { configure: ".*", write: ".*", read: ".*" });
  const declare = async () => {
    const conn = await amqp.connect(`${b.url}/delayed-vh`);
    conns.push(conn);
    const ch = await conn.createChannel();
    await delayedExchange(ch, "delayed-x");
    return ch;
  };
  const ch = await declare();
  ch.publish("delayed-x", "k", Buffer.from("old"), { headers: { "x-delay": 400 }, persistent: true });
  await ch.checkExchange("delayed-x");
  expect((await api(b.httpUrl, "GET", "/api/exchanges/delayed-vh/delayed-x")).body.messages_delayed).toBe(1);
  expect((await api(b.httpUrl, "DELETE", "/api/vhosts/delayed-vh")).status).toBe(204);
  await api(b.httpUrl, "PUT", "/api/vhosts/delayed-vh");
  await api(b.httpUrl, "PUT", "/api/permissions/delayed-vh/guest", { configure: ".*", write: ".*", read: ".*" });
  const again = await declare();
  expect((await api(b.httpUrl, "GET", "/api/exchanges/delayed-vh/delayed-x")).body.messages_delayed).toBe(0);
  await Bun.sleep(600);
  expect((await again.checkQueue("delayed-x-q")).messageCount).toBe(0);
});

test("disabling the plugin stops releases and keeps what is held; enabling it again releases what fell due", async () => {
  const { b, ch } = await open();
  await delayedExchange(ch, "delayed-toggle");
  ch.publish("delayed-toggle", "k", Buffer.from("held"), { headers: { "x-delay": 300 }, persistent: true });
  await ch.checkExchange("delayed-toggle");
  const off = await api(b.httpUrl, "PUT", "/api/plugins/rabbitmq_delayed_message_exchange", { enabled: false });
  expect(off.status).toBeLessThan(300);
  await Bun.sleep(600);
  expect((await ch.checkQueue("delayed-toggle-q")).messageCount).toBe(0);
  expect((await api(b.httpUrl, "GET", "/api/exchanges/%2F/delayed-toggle/delayed")).status).toBe(404);
  const on = await api(b.httpUrl, "PUT", "/api/plugins/rabbitmq_delayed_message_exchange", { enabled: true });
  expect(on.status).toBeLessThan(300);
  await Bun.sleep(300);
  const got = await ch.get("delayed-toggle-q", { noAck: true });
  expect(got && got.content.toString()).toBe("held");
});

test("a transaction holds its delayed messages at commit", async () => {
  const { b, ch } = await open();
  await delayedExchange(ch, "delayed-tx");
  const client = await new AMQPClient(b.url).connect();
  try {
    const tx = await client.channel();
    await tx.txSelect();
    await tx.basicPublish("delayed-tx", "k", "in-tx", { headers: { "x-delay": 200 }, deliveryMode: 2 });
    await Bun.sleep(100);
    expect((await api(b.httpUrl, "GET", "/api/exchanges/%2F/delayed-tx")).body.messages_delayed).toBe(0);
    await tx.txCommit();
    expect((await api(b.httpUrl, "GET", "/api/exchanges/%2F/delayed-tx")).body.messages_delayed).toBe(1);
    await Bun.sleep(400);
    expect((await ch.checkQueue("delayed-tx-q")).messageCount).toBe(1);
  } finally {
    await client.close();
  }
});
