// Warren federating from the reference RabbitMQ: an exchange (the upstream queue and exchange
// RabbitMQ gets, bindings kept in sync, messages with x-received-from, cleanup when the policy
// goes) and a queue (consumer-driven pull). Link status through /api/federation-links.
import { afterAll, beforeAll, expect, test } from "bun:test";
import amqp from "amqplib";
import { startTestBroker, type TestBroker } from "../../helpers/broker.ts";
import { api } from "../../helpers/http.ts";
import { eventually, type Reference, reference, SKIP_REFERENCE, uniqueName } from "./reference.ts";

let warren: TestBroker;
let ref: Reference;
const cluster = uniqueName("warren");

beforeAll(async () => {
  warren = await startTestBroker({ clusterName: cluster });
  if (!SKIP_REFERENCE) ref = reference();
});
afterAll(async () => {
  await warren?.stop();
});

const enc = encodeURIComponent;

async function runningLink(match: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  return eventually(async () => {
    const links = (await api(warren.httpUrl, "GET", "/api/federation-links/%2f")).body as Record<string, unknown>[];
    return links.find((l) => match(l) && l.status === "running");
  }, "the Warren link to run");
}

test.skipIf(SKIP_REFERENCE)(
  "Warren federates an exchange from RabbitMQ: upstream objects, bindings in sync, x-received-from, cleanup",
  async () => {
    const x = uniqueName("x");
    const upstream = uniqueName("up-rabbit");
    const queue = uniqueName("q");
    const r = await amqp.connect(ref.url);
    const w = await amqp.connect(warren.url);
    try {
      const rch = await r.createConfirmChannel();
      await rch.assertExchange(x, "direct", { durable: true });
      const wch = await w.createChannel();
      await wch.assertExchange(x, "direct", { durable: true });
      await wch.assertQueue(queue, { durable: true });
      await wch.bindQueue(queue, x, "k1");
      expect((await api(warren.httpUrl, "PUT", `/api/parameters/federation-upstream/%2f/${upstream}`, { value: { uri: ref.url } })).status)
        .toBeLessThan(300);
      expect(
        (await api(warren.httpUrl, "PUT", `/api/policies/%2f/${x}`, {
          pattern: `^${x}$`,
          "apply-to": "exchanges",
          definition: { "federation-upstream": upstream },
        })).status,
      ).toBeLessThan(300);
      const link = await runningLink((l) => l.exchange === x);
      expect(link).toMatchObject({
        node: warren.broker.alarms.node,
        exchange: x,
        upstream_exchange: x,
        type: "exchange",
        vhost: "/",
        upstream,
        local_connection: `Federation link (upstream: ${upstream}, policy: ${x})`,
        uri: ref.url.replace(/\/\/[^@]*@/, "//"),
      });
      expect(String(link.id)).toMatch(/^[0-9a-f]{8}$/);
      expect(String(link.timestamp)).toMatch(/^\d{4}-\d\d-\d\d \d+:\d\d:\d\d$/);

      // What Warren made on RabbitMQ, as RabbitMQ's own downstream would.
      const qName = `federation: ${x} -> ${cluster}`;
      const upQueue = (await ref.call("GET", `/api/queues/%2f/${enc(qName)}`)).body;
      expect(upQueue.durable).toBe(true);
      expect(upQueue.arguments).toEqual({ "x-internal-purpose": "federation" });
      const exchanges = ((await ref.call("GET", "/api/exchanges/%2f")).body as Record<string, unknown>[]).filter((e) =>
        String(e.name).startsWith(`${qName} `)
      );
      expect(exchanges).toHaveLength(1);
      expect(exchanges[0]).toMatchObject({ type: "x-federation-upstream", durable: true, internal: true, auto_delete: true });
      expect(exchanges[0]!.arguments).toEqual({
        "x-max-hops": 1,
        "x-downstream-name": cluster,
        "x-downstream-vhost": "/",
        "x-internal-purpose": "federation",
      });
      const internal = String(exchanges[0]!.name);
      const upstreamBindings = async () =>
        ((await ref.call("GET", `/api/exchanges/%2f/${enc(x)}/bindings/source`)).body as Record<string, unknown>[]).filter((b) =>
          b.destination === internal
        );
      const first = await upstreamBindings();
      expect(first.map((b) => b.routing_key)).toEqual(["k1"]);
      expect((first[0]!.arguments as Record<string, unknown[]>)["x-bound-from"]).toEqual([{
        "cluster-name": cluster,
        vhost: "/",
        exchange: `/:${x} ${internal.slice(-1)}`,
        hops: 1,
      }]);

      // Bindings follow local changes.
      await wch.bindQueue(queue, x, "k2");
      await eventually(
        async () => ((await upstreamBindings()).some((b) => b.routing_key === "k2") ? true : undefined),
        "k2 bound upstream",
      );
      await wch.unbindQueue(queue, x, "k1");
      await eventually(
        async () => ((await upstreamBindings()).some((b) => b.routing_key === "k1") ? undefined : true),
        "k1 unbound upstream",
      );

      // Messages published on RabbitMQ arrive, marked.
      rch.publish(x, "k2", Buffer.from("hello"), { persistent: true });
      rch.publish(x, "k1", Buffer.from("no longer bound"), { persistent: true });
      await rch.waitForConfirms();
      const got = await eventually(async () => (await wch.get(queue, { noAck: true })) || undefined, "the federated message");
      expect(got.content.toString()).toBe("hello");
      const from = got.properties.headers!["x-received-from"] as Record<string, unknown>[];
      expect(from).toEqual([{
        uri: ref.url.replace(/\/\/[^@]*@/, "//"),
        exchange: x,
        redelivered: false,
        "cluster-name": await ref.clusterName(),
        vhost: "/",
      }]);
      expect(await wch.get(queue, { noAck: true })).toBe(false);

      // Removing the policy stops the link and removes the upstream queue and exchange.
      await api(warren.httpUrl, "DELETE", `/api/policies/%2f/${x}`);
      expect((await api(warren.httpUrl, "GET", "/api/federation-links")).body).toEqual([]);
      await eventually(
        async () => ((await ref.call("GET", `/api/queues/%2f/${enc(qName)}`)).status === 404 ? true : undefined),
        "the upstream queue removed",
      );
      await eventually(
        async () => ((await ref.call("GET", `/api/exchanges/%2f/${enc(internal)}`)).status === 404 ? true : undefined),
        "the internal exchange removed",
      );
    } finally {
      await api(warren.httpUrl, "DELETE", `/api/policies/%2f/${x}`);
      const rch = await r.createChannel();
      await rch.deleteExchange(x).catch(() => {});
      await r.close();
      await w.close();
    }
  },
);

test.skipIf(SKIP_REFERENCE)("a federated queue pulls from RabbitMQ only while it has a consumer with nothing local to give", async () => {
  const q = uniqueName("fq");
  const upstream = uniqueName("up-rabbit");
  const r = await amqp.connect(ref.url);
  const w = await amqp.connect(warren.url);
  try {
    const rch = await r.createConfirmChannel();
    await rch.assertQueue(q, { durable: true });
    for (let i = 0; i < 10; i++) rch.sendToQueue(q, Buffer.from(`m${i}`), { persistent: true });
    await rch.waitForConfirms();
    const wch = await w.createChannel();
    await wch.assertQueue(q, { durable: true });
    await api(warren.httpUrl, "PUT", `/api/parameters/federation-upstream/%2f/${upstream}`, { value: { uri: ref.url } });
    await api(warren.httpUrl, "PUT", `/api/policies/%2f/${q}`, {
      pattern: `^${q}$`,
      "apply-to": "queues",
      definition: { "federation-upstream": upstream },
    });
    const link = await runningLink((l) => l.queue === q);
    expect(link).toMatchObject({ queue: q, upstream_queue: q, type: "queue", consumer_tag: `federation-link-${upstream}` });
    // No consumer: nothing moves.
    await Bun.sleep(300);
    expect((await wch.checkQueue(q)).messageCount).toBe(0);
    expect((await rch.checkQueue(q)).messageCount).toBe(10);
    // A consumer: the messages come over, in order, with their queue-federation headers.
    await wch.prefetch(3);
    const got: string[] = [];
    let headers: Record<string, unknown> | undefined;
    await wch.consume(q, (m) => {
      if (!m) return;
      got.push(m.content.toString());
      headers ??= m.properties.headers;
      wch.ack(m);
    });
    await eventually(() => (got.length === 10 ? true : undefined), "all ten messages consumed on Warren");
    expect(got).toEqual([...Array(10).keys()].map((i) => `m${i}`));
    expect(headers!["x-original-routing-key"]).toBe(q);
    expect((headers!["x-received-from"] as Record<string, unknown>[])[0]).toMatchObject({ queue: q, redelivered: false, "visit-count": 1 });
    await eventually(async () => ((await rch.checkQueue(q)).messageCount === 0 ? true : undefined), "the upstream queue drained");
  } finally {
    await api(warren.httpUrl, "DELETE", `/api/policies/%2f/${q}`);
    await api(warren.httpUrl, "DELETE", `/api/parameters/federation-upstream/%2f/${upstream}`);
    const rch = await r.createChannel();
    await rch.deleteQueue(q).catch(() => {});
    await r.close();
    await w.close();
  }
});

test.skipIf(SKIP_REFERENCE)("a link to RabbitMQ cut by a proxy while messages flow loses nothing confirmed there", async () => {
  const { startTcpProxy } = await import("../../helpers/tcp_proxy.ts");
  const ref0 = new URL(ref.url);
  const proxy = await startTcpProxy(ref0.hostname, Number(ref0.port));
  const x = uniqueName("cut");
  const q = uniqueName("q");
  const upstream = uniqueName("up-rabbit");
  const r = await amqp.connect(ref.url);
  const w = await amqp.connect(warren.url);
  try {
    const rch = await r.createConfirmChannel();
    await rch.assertExchange(x, "fanout", { durable: true });
    const wch = await w.createChannel();
    await wch.assertExchange(x, "fanout", { durable: true });
    await wch.assertQueue(q, { durable: true });
    await wch.bindQueue(q, x, "");
    await api(warren.httpUrl, "PUT", `/api/parameters/federation-upstream/%2f/${upstream}`, {
      value: { uri: `amqp://guest:guest@127.0.0.1:${proxy.port}`, "reconnect-delay": 0.2 },
    });
    await api(warren.httpUrl, "PUT", `/api/policies/%2f/${upstream}`, {
      pattern: `^${x}$`,
      definition: { "federation-upstream": upstream },
    });
    await runningLink((l) => l.exchange === x);
    const N = 1000;
    for (let i = 0; i < N; i += 100) {
      for (let k = i; k < i + 100; k++) rch.publish(x, "", Buffer.from(String(k)), { persistent: true });
      await rch.waitForConfirms();
      if (i % 300 === 0) proxy.cut(100);
    }
    const got = new Set<number>();
    await wch.consume(q, (m) => {
      if (!m) return;
      got.add(Number(m.content.toString()));
      wch.ack(m);
    });
    await eventually(() => (got.size === N ? true : undefined), `all ${N} confirmed messages on Warren`, 60_000);
    expect(proxy.accepted).toBeGreaterThan(1);
  } finally {
    await api(warren.httpUrl, "DELETE", `/api/policies/%2f/${upstream}`);
    await api(warren.httpUrl, "DELETE", `/api/parameters/federation-upstream/%2f/${upstream}`);
    // The link removes its queue and exchange on RabbitMQ through the proxy: let it finish.
    const qName = `federation: ${x} -> ${cluster}`;
    await eventually(
      async () => ((await ref.call("GET", `/api/queues/%2f/${enc(qName)}`)).status === 404 ? true : undefined),
      "the upstream queue removed",
    ).catch(async () => {
      await ref.call("DELETE", `/api/queues/%2f/${enc(qName)}`);
    });
    await proxy.stop();
    const rch = await r.createChannel();
    await rch.deleteExchange(x).catch(() => {});
    await r.close();
    await w.close();
  }
}, 90_000);
