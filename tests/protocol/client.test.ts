// Warren's outbound AMQP client (src/client/) against a Warren broker over real TCP, over the
// direct (in-process) transport, through the link-cutting TCP proxy, and against the reference
// RabbitMQ when RABBITMQ_REF_URL is set.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ClientChannel,
  type ClientConnection,
  type ClientError,
  connect,
  decodeProperties,
  type Delivery,
} from "../../src/client/mod.ts";
import { referenceBroker, startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { certificate, hasOpenssl, serverCertificates } from "../helpers/certs.ts";
import { startTcpProxy } from "../helpers/tcp_proxy.ts";
import { until } from "../helpers/until.ts";

setDefaultTimeout(30_000);

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const closed = (c: ClientConnection) => new Promise<ClientError | undefined>((resolve) => c.onClose(resolve));

/** Publishes with confirms and waits for every one. */
async function publishConfirmed(ch: ClientChannel, queue: string, bodies: string[]): Promise<void> {
  const last = bodies.length;
  let confirmed = 0;
  const done = new Promise<void>((resolve, reject) => {
    ch.onConfirm((seq, multiple, ack) => {
      if (!ack) reject(new Error(`nack for ${seq}`));
      confirmed = multiple ? Math.max(confirmed, seq) : confirmed + 1;
      if (confirmed >= last) resolve();
    });
  });
  for (const b of bodies) ch.publish("", queue, enc(b), { deliveryMode: 2, messageId: b });
  await done;
}

let b: TestBroker;
beforeAll(async () => {
  b = await startTestBroker({ clusterName: "client-test-cluster" });
});
afterAll(async () => {
  await b?.stop();
});

describe("the client against Warren over TCP", () => {
  test("handshake reads the server properties and names the connection", async () => {
    const c = await connect({ uri: `amqp://guest:guest@127.0.0.1:${b.port}`, connectionName: "Shovel test-link" });
    expect(c.clusterName).toBe("client-test-cluster");
    expect(c.serverProperties["product"]).toBeDefined();
    const server = [...b.broker.connections].find((x) => x.clientProperties["connection_name"] === "Shovel test-link");
    expect(server).toBeDefined();
    await c.close();
    expect(c.state).toBe("closed");
  });

  test("declare, bind, publish with confirms, consume with ack and nack", async () => {
    const c = await connect({ uri: `amqp://guest:guest@127.0.0.1:${b.port}/%2f` });
    const ch = await c.openChannel();
    await ch.declareExchange("client-x", "direct", { durable: true });
    const q = await ch.declareQueue("client-q", { durable: true });
    expect(q).toEqual({ queue: "client-q", messageCount: 0, consumerCount: 0 });
    await ch.bindQueue("client-q", "client-x", "k");
    await ch.confirmSelect();
    await publishConfirmed(ch, "client-q", ["a", "b", "c"]);
    expect((await ch.declareQueue("client-q", { passive: true })).messageCount).toBe(3);

    await ch.qos(10);
    const got: Delivery[] = [];
    const tag = await ch.consume("client-q", (d) => got.push(d));
    await until("three deliveries", () => got.length === 3);
    expect(got.map((d) => dec(d.body))).toEqual(["a", "b", "c"]);
    expect(decodeProperties(new (await import("../../src/amqp/reader.ts")).Reader(got[0]!.properties))).toMatchObject({
      deliveryMode: 2,
      messageId: "a",
    });
    ch.nack(got[2]!.deliveryTag, false, true); // requeued: comes back redelivered
    ch.ack(got[1]!.deliveryTag, true);
    await until("the redelivery", () => got.length === 4);
    expect(got[3]).toMatchObject({ redelivered: true });
    ch.ack(got[3]!.deliveryTag);
    await ch.cancel(tag);
    await ch.unbindQueue("client-q", "client-x", "k");
    expect(await ch.deleteQueue("client-q")).toBe(0);
    await ch.deleteExchange("client-x");
    await c.close();
  });

  test("a channel error rejects the call with the server's code and text; the connection stays up", async () => {
    const c = await connect({ uri: `amqp://guest:guest@127.0.0.1:${b.port}` });
    const ch = await c.openChannel();
    const err = (await ch.declareQueue("client-missing", { passive: true }).catch((e) => e)) as ClientError;
    expect(err.code).toBe(404);
    expect(err.message).toContain("NOT_FOUND - no queue 'client-missing' in vhost '/'");
    expect(err.method).toBe("queue.declare");
    expect(ch.state).toBe("closed");
    const again = await c.openChannel();
    await again.declareQueue("", { exclusive: true });
    await c.close();
  });

  test("wrong credentials and an unknown vhost fail the handshake with a reason", async () => {
    const bad = (await connect({ uri: `amqp://guest:nope@127.0.0.1:${b.port}` }).catch((e) => e)) as ClientError;
    expect(bad.code).toBe(403);
    expect(bad.message).toContain("ACCESS_REFUSED");
    const vhost = (await connect({ uri: `amqp://guest:guest@127.0.0.1:${b.port}/nowhere` }).catch((e) => e)) as ClientError;
    expect(vhost.code).toBe(530);
    expect(vhost.message).toContain("nowhere");
  });

  test("a port nobody listens on is refused, with the address in the reason", async () => {
    const proxy = await startTcpProxy("127.0.0.1", b.port);
    const port = proxy.port;
    await proxy.stop();
    const err = (await connect({ uri: `amqp://127.0.0.1:${port}` }).catch((e) => e)) as ClientError;
    expect(err.message).toContain(`cannot connect to 127.0.0.1:${port}`);
    expect(err.by).toBe("socket");
  });

  test("a server-side close (broker stopping a connection) surfaces as the close reason", async () => {
    const c = await connect({ uri: `amqp://guest:guest@127.0.0.1:${b.port}`, connectionName: "client-forced" });
    const reason = closed(c);
    const server = [...b.broker.connections].find((x) => x.clientProperties["connection_name"] === "client-forced")!;
    server.forceClose("shovel test closing you");
    const err = await reason;
    expect(err?.code).toBe(320);
    expect(err?.message).toContain("shovel test closing you");
  });

  test("connection.blocked makes channels unwritable until unblocked", async () => {
    const c = await connect({ uri: `amqp://guest:guest@127.0.0.1:${b.port}` });
    const ch = await c.openChannel();
    const events: boolean[] = [];
    c.onBlocked((blocked) => events.push(blocked));
    await ch.declareQueue("client-blocked", { exclusive: true });
    const before = b.broker.alarms.memoryThreshold;
    b.broker.alarms.setMemoryHighWatermark(2);
    ch.publish("", "client-blocked", enc("x")); // RabbitMQ blocks a connection once it publishes
    await until("connection.blocked", () => c.blocked);
    expect(ch.writable).toBe(false);
    const writable = ch.whenWritable();
    b.broker.alarms.setMemoryHighWatermark(before);
    await writable;
    expect(events).toEqual([true, false]);
    await c.close();
  });
});

describe("the direct transport (a URI without host)", () => {
  test("amqp:// reaches the broker in-process as the trusted user, with flow through the same handlers", async () => {
    const c = await connect({ uri: "amqp://", connectionName: "direct-link", direct: { broker: b.broker, user: "guest" } });
    const ch = await c.openChannel();
    await ch.declareQueue("client-direct", { durable: true });
    await ch.confirmSelect();
    const bodies = Array.from({ length: 2000 }, (_, i) => `m${i}`);
    await publishConfirmed(ch, "client-direct", bodies);
    const got: string[] = [];
    await ch.qos(100);
    await ch.consume("client-direct", (d) => {
      got.push(dec(d.body));
      ch.ack(d.deliveryTag);
    });
    await until("all 2000 back", () => got.length === 2000);
    expect(got).toEqual(bodies);
    const server = [...b.broker.connections].find((x) => x.clientProperties["connection_name"] === "direct-link")!;
    expect(server.user?.name).toBe("guest");
    await ch.deleteQueue("client-direct");
    await c.close();
    await until("the broker forgets it", () => ![...b.broker.connections].includes(server));
  });

  test("credentials in a hostless URI are checked like any login", async () => {
    const err = (await connect({ uri: "amqp://guest:wrong@", direct: { broker: b.broker, user: "guest" } }).catch((e) => e)) as ClientError;
    expect(err.code).toBe(403);
    const ok = await connect({ uri: "amqp://guest:guest@", direct: { broker: b.broker, user: "nobody" } });
    await ok.close();
  });

  test("a hostless URI without a broker to reach is refused", async () => {
    await expect(connect({ uri: "amqp://" })).rejects.toThrow("names no host");
  });
});

describe("link faults through the TCP proxy", () => {
  test("a cut drops the connection with a socket reason; refused reconnects fail until the proxy accepts again", async () => {
    const proxy = await startTcpProxy("127.0.0.1", b.port);
    try {
      const c = await connect({ uri: `amqp://guest:guest@127.0.0.1:${proxy.port}` });
      const reason = closed(c);
      proxy.cut(60_000);
      const err = await reason;
      expect(err?.by).toBe("socket");
      await expect(connect({ uri: `amqp://guest:guest@127.0.0.1:${proxy.port}` })).rejects.toThrow();
      expect(proxy.refused).toBeGreaterThan(0);
      proxy.accept();
      const again = await connect({ uri: `amqp://guest:guest@127.0.0.1:${proxy.port}` });
      await again.close();
    } finally {
      await proxy.stop();
    }
  });

  test("a stalled link is detected by missed heartbeats", async () => {
    const proxy = await startTcpProxy("127.0.0.1", b.port);
    try {
      const c = await connect({ uri: `amqp://guest:guest@127.0.0.1:${proxy.port}?heartbeat=1` });
      expect(c.heartbeat).toBe(1);
      const reason = closed(c);
      proxy.hold("to-client"); // the server still hears our heartbeats: we must notice its silence
      const err = await reason;
      expect(err?.message).toContain("missed heartbeats");
    } finally {
      await proxy.stop();
    }
  });

  test("a URI list: each attempt picks one, so a dead entry only fails some attempts", async () => {
    const good = `amqp://guest:guest@127.0.0.1:${b.port}`;
    const dead = "amqp://guest:guest@127.0.0.1:1";
    let ok = 0;
    let failed = 0;
    for (let i = 0; i < 40; i++) {
      const c = await connect({ uri: [good, dead] }).catch(() => undefined);
      if (c) {
        ok++;
        await c.close();
      } else failed++;
    }
    expect(ok).toBeGreaterThan(0);
    expect(failed).toBeGreaterThan(0);
  });
});

describe.skipIf(!hasOpenssl)("amqps", () => {
  test("verify_peer with the CA connects; without it the certificate is rejected", async () => {
    const dir = await mkdtemp(join(tmpdir(), "client-tls-"));
    serverCertificates(dir);
    certificate(dir, "other-ca", "Other CA");
    const tb = await startTestBroker({ tlsPort: 0, tlsCert: join(dir, "server.pem"), tlsKey: join(dir, "server.key") });
    try {
      const port = tb.broker.tlsListener!.port;
      const c = await connect({
        uri: `amqps://guest:guest@localhost:${port}?verify=verify_peer&cacertfile=${join(dir, "ca.pem")}&server_name_indication=localhost`,
      });
      await c.close();
      const bad = `amqps://guest:guest@localhost:${port}?verify=verify_peer&cacertfile=${join(dir, "other-ca.pem")}`;
      await expect(connect({ uri: bad })).rejects.toThrow();
      const none = await connect({ uri: `amqps://guest:guest@localhost:${port}?verify=verify_none` });
      await none.close();
    } finally {
      await tb.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const ref = referenceBroker();
describe.skipIf(!ref)("the client against the reference RabbitMQ (RABBITMQ_REF_URL)", () => {
  test("handshake, cluster_name, publish with confirms and consume", async () => {
    const c = await connect({ uri: ref!.url, connectionName: "shovel-client-test" });
    expect(c.clusterName).not.toBe("");
    const ch = await c.openChannel();
    await ch.declareQueue("shovel-client-ref", { durable: false, autoDelete: false });
    await ch.purgeQueue("shovel-client-ref");
    await ch.confirmSelect();
    await publishConfirmed(ch, "shovel-client-ref", ["1", "2", "3"]);
    const got: string[] = [];
    await ch.consume("shovel-client-ref", (d) => {
      got.push(dec(d.body));
      ch.ack(d.deliveryTag);
    });
    await until("three from RabbitMQ", () => got.length === 3);
    expect(got).toEqual(["1", "2", "3"]);
    const err = (await ch.declareQueue("shovel-client-ref", { durable: true }).catch((e) => e)) as ClientError;
    expect(err.code).toBe(406);
    const ch2 = await c.openChannel();
    await ch2.deleteQueue("shovel-client-ref");
    await c.close();
  });
});
if (!ref) console.log("skipping the reference RabbitMQ client test: RABBITMQ_REF_URL is not set");
