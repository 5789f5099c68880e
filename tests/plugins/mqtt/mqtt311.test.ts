// MQTT 3.1.1 with MQTT.js over TCP against Warren's rabbitmq_mqtt plugin: QoS 0 and 1 both ways,
// wildcards, $-topics, retained messages, sessions, auth, and the AMQP bridge in both directions.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import amqp from "amqplib";
import {
  closeClients,
  collect,
  connect,
  connectCollecting,
  type MqttBroker,
  refusedCode,
  sessionPresent,
  sleep,
  startMqttBroker,
} from "./helpers.ts";

let b: MqttBroker;
beforeAll(async () => {
  b = await startMqttBroker();
});
afterAll(() => b.stop());
afterEach(closeClients);

const auth = { authorization: "Basic " + Buffer.from("guest:guest").toString("base64") };
const api = async (path: string, init: RequestInit = {}) => {
  const r = await fetch(`${b.httpUrl}${path}`, { ...init, headers: { ...auth, "content-type": "application/json" } });
  const text = await r.text();
  return { status: r.status, body: text === "" ? undefined : JSON.parse(text) };
};

describe("MQTT 3.1.1", () => {
  test("QoS 0 and QoS 1 publish reach a subscriber", async () => {
    const sub = await connect(b.mqttUrl, { clientId: "t-sub1" });
    const got = collect(sub);
    expect(await sub.subscribeAsync({ "t1/a": { qos: 1 }, "t1/b": { qos: 0 } })).toEqual([
      { topic: "t1/a", qos: 1 },
      { topic: "t1/b", qos: 0 },
    ]);
    const pub = await connect(b.mqttUrl, { clientId: "t-pub1" });
    await pub.publishAsync("t1/a", "one", { qos: 1 });
    await pub.publishAsync("t1/b", "zero", { qos: 0 });
    const msgs = await got.next(2);
    expect(msgs.map((m) => [m.topic, m.payload, m.packet.qos, m.packet.retain])).toEqual([["t1/a", "one", 1, false], [
      "t1/b",
      "zero",
      0,
      false,
    ]]);
  });

  test("subscription QoS 2 is granted as 1; delivery QoS is the lower of publish and subscription", async () => {
    const sub = await connect(b.mqttUrl, { clientId: "t-sub2" });
    const got = collect(sub);
    expect(await sub.subscribeAsync("t2/#", { qos: 2 })).toEqual([{ topic: "t2/#", qos: 1 }]);
    const pub = await connect(b.mqttUrl, { clientId: "t-pub2" });
    await pub.publishAsync("t2/x", "q0", { qos: 0 });
    await pub.publishAsync("t2/y", "q1", { qos: 1 });
    const msgs = await got.next(2);
    expect(msgs.map((m) => m.packet.qos)).toEqual([0, 1]);
  });

  test("+ and # wildcards; $-topics are not matched by a leading wildcard", async () => {
    const sub = await connect(b.mqttUrl, { clientId: "t-sub3" });
    const got = collect(sub);
    await sub.subscribeAsync({ "+/w3/+": { qos: 1 }, "#": { qos: 0 } });
    const pub = await connect(b.mqttUrl, { clientId: "t-pub3" });
    await pub.publishAsync("$SYS/w3/x", "hidden", { qos: 1 });
    await pub.publishAsync("a/w3/b", "shown", { qos: 1 });
    await sleep(200);
    const msgs = await got.next(2);
    expect(msgs.every((m) => m.topic === "a/w3/b")).toBe(true);
    await sleep(100);
    expect(got.messages.some((m) => m.topic.startsWith("$"))).toBe(false);
  });

  test("retained messages: delivered on subscribe (wildcards too), replaced, cleared by an empty retained publish", async () => {
    const pub = await connect(b.mqttUrl, { clientId: "t-pub4" });
    await pub.publishAsync("t4/a", "first", { qos: 1, retain: true });
    await pub.publishAsync("t4/a", "second", { qos: 1, retain: true });
    await pub.publishAsync("t4/b", "other", { qos: 0, retain: true });
    const sub = await connect(b.mqttUrl, { clientId: "t-sub4" });
    const got = collect(sub);
    await sub.subscribeAsync("t4/+", { qos: 1 });
    const msgs = await got.next(2);
    expect(msgs.map((m) => [m.topic, m.payload, m.packet.retain]).sort()).toEqual([["t4/a", "second", true], ["t4/b", "other", true]]);
    await pub.publishAsync("t4/a", "", { qos: 1, retain: true });
    const sub2 = await connect(b.mqttUrl, { clientId: "t-sub4b" });
    const got2 = collect(sub2);
    await sub2.subscribeAsync("t4/#", { qos: 1 });
    expect((await got2.next(1)).map((m) => m.topic)).toEqual(["t4/b"]);
    await sleep(100);
    expect(got2.messages.length).toBe(1);
  });

  test("a live message to a subscriber has retain 0", async () => {
    const sub = await connect(b.mqttUrl, { clientId: "t-sub5" });
    const got = collect(sub);
    await sub.subscribeAsync("t5/x", { qos: 1 });
    const pub = await connect(b.mqttUrl, { clientId: "t-pub5" });
    await pub.publishAsync("t5/x", "live", { qos: 1, retain: true });
    expect((await got.next(1))[0]!.packet.retain).toBe(false);
    await pub.publishAsync("t5/x", "", { qos: 1, retain: true });
  });

  test("unsubscribe stops deliveries", async () => {
    const sub = await connect(b.mqttUrl, { clientId: "t-sub6" });
    const got = collect(sub);
    await sub.subscribeAsync("t6/x", { qos: 1 });
    await sub.unsubscribeAsync("t6/x");
    const pub = await connect(b.mqttUrl, { clientId: "t-pub6" });
    await pub.publishAsync("t6/x", "nobody", { qos: 1 });
    await sleep(200);
    expect(got.messages.length).toBe(0);
  });

  test("a persistent session keeps QoS 1 messages published while the client was away, and its subscriptions", async () => {
    const first = await connect(b.mqttUrl, { clientId: "t-persist", clean: false });
    await first.subscribeAsync("t7/#", { qos: 1 });
    await first.endAsync();
    const pub = await connect(b.mqttUrl, { clientId: "t-pub7" });
    for (let i = 0; i < 5; i++) await pub.publishAsync(`t7/${i}`, `m${i}`, { qos: 1 });
    const { client: again, got } = await connectCollecting(b.mqttUrl, { clientId: "t-persist", clean: false });
    expect(sessionPresent(again)).toBe(true);
    expect((await got.next(5)).map((m) => m.payload)).toEqual(["m0", "m1", "m2", "m3", "m4"]);
    await again.endAsync();
    const clean = await connect(b.mqttUrl, { clientId: "t-persist", clean: true });
    expect(sessionPresent(clean)).toBe(false);
    expect(b.broker.vhosts.get("/")!.queues.has("mqtt-subscription-t-persistqos1")).toBe(false);
  });

  test("clean session: queues go with the connection", async () => {
    const c = await connect(b.mqttUrl, { clientId: "t-clean", clean: true });
    await c.subscribeAsync({ "t8/a": { qos: 0 }, "t8/b": { qos: 1 } });
    const queues = b.broker.vhosts.get("/")!.queues;
    expect(queues.has("mqtt-subscription-t-cleanqos0")).toBe(true);
    expect(queues.has("mqtt-subscription-t-cleanqos1")).toBe(true);
    await c.endAsync();
    await sleep(50);
    expect(queues.has("mqtt-subscription-t-cleanqos0")).toBe(false);
    expect(queues.has("mqtt-subscription-t-cleanqos1")).toBe(false);
  });

  test("wrong password and unknown vhost get CONNACK 4, no access to the vhost 5", async () => {
    expect(await refusedCode(b.mqttUrl, { clientId: "t-bad", password: "nope" })).toBe(4);
    expect(await refusedCode(b.mqttUrl, { clientId: "t-bad", username: "nowhere:guest" })).toBe(4);
    b.broker.addUser("mqtt-noperm", "secret");
    expect(await refusedCode(b.mqttUrl, { clientId: "t-bad", username: "mqtt-noperm", password: "secret" })).toBe(5);
  });

  test("vhost:user names the vhost", async () => {
    await api("/api/vhosts/mqtt-vh", { method: "PUT" });
    await api("/api/permissions/mqtt-vh/guest", { method: "PUT", body: JSON.stringify({ configure: ".*", write: ".*", read: ".*" }) });
    const c = await connect(b.mqttUrl, { clientId: "t-vh", username: "mqtt-vh:guest" });
    await c.subscribeAsync("x", { qos: 1 });
    expect(b.broker.vhosts.get("mqtt-vh")!.queues.has("mqtt-subscription-t-vhqos1")).toBe(true);
  });

  test("a second connection with the same client id takes over", async () => {
    const first = await connect(b.mqttUrl, { clientId: "t-dup" });
    const closed = new Promise<void>((r) => first.once("close", () => r()));
    await connect(b.mqttUrl, { clientId: "t-dup" });
    await closed;
  });

  test("the will is published when the client goes without DISCONNECT, not after one", async () => {
    const watcher = await connect(b.mqttUrl, { clientId: "t-will-watch" });
    const got = collect(watcher);
    await watcher.subscribeAsync("t9/will", { qos: 1 });
    const polite = await connect(b.mqttUrl, {
      clientId: "t-will1",
      will: { topic: "t9/will", payload: Buffer.from("polite"), qos: 1, retain: false },
    });
    await polite.endAsync();
    const rude = await connect(b.mqttUrl, {
      clientId: "t-will2",
      will: { topic: "t9/will", payload: Buffer.from("rude"), qos: 1, retain: false },
    });
    rude.stream.destroy();
    expect((await got.next(1)).map((m) => m.payload)).toEqual(["rude"]);
    await sleep(100);
    expect(got.messages.length).toBe(1);
  });
});

describe("the AMQP bridge", () => {
  test("an MQTT publish reaches AMQP on amq.topic: / and . swapped, x-mqtt-publish-qos, x-mqtt-dup, delivery mode", async () => {
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    const q = await ch.assertQueue("", { exclusive: true });
    await ch.bindQueue(q.queue, "amq.topic", "b1.#");
    const pub = await connect(b.mqttUrl, { clientId: "t-bridge1" });
    await pub.publishAsync("b1/x.y/z", "q1", { qos: 1 });
    await pub.publishAsync("b1/zero", "q0", { qos: 0 });
    await sleep(100);
    const m1 = (await ch.get(q.queue, { noAck: true })) as amqp.GetMessage;
    const m0 = (await ch.get(q.queue, { noAck: true })) as amqp.GetMessage;
    expect(m1.fields.routingKey).toBe("b1.x/y.z");
    expect(m1.properties.headers).toEqual({ "x-mqtt-publish-qos": 1, "x-mqtt-dup": false });
    expect(m1.properties.deliveryMode).toBe(2);
    expect(m0.fields.routingKey).toBe("b1.zero");
    expect(m0.properties.headers).toEqual({ "x-mqtt-publish-qos": 0, "x-mqtt-dup": false });
    expect(m0.properties.deliveryMode).toBe(1);
    await conn.close();
  });

  test("an AMQP publish to amq.topic reaches MQTT subscribers", async () => {
    const sub = await connect(b.mqttUrl, { clientId: "t-bridge2" });
    const got = collect(sub);
    await sub.subscribeAsync("b2/+/c", { qos: 1 });
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    ch.publish("amq.topic", "b2.a/b.c", Buffer.from("from amqp"), { deliveryMode: 2 });
    const [m] = await got.next(1);
    expect([m!.topic, m!.payload, m!.packet.qos]).toEqual(["b2/a.b/c", "from amqp", 1]);
    await conn.close();
  });

  test("subscription queues and bindings as RabbitMQ names them", async () => {
    const c = await connect(b.mqttUrl, { clientId: "t-names", clean: false });
    await c.subscribeAsync({ "n/+/x": { qos: 1 }, "n/zero": { qos: 0 } });
    const res = await api("/api/queues/%2F/mqtt-subscription-t-namesqos1");
    expect(res.status).toBe(200);
    const q1 = res.body;
    expect([q1.durable, q1.auto_delete, q1.arguments]).toEqual([true, false, { "x-expires": 86400000 }]);
    const bindings = (await api("/api/queues/%2F/mqtt-subscription-t-namesqos1/bindings")).body as {
      source: string;
      routing_key: string;
    }[];
    expect(bindings.filter((x) => x.source === "amq.topic").map((x) => x.routing_key)).toEqual(["n.*.x"]);
    await c.endAsync();
    await connect(b.mqttUrl, { clientId: "t-names", clean: true });
  });

  test("QoS 1 PUBACK only once the message is committed: a durable queue holds it", async () => {
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    await ch.assertQueue("mqtt-commit-q", { durable: true });
    await ch.bindQueue("mqtt-commit-q", "amq.topic", "commit.#");
    const pub = await connect(b.mqttUrl, { clientId: "t-commit" });
    const stored: number[] = [];
    const store = b.broker.store!;
    const original = store.afterCommit.bind(store);
    let commits = 0;
    store.afterCommit = (fn) =>
      original(() => {
        commits++;
        fn();
      });
    await pub.publishAsync("commit/x", "durable", { qos: 1 });
    store.afterCommit = original;
    stored.push(commits);
    expect(stored[0]).toBeGreaterThan(0);
    expect((await ch.checkQueue("mqtt-commit-q")).messageCount).toBe(1);
    await ch.deleteQueue("mqtt-commit-q");
    await conn.close();
  });
});

describe("management", () => {
  test("/api/connections lists MQTT connections with protocol and client id; DELETE closes one", async () => {
    const c = await connect(b.mqttUrl, { clientId: "t-mgmt" });
    const closed = new Promise<void>((r) => c.once("close", () => r()));
    const list = (await api("/api/connections")).body as {
      name: string;
      protocol: string;
      client_properties: { client_id: string };
      user: string;
      vhost: string;
    }[];
    const mine = list.find((x) => x.client_properties?.client_id === "t-mgmt")!;
    expect([mine.protocol, mine.user, mine.vhost]).toEqual(["MQTT 3.1.1", "guest", "/"]);
    const one = await api(`/api/connections/${encodeURIComponent(mine.name)}`);
    expect(one.body.protocol).toBe("MQTT 3.1.1");
    expect((await api(`/api/connections/${encodeURIComponent(mine.name)}`, { method: "DELETE" })).status).toBe(204);
    await closed;
  });

  test("/metrics counts MQTT connections and messages per protocol version", async () => {
    const c = await connect(b.mqttUrl, { clientId: "t-metrics" });
    await c.publishAsync("metrics/x", "m", { qos: 1 });
    const text = await (await fetch(`http://127.0.0.1:${b.metricsPort}/metrics`)).text();
    expect(text).toMatch(/^rabbitmq_mqtt_connections\{protocol_version="3.1.1"\} [1-9]/m);
    expect(text).toMatch(/^rabbitmq_mqtt_messages_received_total\{protocol="mqtt"\} [1-9]/m);
    expect(text).toMatch(/^rabbitmq_mqtt_connections_opened_total\{protocol="mqtt311"\} [1-9]/m);
  });
});

describe("two brokers in one process", () => {
  test("each has its own MQTT plugin state; stopping one leaves the other serving", async () => {
    const other = await startMqttBroker();
    expect(other.mqttPort).not.toBe(b.mqttPort);
    await other.stop();
    const c = await connect(b.mqttUrl, { clientId: "t-two" });
    const got = collect(c);
    await c.subscribeAsync("two/x", { qos: 1 });
    await c.publishAsync("two/x", "still here", { qos: 1 });
    expect((await got.next(1))[0]!.payload).toBe("still here");
  });
});
