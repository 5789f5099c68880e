// Who may do what over MQTT: users and passwords, anonymous logins, vhost by user name and by
// port, permissions and topic permissions on the MQTT exchange, and MQTT over TLS with client
// certificates.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import amqp from "amqplib";
import { openWsTunnel } from "../../helpers/ws_tunnel.ts";
import { until } from "../../helpers/until.ts";
import { certificate, hasOpenssl, serverCertificates } from "../../helpers/certs.ts";
import { mqttPorts } from "../../../plugins/mqtt/mod.ts";
import { closeClients, collect, connect, type MqttBroker, refusedCode, sleep, startMqttBroker, subackCodes } from "./helpers.ts";

let b: MqttBroker;
beforeAll(async () => {
  b = await startMqttBroker();
  b.broker.addUser("mqtt-limited", "secret");
  b.broker.setPermissions("mqtt-limited", "/", { configure: "^mqtt-subscription-", write: ".*", read: ".*" });
  b.broker.setTopicPermissions("mqtt-limited", "/", "amq.topic", "^allowed\\.", "^readable\\.");
});
afterAll(() => b.stop());
afterEach(closeClients);

const limited = { username: "mqtt-limited", password: "secret" };

describe("MQTT permissions", () => {
  test("topic permission: 3.1.1 publish outside it closes the connection", async () => {
    const c = await connect(b.mqttUrl, { ...limited, clientId: "a-pub1" });
    await c.publishAsync("allowed/x", "ok", { qos: 1 });
    const closed = new Promise<void>((r) => c.once("close", () => r()));
    c.publish("forbidden/x", "no", { qos: 1 });
    await closed;
  });

  test("topic permission: 5.0 publish outside it gets PUBACK 0x87", async () => {
    const c = await connect(b.mqttUrl, { ...limited, clientId: "a-pub2", protocolVersion: 5 });
    const err = await c.publishAsync("forbidden/x", "no", { qos: 1 }).then(() => undefined, (e: { code?: number }) => e.code);
    expect(err).toBe(0x87);
  });

  test("topic permission on read: a subscription outside it gets SUBACK 0x80, one inside is granted", async () => {
    const c = await connect(b.mqttUrl, { ...limited, clientId: "a-sub1" });
    expect(await subackCodes(c, { "readable/#": { qos: 1 }, "secret/#": { qos: 1 } })).toEqual([1, 128]);
  });

  test("no configure permission on the subscription queue: SUBACK 0x80", async () => {
    b.broker.addUser("mqtt-noconf", "secret");
    b.broker.setPermissions("mqtt-noconf", "/", { configure: "^$", write: ".*", read: ".*" });
    const c = await connect(b.mqttUrl, { username: "mqtt-noconf", password: "secret", clientId: "a-sub2" });
    expect(await subackCodes(c, "x/y")).toEqual([128]);
  });

  test("no access to the vhost: CONNACK 5", async () => {
    b.broker.addUser("mqtt-nowhere", "secret");
    expect(await refusedCode(b.mqttUrl, { username: "mqtt-nowhere", password: "secret", clientId: "a-x" })).toBe(5);
  });

  test("anonymous clients log in as mqtt.default_user", async () => {
    const c = await connect(b.mqttUrl, { username: undefined, password: undefined, clientId: "a-anon" } as Record<string, unknown>);
    await sleep(20);
    const mine = [...b.broker.protocolConnections].find((x) =>
      x.describe().client_properties && (x.describe().client_properties as { client_id: string }).client_id === "a-anon"
    );
    expect(mine?.user?.name).toBe("guest");
    await c.endAsync();
  });
});

describe("MQTT settings", () => {
  test("allow_anonymous = false refuses a client without credentials (CONNACK 4)", async () => {
    await b.stop();
    b = await startMqttBroker({ pluginSettings: { "mqtt.allow_anonymous": "false" } });
    expect(await refusedCode(b.mqttUrl, { username: undefined, password: undefined, clientId: "s-anon" } as Record<string, unknown>)).toBe(
      4,
    );
  });

  test("the mqtt_port_to_vhost_mapping global parameter picks the vhost by port", async () => {
    b.broker.addVhost("mqtt-ported");
    b.broker.setPermissions("guest", "mqtt-ported", { configure: ".*", write: ".*", read: ".*" });
    b.broker.globalParameters.set("mqtt_port_to_vhost_mapping", { [String(b.mqttPort)]: "mqtt-ported" });
    const c = await connect(b.mqttUrl, { clientId: "s-port" });
    await c.subscribeAsync("p/q", { qos: 1 });
    expect(b.broker.vhosts.get("mqtt-ported")!.queues.has("mqtt-subscription-s-portqos1")).toBe(true);
    b.broker.globalParameters.set("mqtt_port_to_vhost_mapping", {});
  });

  test("mqtt.exchange sets the exchange MQTT publishes to", async () => {
    await b.stop();
    b = await startMqttBroker({ pluginSettings: { "mqtt.exchange": "amq.fanout" } });
    const sub = await connect(b.mqttUrl, { clientId: "s-ex" });
    const got = collect(sub);
    await sub.subscribeAsync("anything", { qos: 0 });
    expect(b.broker.vhosts.get("/")!.exchanges.get("amq.fanout")!.router.size).toBe(1);
    await sub.publishAsync("anything", "x", { qos: 1 });
    await got.next(1);
  });
});

describe.skipIf(!hasOpenssl)("MQTT over TLS", () => {
  let dir = "";
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("mqtt.listeners.ssl.default: a client certificate's CN is the user, no password needed", async () => {
    dir = mkdtempSync(join(tmpdir(), "warren-mqtt-tls-"));
    serverCertificates(dir);
    certificate(dir, "client", "guest", "ca");
    await b.stop();
    b = await startMqttBroker({
      tlsCert: join(dir, "server.pem"),
      tlsKey: join(dir, "server.key"),
      tlsCa: join(dir, "ca.pem"),
      tlsVerifyPeer: true,
      pluginSettings: { "mqtt.listeners.ssl.default": "0" },
    });
    const port = mqttPorts(b.broker).ssl!;
    const c = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {
      clientId: "tls-1",
      ca: readFileSync(join(dir, "ca.pem")),
      cert: readFileSync(join(dir, "client.pem")),
      key: readFileSync(join(dir, "client.key")),
      reconnectPeriod: 0,
      rejectUnauthorized: true,
      servername: "localhost",
    });
    const got = collect(c);
    await c.subscribeAsync("tls/x", { qos: 1 });
    await c.publishAsync("tls/x", "secure", { qos: 1 });
    expect((await got.next(1))[0]!.payload).toBe("secure");
    const conn = [...b.broker.protocolConnections][0]!.describe();
    expect([conn.user, conn.ssl]).toEqual(["guest", true]);
    await c.endAsync();
  });
});

describe("MQTT over WebSocket", () => {
  test("ws://<management port>/ws carries MQTT (subprotocol mqtt), bridged like TCP", async () => {
    const c = await mqtt.connectAsync(`ws://127.0.0.1:${b.httpPort}/ws`, {
      clientId: "ws-1",
      username: "guest",
      password: "guest",
      reconnectPeriod: 0,
    });
    const got = collect(c);
    await c.subscribeAsync("ws/+", { qos: 1 });
    const tcp = await connect(b.mqttUrl, { clientId: "ws-tcp" });
    await tcp.publishAsync("ws/x", "over tcp", { qos: 1 });
    await c.publishAsync("ws/y", "over ws", { qos: 1 });
    expect((await got.next(2)).map((m) => m.payload).sort()).toEqual(["over tcp", "over ws"]);
    const list = [...b.broker.protocolConnections].map((x) => x.describe());
    expect(list.find((x) => (x.client_properties as { client_id: string }).client_id === "ws-1")?.port).toBe(b.httpPort);
    await c.endAsync();
  });
});

describe("Web MQTT on a port of its own (web_mqtt.tcp.port, RabbitMQ's 15675)", () => {
  test("ws://<its port>/ws carries MQTT, anything else there is 404, and /api/overview lists http/web-mqtt", async () => {
    const w = await startMqttBroker({ pluginSettings: { "web_mqtt.tcp.port": "0", "web_mqtt.tcp.ip": "127.0.0.1" } });
    try {
      const port = mqttPorts(w.broker).web!;
      expect(port).toBeGreaterThan(0);
      const c = await mqtt.connectAsync(`ws://127.0.0.1:${port}/ws`, {
        clientId: "web-1",
        username: "guest",
        password: "guest",
        reconnectPeriod: 0,
      });
      const got = collect(c);
      await c.subscribeAsync("web/+", { qos: 1 });
      const tcp = await connect(w.mqttUrl, { clientId: "web-tcp" });
      await tcp.publishAsync("web/x", "to the web port", { qos: 1 });
      expect((await got.next(1))[0]!.payload).toBe("to the web port");
      await c.endAsync();
      expect((await fetch(`http://127.0.0.1:${port}/api/overview`)).status).toBe(404);
      const auth = { authorization: "Basic " + Buffer.from("guest:guest").toString("base64") };
      const overview = await (await fetch(`${w.httpUrl}/api/overview`, { headers: auth })).json() as {
        listeners: { protocol: string; port: number }[];
      };
      expect(overview.listeners.find((l) => l.protocol === "http/web-mqtt")?.port).toBe(port);
    } finally {
      await w.stop();
    }
    await expect(startMqttBroker({ pluginSettings: { "web_mqtt.ssl.port": "15676" } })).rejects.toThrow(
      "unsupported setting web_mqtt.ssl.port",
    );
  });
});

describe("MQTT over WebSocket, a subscriber that stops reading", () => {
  test("QoS 0 deliveries wait in the queue while the WebSocket cannot send, then all arrive", async () => {
    const tunnel = await openWsTunnel("127.0.0.1", b.httpPort, "/ws", "mqtt");
    const c = await connect(`mqtt://127.0.0.1:${tunnel.port}`, { clientId: "ws-slow" });
    try {
      let got = 0;
      c.on("message", () => got++);
      await c.subscribeAsync("slow/#", { qos: 0 });
      tunnel.pauseAll();
      const amqpConn = await amqp.connect(b.url);
      const ch = await amqpConn.createConfirmChannel();
      const body = Buffer.alloc(16 * 1024, 1);
      for (let n = 0; n < 4000; n++) ch.publish("amq.topic", "slow.x", body);
      await ch.waitForConfirms();
      await amqpConn.close();
      await sleep(1500);
      const ready = () =>
        [...b.broker.vhosts.get("/")!.queues.values()].filter((q) => q.name.startsWith("mqtt-subscription-ws-slow"))
          .reduce((sum, q) => sum + q.messageCount, 0);
      // 64 MiB published; the sockets between hold a few MiB.
      expect(ready()).toBeGreaterThan(1000);
      tunnel.resumeAll();
      await until(`4000 messages (have ${got})`, () => got === 4000, 30_000);
    } finally {
      await c.endAsync();
      await tunnel.close();
    }
  });
});

describe("MQTT listeners in the management API", () => {
  test("/api/overview lists the mqtt listener; the protocol-listener health check finds it", async () => {
    const auth = { authorization: "Basic " + Buffer.from("guest:guest").toString("base64") };
    const overview = await (await fetch(`${b.httpUrl}/api/overview`, { headers: auth })).json() as {
      listeners: { protocol: string; port: number }[];
    };
    expect(overview.listeners.find((l) => l.protocol === "mqtt")?.port).toBe(b.mqttPort);
    const health = await fetch(`${b.httpUrl}/api/health/checks/protocol-listener/mqtt`, { headers: auth });
    expect(await health.json()).toEqual({ status: "ok", protocol: "mqtt" });
  });
});

describe("vhost limits", () => {
  test("a subscription queue over the vhost's max-queues gets SUBACK 0x80 (5.0: 0x97), the connection stays", async () => {
    b.broker.addVhost("mqtt-full-vh");
    b.broker.setPermissions("guest", "mqtt-full-vh", { configure: ".*", write: ".*", read: ".*" });
    b.broker.setVhostLimits("mqtt-full-vh", { "max-queues": 0 });
    const c4 = await connect(b.mqttUrl, { clientId: "l-4", username: "mqtt-full-vh:guest" });
    expect(await subackCodes(c4, "x/y")).toEqual([0x80]);
    const c5 = await connect(b.mqttUrl, { clientId: "l-5", username: "mqtt-full-vh:guest", protocolVersion: 5 });
    expect(await subackCodes(c5, "x/y")).toEqual([0x97]);
    await c5.publishAsync("x/y", "still connected", { qos: 1 });
  });
});
