// RabbitMQ's own federation plugin federating an exchange FROM Warren: what it declares on Warren
// (the upstream queue and the x-federation-upstream exchange, the exchange-to-exchange bindings
// with x-bound-from) and that messages published on Warren reach RabbitMQ with x-received-from.
import { afterAll, beforeAll, expect, test } from "bun:test";
import amqp from "amqplib";
import { startTestBroker, type TestBroker } from "../../helpers/broker.ts";
import { eventually, type Reference, reference, SKIP_REFERENCE, uniqueName } from "./reference.ts";
import { Exchange } from "../../../src/broker/exchange.ts";
import { FIELD_TYPES } from "../../../src/amqp/table.ts";

let warren: TestBroker;
let ref: Reference;

beforeAll(async () => {
  warren = await startTestBroker();
  if (!SKIP_REFERENCE) ref = reference();
});
afterAll(async () => {
  await warren?.stop();
});

test.skipIf(SKIP_REFERENCE)(
  "a RabbitMQ downstream federates an exchange from Warren, and removing its policy removes what it made",
  async () => {
    const x = uniqueName("x");
    const upstream = uniqueName("up-warren");
    const policy = uniqueName("policy");
    const queue = uniqueName("q");
    const cluster = await ref.clusterName();
    const w = await amqp.connect(warren.url);
    const r = await amqp.connect(ref.url);
    try {
      const wch = await w.createConfirmChannel();
      await wch.assertExchange(x, "topic", { durable: true });
      const rch = await r.createChannel();
      await rch.assertExchange(x, "topic", { durable: true });
      await rch.assertQueue(queue, { durable: false, autoDelete: false });
      await rch.bindQueue(queue, x, "a.*");
      const put = await ref.call("PUT", `/api/parameters/federation-upstream/%2f/${upstream}`, {
        value: { uri: `amqp://guest:guest@127.0.0.1:${warren.port}`, "max-hops": 1 },
      });
      expect(put.status).toBeLessThan(300);
      const pol = await ref.call("PUT", `/api/policies/%2f/${policy}`, {
        pattern: `^${x}$`,
        "apply-to": "exchanges",
        definition: { "federation-upstream": upstream },
      });
      expect(pol.status).toBeLessThan(300);
      try {
        const link = await eventually(async () => {
          const links = (await ref.call("GET", "/api/federation-links/%2f")).body as Record<string, unknown>[];
          return links.find((l) => l.exchange === x && l.status === "running");
        }, "the RabbitMQ link to run");
        expect(link.upstream).toBe(upstream);
        const vhost = warren.broker.vhosts.get("/")!;
        // What RabbitMQ made on Warren.
        const qName = `federation: ${x} -> ${cluster}`;
        const upQueue = await eventually(() => vhost.queues.get(qName), "the upstream queue");
        expect(upQueue.durable).toBe(true);
        expect(upQueue.args["x-internal-purpose"]).toBe("federation");
        const internal = await eventually(
          () => [...vhost.exchanges.values()].find((e) => e.name.startsWith(`${qName} `)),
          "the internal exchange",
        );
        expect([`${qName} A`, `${qName} B`]).toContain(internal.name);
        expect(internal.type).toBe("x-federation-upstream");
        expect({ durable: internal.durable, internal: internal.internal, autoDelete: internal.autoDelete }).toEqual({
          durable: true,
          internal: true,
          autoDelete: true,
        });
        expect(internal.args["x-max-hops"]).toBe(1);
        expect((internal.args as { [FIELD_TYPES]?: Record<string, string> })[FIELD_TYPES]?.["x-max-hops"] ?? "l").toBe("l");
        expect(internal.args["x-downstream-name"]).toBe(cluster);
        expect(internal.args["x-downstream-vhost"]).toBe("/");
        const binding = await eventually(
          () => [...vhost.exchanges.get(x)!.router.bindings()].find((b) => b.destination === internal),
          "the exchange-to-exchange binding",
        );
        expect(binding.routingKey).toBe("a.*");
        const from = binding.args["x-bound-from"] as Record<string, unknown>[];
        expect(from[0]).toMatchObject({ "cluster-name": cluster, vhost: "/", hops: 1 });
        expect(String(from[0]!.exchange)).toMatch(new RegExp(`^/:${x} [AB]$`));
        expect([...internal.router.bindings()].map((b) => b.destination)).toContain(upQueue);
        expect(internal).toBeInstanceOf(Exchange);

        // Messages published on Warren reach RabbitMQ, with x-received-from.
        wch.publish(x, "a.b", Buffer.from("over"), { persistent: true, headers: { mine: 1 } });
        wch.publish(x, "b.b", Buffer.from("not bound"), { persistent: true });
        await wch.waitForConfirms();
        const got = await eventually(async () => (await rch.get(queue, { noAck: true })) || undefined, "the federated message");
        expect(got.content.toString()).toBe("over");
        expect(got.fields.routingKey).toBe("a.b");
        const received = got.properties.headers!["x-received-from"] as Record<string, unknown>[];
        expect(received).toHaveLength(1);
        expect(received[0]).toMatchObject({ uri: `amqp://127.0.0.1:${warren.port}`, exchange: x, redelivered: false });
        expect(got.properties.headers!.mine).toBe(1);

        // A binding change on RabbitMQ is carried to Warren.
        await rch.bindQueue(queue, x, "c.#");
        await eventually(
          () => [...vhost.exchanges.get(x)!.router.bindings()].find((b) => b.routingKey === "c.#" && b.destination === internal),
          "the new binding upstream",
        );
        await rch.unbindQueue(queue, x, "a.*");
        await eventually(
          () => ([...vhost.exchanges.get(x)!.router.bindings()].some((b) => b.routingKey === "a.*") ? undefined : true),
          "the binding removed upstream",
        );
      } finally {
        await ref.call("DELETE", `/api/policies/%2f/${policy}`);
      }
      // Removing the policy removes the upstream queue and exchange.
      const vhost = warren.broker.vhosts.get("/")!;
      await eventually(() => (vhost.queues.has(`federation: ${x} -> ${cluster}`) ? undefined : true), "the upstream queue removed");
      await eventually(
        () => ([...vhost.exchanges.keys()].some((n) => n.startsWith(`federation: ${x}`)) ? undefined : true),
        "the internal exchange removed",
      );
    } finally {
      await ref.call("DELETE", `/api/parameters/federation-upstream/%2f/${upstream}`);
      const rch = await r.createChannel();
      await rch.deleteQueue(queue).catch(() => {});
      await rch.deleteExchange(x).catch(() => {});
      await r.close();
      await w.close();
    }
  },
);

test.skipIf(SKIP_REFERENCE)("a RabbitMQ queue federated from a Warren queue pulls its messages when consumed", async () => {
  const q = uniqueName("fq");
  const upstream = uniqueName("up-warren");
  const w = await amqp.connect(warren.url);
  const r = await amqp.connect(ref.url);
  try {
    const wch = await w.createConfirmChannel();
    await wch.assertQueue(q, { durable: true });
    for (let i = 0; i < 20; i++) wch.sendToQueue(q, Buffer.from(`m${i}`), { persistent: true });
    await wch.waitForConfirms();
    const rch = await r.createChannel();
    await rch.assertQueue(q, { durable: false });
    await ref.call("PUT", `/api/parameters/federation-upstream/%2f/${upstream}`, {
      value: { uri: `amqp://guest:guest@127.0.0.1:${warren.port}` },
    });
    await ref.call("PUT", `/api/policies/%2f/${upstream}`, {
      pattern: `^${q}$`,
      "apply-to": "queues",
      definition: { "federation-upstream": upstream },
    });
    try {
      await eventually(
        async () =>
          ((await ref.call("GET", "/api/federation-links/%2f")).body as Record<string, unknown>[]).find((l) =>
            l.queue === q && l.status === "running"
          ),
        "RabbitMQ's queue link",
      );
      const got: string[] = [];
      await rch.prefetch(5);
      await rch.consume(q, (m) => {
        if (!m) return;
        got.push(m.content.toString());
        rch.ack(m);
      });
      await eventually(() => (got.length === 20 ? true : undefined), "all twenty on RabbitMQ");
      expect(got).toEqual([...Array(20).keys()].map((i) => `m${i}`));
      expect(warren.broker.vhosts.get("/")!.queues.get(q)!.messageCount).toBe(0);
    } finally {
      await ref.call("DELETE", `/api/policies/%2f/${upstream}`);
      await ref.call("DELETE", `/api/parameters/federation-upstream/%2f/${upstream}`);
    }
  } finally {
    const rch = await r.createChannel();
    await rch.deleteQueue(q).catch(() => {});
    await r.close();
    await w.close();
  }
});
