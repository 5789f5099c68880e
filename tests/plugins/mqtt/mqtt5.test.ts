// MQTT 5.0 with MQTT.js against Warren's rabbitmq_mqtt plugin: reason codes, properties carried
// through (and across the AMQP bridge), topic aliases, subscription options, receive maximum,
// maximum packet size, message expiry, session expiry, will delay.
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
  subackCodes,
} from "./helpers.ts";

let b: MqttBroker;
beforeAll(async () => {
  b = await startMqttBroker();
});
afterAll(() => b.stop());
afterEach(closeClients);

const v5 = { protocolVersion: 5 as const };

describe("MQTT 5.0", () => {
  test("CONNACK reason codes: bad credentials 0x86 (an unknown vhost too), not authorized 0x87", async () => {
    expect(await refusedCode(b.mqttUrl, { ...v5, clientId: "f-bad", password: "nope" })).toBe(0x86);
    expect(await refusedCode(b.mqttUrl, { ...v5, clientId: "f-bad", username: "nowhere:guest" })).toBe(0x86);
    b.broker.addUser("mqtt-v5-noperm", "secret");
    expect(await refusedCode(b.mqttUrl, { ...v5, clientId: "f-bad", username: "mqtt-v5-noperm", password: "secret" })).toBe(0x87);
  });

  test("CONNACK announces maximum QoS 1, topic alias maximum, no shared subscriptions; an empty client id is assigned", async () => {
    const c = await connect(b.mqttUrl, { ...v5, clientId: "" });
    const props = (c as unknown as { connackPacket: { properties: Record<string, unknown> } }).connackPacket.properties;
    expect(props.maximumQoS).toBe(1);
    expect(props.topicAliasMaximum).toBe(16);
    expect(props.sharedSubscriptionAvailable).toBe(false);
    expect(String(props.assignedClientIdentifier)).toStartWith("warren-");
  });

  test("properties reach an MQTT 5 subscriber: user properties, content type, response topic, correlation data, payload format", async () => {
    const sub = await connect(b.mqttUrl, { ...v5, clientId: "f-sub1" });
    const got = collect(sub);
    await sub.subscribeAsync("p1/#", { qos: 1 });
    const pub = await connect(b.mqttUrl, { ...v5, clientId: "f-pub1" });
    await pub.publishAsync("p1/x", "body", {
      qos: 1,
      properties: {
        userProperties: { color: "red" },
        contentType: "text/plain",
        responseTopic: "p1/reply",
        correlationData: Buffer.from([0xff, 0x00, 0x01]),
        payloadFormatIndicator: true,
      },
    });
    const [m] = await got.next(1);
    const p = m!.packet.properties as Record<string, unknown>;
    expect(p.userProperties).toEqual({ color: "red" });
    expect(p.contentType).toBe("text/plain");
    expect(p.responseTopic).toBe("p1/reply");
    expect([...(p.correlationData as Buffer)]).toEqual([0xff, 0x00, 0x01]);
    expect(p.payloadFormatIndicator).toBe(true);
  });

  test("MQTT 5 properties on the AMQP side: content_type, correlation_id, expiration, user properties as headers", async () => {
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    const q = await ch.assertQueue("", { exclusive: true });
    await ch.bindQueue(q.queue, "amq.topic", "p2.#");
    const pub = await connect(b.mqttUrl, { ...v5, clientId: "f-pub2" });
    await pub.publishAsync("p2/x", "body", {
      qos: 1,
      properties: {
        userProperties: { k: "v" },
        contentType: "application/json",
        correlationData: Buffer.from("abc"),
        messageExpiryInterval: 60,
      },
    });
    await sleep(50);
    const m = (await ch.get(q.queue, { noAck: true })) as amqp.GetMessage;
    expect(m.properties.contentType).toBe("application/json");
    expect(m.properties.correlationId).toBe("abc");
    expect(m.properties.expiration).toBe("60000");
    expect(m.properties.headers).toEqual({ "x-mqtt-publish-qos": 1, "x-mqtt-dup": false, k: "v" });
    await conn.close();
  });

  test("topic aliases: set with a topic, then used with an empty topic", async () => {
    const sub = await connect(b.mqttUrl, { ...v5, clientId: "f-sub3" });
    const got = collect(sub);
    await sub.subscribeAsync("p3/+", { qos: 1 });
    const pub = await connect(b.mqttUrl, { ...v5, clientId: "f-pub3" });
    await pub.publishAsync("p3/aliased", "one", { qos: 1, properties: { topicAlias: 3 } });
    await pub.publishAsync("", "two", { qos: 1, properties: { topicAlias: 3 } });
    expect((await got.next(2)).map((m) => [m.topic, m.payload])).toEqual([["p3/aliased", "one"], ["p3/aliased", "two"]]);
  });

  test("no-local: a client does not receive its own publishes", async () => {
    const c = await connect(b.mqttUrl, { ...v5, clientId: "f-nolocal" });
    const got = collect(c);
    await c.subscribeAsync("p4/x", { qos: 1, nl: true });
    await c.publishAsync("p4/x", "mine", { qos: 1 });
    const other = await connect(b.mqttUrl, { ...v5, clientId: "f-other" });
    await other.publishAsync("p4/x", "theirs", { qos: 1 });
    expect((await got.next(1)).map((m) => m.payload)).toEqual(["theirs"]);
    await sleep(100);
    expect(got.messages.length).toBe(1);
  });

  test("retain-as-published keeps the retain flag on live messages; retain handling 2 sends no retained messages", async () => {
    const pub = await connect(b.mqttUrl, { ...v5, clientId: "f-pub5" });
    await pub.publishAsync("p5/r", "kept", { qos: 1, retain: true });
    const sub = await connect(b.mqttUrl, { ...v5, clientId: "f-sub5" });
    const got = collect(sub);
    await sub.subscribeAsync("p5/r", { qos: 1, rap: true, rh: 2 });
    await pub.publishAsync("p5/r", "live", { qos: 1, retain: true });
    const [m] = await got.next(1);
    expect([m!.payload, m!.packet.retain]).toEqual(["live", true]);
    await pub.publishAsync("p5/r", "", { qos: 1, retain: true });
  });

  test("retain handling 1 sends retained messages only for a new subscription", async () => {
    const pub = await connect(b.mqttUrl, { ...v5, clientId: "f-pub6" });
    await pub.publishAsync("p6/r", "kept", { qos: 1, retain: true });
    const sub = await connect(b.mqttUrl, { ...v5, clientId: "f-sub6" });
    const got = collect(sub);
    await sub.subscribeAsync("p6/r", { qos: 1, rh: 1 });
    await got.next(1);
    await sub.subscribeAsync("p6/r", { qos: 1, rh: 1 });
    await sleep(100);
    expect(got.messages.length).toBe(1);
    await pub.publishAsync("p6/r", "", { qos: 1, retain: true });
  });

  test("receive maximum limits QoS 1 messages in flight to the client", async () => {
    const { client: sub, got } = await connectCollecting(b.mqttUrl, { ...v5, clientId: "f-recvmax", properties: { receiveMaximum: 2 } });
    // Hold PUBACKs: MQTT.js acks through handleMessage; delay it.
    const held: (() => void)[] = [];
    (sub as unknown as { handleMessage: (p: unknown, cb: () => void) => void }).handleMessage = (_p, cb) => void held.push(cb);
    await sub.subscribeAsync("p7/#", { qos: 1 });
    const pub = await connect(b.mqttUrl, { ...v5, clientId: "f-pub7" });
    for (let i = 0; i < 5; i++) await pub.publishAsync(`p7/${i}`, `m${i}`, { qos: 1 });
    await sleep(200);
    // Two in flight (MQTT.js reads one at a time, holding the next until the first is handled),
    // three still ready in the queue.
    const queue = b.broker.vhosts.get("/")!.queues.get("mqtt-subscription-f-recvmaxqos1")!;
    expect(queue.messageCount).toBe(3);
    for (let i = 0; i < 5; i++) {
      while (held.length === 0) await sleep(10);
      held.shift()!();
    }
    await got.next(5);
  });

  test("unsubscribe of an unknown filter gets reason 0x11", async () => {
    const c = await connect(b.mqttUrl, { ...v5, clientId: "f-unsub" });
    const packet = await c.unsubscribeAsync("never/subscribed");
    expect(
      (packet as unknown as { reasonCode?: number; granted?: number[] })?.reasonCode ?? (packet as { granted?: number[] })?.granted?.[0],
    ).toBe(0x11);
  });

  test("a shared subscription is refused with 0x9E", async () => {
    const c = await connect(b.mqttUrl, { ...v5, clientId: "f-shared" });
    expect(await subackCodes(c, "$share/g/p8")).toEqual([0x9e]);
  });

  test("session expiry: a session with expiry comes back; expiry 0 ends with the connection", async () => {
    const first = await connect(b.mqttUrl, { ...v5, clientId: "f-sess", clean: false, properties: { sessionExpiryInterval: 300 } });
    await first.subscribeAsync("p9/x", { qos: 1 });
    await first.endAsync();
    const q = b.broker.vhosts.get("/")!.queues.get("mqtt-subscription-f-sessqos1")!;
    expect(q.args["x-expires"]).toBe(300_000);
    const second = await connect(b.mqttUrl, { ...v5, clientId: "f-sess", clean: false });
    expect(sessionPresent(second)).toBe(true);
    await second.endAsync();
    await sleep(50);
    expect(b.broker.vhosts.get("/")!.queues.has("mqtt-subscription-f-sessqos1")).toBe(false);
  });

  test("will delay: the will waits, and a reconnect within the delay cancels it", async () => {
    const watcher = await connect(b.mqttUrl, { ...v5, clientId: "f-watch" });
    const got = collect(watcher);
    await watcher.subscribeAsync("p10/will", { qos: 1 });
    const will = { topic: "p10/will", payload: Buffer.from("late"), qos: 1 as const, retain: false, properties: { willDelayInterval: 1 } };
    const a = await connect(b.mqttUrl, { ...v5, clientId: "f-will-a", will });
    a.stream.destroy();
    const c = await connect(b.mqttUrl, { ...v5, clientId: "f-will-c", will: { ...will, payload: Buffer.from("cancelled") } });
    c.stream.destroy();
    await sleep(100);
    await connect(b.mqttUrl, { ...v5, clientId: "f-will-c" });
    expect(got.messages.length).toBe(0);
    expect((await got.next(1, 3000)).map((m) => m.payload)).toEqual(["late"]);
    await sleep(1200);
    expect(got.messages.length).toBe(1);
  });

  test("message expiry: an expired message is not delivered; a live one carries the remaining interval", async () => {
    const first = await connect(b.mqttUrl, { ...v5, clientId: "f-exp", clean: false, properties: { sessionExpiryInterval: 300 } });
    await first.subscribeAsync("p11/#", { qos: 1 });
    await first.endAsync();
    const pub = await connect(b.mqttUrl, { ...v5, clientId: "f-pub11" });
    await pub.publishAsync("p11/short", "gone", { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.publishAsync("p11/long", "here", { qos: 1, properties: { messageExpiryInterval: 100 } });
    await sleep(2100);
    const { got } = await connectCollecting(b.mqttUrl, {
      ...v5,
      clientId: "f-exp",
      clean: false,
      properties: { sessionExpiryInterval: 0 },
    });
    const [m] = await got.next(1);
    expect(m!.payload).toBe("here");
    const left = (m!.packet.properties as { messageExpiryInterval: number }).messageExpiryInterval;
    expect(left).toBeLessThanOrEqual(98);
    expect(left).toBeGreaterThan(0);
    await sleep(100);
    expect(got.messages.length).toBe(1);
  });
});

describe("full queues", () => {
  test("a publish a full queue rejects (x-overflow reject-publish): 5.0 PUBACK 0x97", async () => {
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    await ch.assertQueue("mqtt-full-q", { durable: true, arguments: { "x-max-length": 1, "x-overflow": "reject-publish" } });
    await ch.bindQueue("mqtt-full-q", "amq.topic", "full.#");
    const pub = await connect(b.mqttUrl, { ...v5, clientId: "f-full" });
    await pub.publishAsync("full/a", "fits", { qos: 1 });
    const code = await pub.publishAsync("full/b", "rejected", { qos: 1 }).then(() => 0, (e: { code?: number }) => e.code);
    expect(code).toBe(0x97);
    await ch.deleteQueue("mqtt-full-q");
    await conn.close();
  });
});
