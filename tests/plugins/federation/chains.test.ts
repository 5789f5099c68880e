// Federation across more than two sites: a chain RabbitMQ -> Warren B -> Warren C with max-hops
// 1 and 2 (bindings and messages travel as far as max-hops lets them), a symmetric pair (Warren
// and RabbitMQ federating from each other) that does not loop, and a chain of vhosts of one
// Warren with max-hops 2.
import { afterAll, beforeAll, expect, test } from "bun:test";
import amqp from "amqplib";
import { sleep, startTestBroker, type TestBroker } from "../../helpers/broker.ts";
import { api } from "../../helpers/http.ts";
import { eventually, type Reference, reference, SKIP_REFERENCE, uniqueName } from "./reference.ts";
import { federate, rabbitSide, warrenSide } from "./topology.ts";

let b: TestBroker;
let c: TestBroker;
let ref: Reference;
const clusterB = uniqueName("warren-b");
const clusterC = uniqueName("warren-c");
let refCluster = "";

beforeAll(async () => {
  b = await startTestBroker({ clusterName: clusterB });
  c = await startTestBroker({ clusterName: clusterC });
  if (!SKIP_REFERENCE) {
    ref = reference();
    refCluster = await ref.clusterName();
  }
});
afterAll(async () => {
  await b?.stop();
  await c?.stop();
});

/** Bindings of exchange `x` on a Warren whose destination is a federation exchange of `cluster`. */
function boundFor(broker: TestBroker, x: string, cluster: string, vhost = "/") {
  const exchange = broker.broker.vhosts.get(vhost)!.exchanges.get(x);
  return exchange
    ? [...exchange.router.bindings()].filter((bd) => "exchangeType" in bd.destination && bd.destination.name.includes(`-> ${cluster}`))
    : [];
}

for (const maxHops of [1, 2]) {
  test.skipIf(SKIP_REFERENCE)(`chain RabbitMQ -> Warren -> Warren with max-hops ${maxHops}`, async () => {
    const x = uniqueName("chain");
    const [upAB, upBC] = [uniqueName("up-a"), uniqueName("up-b")];
    const undo: (() => Promise<void>)[] = [];
    const r = await amqp.connect(ref.url);
    const wb = await amqp.connect(b.url);
    const wc = await amqp.connect(c.url);
    try {
      const rch = await r.createConfirmChannel();
      await rch.assertExchange(x, "direct", { durable: true });
      const bch = await wb.createChannel();
      const cch = await wc.createChannel();
      for (const ch of [bch, cch]) await ch.assertExchange(x, "direct", { durable: true });
      const qb = uniqueName("qb");
      const qc = uniqueName("qc");
      await bch.assertQueue(qb, { durable: true });
      await bch.bindQueue(qb, x, "only-b");
      await cch.assertQueue(qc, { durable: true });
      await cch.bindQueue(qc, x, "k");
      await cch.bindQueue(qc, x, "only-b");
      undo.push(await federate(warrenSide(b), { name: x, upstream: upAB, uri: ref.url, maxHops }));
      undo.push(await federate(warrenSide(c), { name: x, upstream: upBC, uri: b.url, maxHops }));
      // C's bindings reach B; beyond it only with max-hops 2.
      await eventually(() => (boundFor(b, x, clusterC).some((bd) => bd.routingKey === "k") ? true : undefined), "C's binding on B");
      const onRabbit = async () =>
        ((await ref.call("GET", `/api/exchanges/%2f/${x}/bindings/source`)).body as { routing_key: string }[]).map((bd) => bd.routing_key);
      if (maxHops === 2) {
        await eventually(async () => ((await onRabbit()).includes("k") ? true : undefined), "C's binding on RabbitMQ, through B");
      } else {
        await eventually(async () => ((await onRabbit()).includes("only-b") ? true : undefined), "B's binding on RabbitMQ");
        expect(await onRabbit()).not.toContain("k");
      }
      rch.publish(x, "k", Buffer.from("to C"), { persistent: true });
      rch.publish(x, "only-b", Buffer.from("to B and maybe C"), { persistent: true });
      await rch.waitForConfirms();
      const atB = await eventually(async () => (await bch.get(qb, { noAck: true })) || undefined, "the message at B");
      expect(atB.content.toString()).toBe("to B and maybe C");
      if (maxHops === 2) {
        const got: amqp.GetMessage[] = [];
        await eventually(async () => {
          const m = await cch.get(qc, { noAck: true });
          if (m) got.push(m);
          return got.length === 2 ? true : undefined;
        }, "both messages at C");
        expect(got.map((m) => m.content.toString()).sort()).toEqual(["to B and maybe C", "to C"]);
        const trail = (got[0]!.properties.headers!["x-received-from"] as { "cluster-name": string }[]).map((e) => e["cluster-name"]);
        expect(trail).toEqual([clusterB, await ref.clusterName()]);
      } else {
        // B received it; the x-federation-upstream exchange toward C drops it (one hop made).
        await sleep(500);
        expect(await cch.get(qc, { noAck: true })).toBe(false);
      }
    } finally {
      for (const u of undo.reverse()) await u();
      const rch = await r.createChannel();
      await rch.deleteExchange(x).catch(() => {});
      await r.close();
      await wb.close();
      await wc.close();
    }
  });
}

test.skipIf(SKIP_REFERENCE)("Warren and RabbitMQ federating an exchange from each other do not loop messages or bindings", async () => {
  const x = uniqueName("sym");
  const [upW, upR] = [uniqueName("up-rabbit"), uniqueName("up-warren")];
  const undo: (() => Promise<void>)[] = [];
  const r = await amqp.connect(ref.url);
  const w = await amqp.connect(b.url);
  const [qr, qw] = [uniqueName("qr"), uniqueName("qw")];
  try {
    const rch = await r.createConfirmChannel();
    const wch = await w.createConfirmChannel();
    await rch.assertExchange(x, "fanout", { durable: true });
    await wch.assertExchange(x, "fanout", { durable: true });
    await rch.assertQueue(qr, { durable: false });
    await rch.bindQueue(qr, x, "");
    await wch.assertQueue(qw, { durable: true });
    await wch.bindQueue(qw, x, "");
    undo.push(await federate(warrenSide(b), { name: x, upstream: upW, uri: ref.url, maxHops: 10 }));
    undo.push(await federate(rabbitSide(ref), { name: x, upstream: upR, uri: `amqp://guest:guest@127.0.0.1:${b.port}`, maxHops: 10 }));
    await eventually(async () => {
      const bs = (await ref.call("GET", `/api/exchanges/%2f/${x}/bindings/source`)).body as unknown[];
      return bs.length === 2 ? true : undefined; // its queue, and Warren's federation exchange
    }, "the binding from Warren on RabbitMQ");
    await eventually(() => (boundFor(b, x, refCluster).length === 1 ? true : undefined), "the binding from RabbitMQ on Warren");
    wch.publish(x, "", Buffer.from("from warren"), { persistent: true });
    rch.publish(x, "", Buffer.from("from rabbit"), { persistent: true });
    await Promise.all([wch.waitForConfirms(), rch.waitForConfirms()]);
    const drain = async (ch: amqp.Channel, q: string) => {
      const out: string[] = [];
      for (let m = await ch.get(q, { noAck: true }); m; m = await ch.get(q, { noAck: true })) out.push(m.content.toString());
      return out;
    };
    const seen = { w: [] as string[], r: [] as string[] };
    await eventually(async () => {
      seen.w.push(...(await drain(wch, qw)));
      seen.r.push(...(await drain(rch, qr)));
      return seen.w.length >= 2 && seen.r.length >= 2 ? true : undefined;
    }, "each message on both sides");
    await sleep(1000); // a loop would deliver them again by now
    seen.w.push(...(await drain(wch, qw)));
    seen.r.push(...(await drain(rch, qr)));
    expect(seen.w.sort()).toEqual(["from rabbit", "from warren"]);
    expect(seen.r.sort()).toEqual(["from rabbit", "from warren"]);
    // Bindings did not loop either: one federation binding each way.
    expect(boundFor(b, x, refCluster)).toHaveLength(1);
  } finally {
    for (const u of undo.reverse()) await u();
    const rch = await r.createChannel();
    await rch.deleteExchange(x).catch(() => {});
    await rch.deleteQueue(qr).catch(() => {});
    await r.close();
    await w.close();
  }
});

test("vhosts of one Warren federated in a chain honour max-hops 2 (and 1)", async () => {
  for (const v of ["fed-v1", "fed-v2", "fed-v3"]) {
    await api(c.httpUrl, "PUT", `/api/vhosts/${v}`);
    await api(c.httpUrl, "PUT", `/api/permissions/${v}/guest`, { configure: ".*", write: ".*", read: ".*" });
  }
  for (const maxHops of [2, 1]) {
    const x = uniqueName("vx");
    const conn = await amqp.connect(`${c.url}/fed-v1`);
    const conn3 = await amqp.connect(`${c.url}/fed-v3`);
    const undo: (() => Promise<void>)[] = [];
    try {
      const ch1 = await conn.createConfirmChannel();
      const ch3 = await conn3.createChannel();
      await ch1.assertExchange(x, "direct", { durable: true });
      const conn2 = await amqp.connect(`${c.url}/fed-v2`);
      await (await conn2.createChannel()).assertExchange(x, "direct", { durable: true });
      await conn2.close();
      await ch3.assertExchange(x, "direct", { durable: true });
      const q = uniqueName("vq");
      await ch3.assertQueue(q, { durable: true });
      await ch3.bindQueue(q, x, "k");
      undo.push(await federate(warrenSide(c), { vhost: "fed-v2", name: x, upstream: uniqueName("up-v1"), uri: "amqp:///fed-v1", maxHops }));
      undo.push(await federate(warrenSide(c), { vhost: "fed-v3", name: x, upstream: uniqueName("up-v2"), uri: "amqp:///fed-v2", maxHops }));
      await eventually(
        () => (boundFor(c, x, clusterC, "fed-v2").some((bd) => bd.routingKey === "k") ? true : undefined),
        "v3's binding in v2",
      );
      if (maxHops === 2) {
        await eventually(
          () => (boundFor(c, x, clusterC, "fed-v1").some((bd) => bd.routingKey === "k") ? true : undefined),
          "v3's binding in v1",
        );
      }
      ch1.publish(x, "k", Buffer.from("hop hop"), { persistent: true });
      await ch1.waitForConfirms();
      if (maxHops === 2) {
        const m = await eventually(async () => (await ch3.get(q, { noAck: true })) || undefined, "the message in v3");
        const trail = (m.properties.headers!["x-received-from"] as { vhost: string }[]).map((e) => e.vhost);
        expect(trail).toEqual(["fed-v2", "fed-v1"]);
      } else {
        await sleep(500);
        expect(boundFor(c, x, clusterC, "fed-v1")).toHaveLength(0);
        expect(await ch3.get(q, { noAck: true })).toBe(false);
      }
    } finally {
      for (const u of undo.reverse()) await u();
      await conn.close();
      await conn3.close();
    }
  }
});
