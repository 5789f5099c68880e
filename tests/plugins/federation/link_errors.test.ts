// A link whose upstream objects disappear is shown as error with the reason, never silently
// running, and is re-established; a link whose upstream cannot be reached says why; restart.
import { afterAll, beforeAll, expect, test } from "bun:test";
import amqp from "amqplib";
import { startTestBroker, type TestBroker } from "../../helpers/broker.ts";
import { api } from "../../helpers/http.ts";
import { setCheckInterval } from "../../../plugins/federation/exchange_link.ts";
import { eventually, uniqueName } from "./reference.ts";
import { federate, warrenSide } from "./topology.ts";
import { freePort } from "../../helpers/warren_process.ts";

let a: TestBroker;
let b: TestBroker;
const clusterB = uniqueName("warren-b");
beforeAll(async () => {
  setCheckInterval(200);
  a = await startTestBroker();
  b = await startTestBroker({ clusterName: clusterB });
});
afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

type LinkJson = Record<string, string>;
const links = async (): Promise<LinkJson[]> => (await api(b.httpUrl, "GET", "/api/federation-links")).body;

async function setUp(x: string): Promise<{ undo: () => Promise<void>; q: string }> {
  const ac = await amqp.connect(a.url);
  await (await ac.createChannel()).assertExchange(x, "fanout", { durable: true });
  await ac.close();
  const bc = await amqp.connect(b.url);
  const ch = await bc.createChannel();
  await ch.assertExchange(x, "fanout", { durable: true });
  const q = uniqueName("q");
  await ch.assertQueue(q, { durable: true });
  await ch.bindQueue(q, x, "");
  await bc.close();
  const undo = await federate(warrenSide(b), { name: x, upstream: uniqueName("up"), uri: a.url, extra: { "reconnect-delay": 0.3 } });
  return { undo, q };
}

/** Publishes one message on A and waits for it in B's queue. */
async function flows(x: string, q: string, text: string): Promise<void> {
  const ac = await amqp.connect(a.url);
  const ach = await ac.createConfirmChannel();
  ach.publish(x, "", Buffer.from(text), { persistent: true });
  await ach.waitForConfirms();
  await ac.close();
  const bc = await amqp.connect(b.url);
  const bch = await bc.createChannel();
  const m = await eventually(async () => (await bch.get(q, { noAck: true })) || undefined, `"${text}" downstream`);
  expect(m.content.toString()).toBe(text);
  await bc.close();
}

for (const what of ["queue", "exchange", "internal exchange"] as const) {
  test(`the upstream ${what} deleted: the link shows error with the reason, then runs again and messages flow`, async () => {
    const x = uniqueName("gone");
    const { undo, q } = await setUp(x);
    try {
      await flows(x, q, "before");
      const qName = `federation: ${x} -> ${clusterB}`;
      const internal = [...a.broker.vhosts.get("/")!.exchanges.keys()].find((n) => n.startsWith(`${qName} `))!;
      const observed: LinkJson[] = [];
      const watch = setInterval(async () => observed.push(...(await links().catch(() => []))), 20);
      try {
        const ac = await amqp.connect(a.url);
        const ch = await ac.createChannel();
        if (what === "queue") await ch.deleteQueue(qName);
        else if (what === "exchange") await ch.deleteExchange(x);
        else await ch.deleteExchange(internal);
        await ac.close();
        const error = await eventually(() => observed.find((l) => l.status === "error"), "the link in error");
        expect(error.error).toContain(
          what === "queue"
            ? `upstream queue '${qName}'`
            : what === "exchange"
            ? `upstream exchange '${x}'`
            : `upstream exchange '${internal}'`,
        );
        const at = observed.indexOf(error);
        await eventually(() => (observed.slice(at).some((l) => l.status === "running") ? true : undefined), "the link running again");
      } finally {
        clearInterval(watch);
        if (process.env.FED_DEBUG) console.log(JSON.stringify(observed.map((l) => [l.status, l.error, l.timestamp])));
      }
      await flows(x, q, "after");
    } finally {
      await undo();
    }
  });
}

test("an unreachable upstream: error econnrefused, listed as down; a restart connects at once once it is back", async () => {
  const port = await freePort();
  const x = uniqueName("refused");
  const bc = await amqp.connect(b.url);
  await (await bc.createChannel()).assertExchange(x, "fanout", { durable: true });
  await bc.close();
  const upstream = uniqueName("up");
  await api(b.httpUrl, "PUT", `/api/parameters/federation-upstream/%2f/${upstream}`, {
    value: { uri: `amqp://guest:guest@127.0.0.1:${port}`, "reconnect-delay": 60 },
  });
  await api(b.httpUrl, "PUT", `/api/policies/%2f/${upstream}`, { pattern: `^${x}$`, definition: { "federation-upstream": upstream } });
  try {
    const link = await eventually(async () => (await links()).find((l) => l.exchange === x && l.status === "error"), "the link in error");
    expect(link).toMatchObject({ error: "econnrefused", uri: `amqp://127.0.0.1:${port}`, upstream });
    expect(JSON.stringify(await links())).not.toContain("guest:guest");
    expect((await api(b.httpUrl, "GET", "/api/federation-links/state/down")).body.map((l: LinkJson) => l.exchange)).toContain(x);
    expect((await api(b.httpUrl, "GET", "/api/federation-links/%2f/state/down")).body.map((l: LinkJson) => l.exchange)).toContain(x);
    expect((await api(b.httpUrl, "GET", "/api/federation-links/nope")).status).toBe(404);
    const metrics = await (await fetch(`http://127.0.0.1:${b.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/rabbitmq_federation_links\{status="error"\} [1-9]/);
    // The upstream comes up; the next attempt would be a minute away, a restart makes it now.
    const back = await startTestBroker({ port });
    try {
      const bx = await amqp.connect(back.url);
      await (await bx.createChannel()).assertExchange(x, "fanout", { durable: true });
      await bx.close();
      const node = b.broker.alarms.node;
      expect((await api(b.httpUrl, "DELETE", `/api/federation-links/vhost/%2f/00000000/${node}/restart`)).status).toBe(404);
      expect((await api(b.httpUrl, "DELETE", `/api/federation-links/vhost/%2f/${link.id}/other@node/restart`)).status).toBe(404);
      expect((await api(b.httpUrl, "DELETE", `/api/federation-links/vhost/%2f/${link.id}/${node}/restart`)).status).toBe(204);
      await eventually(
        async () => (await links()).find((l) => l.exchange === x && l.status === "running"),
        "the restarted link running",
        10_000,
      );
    } finally {
      await api(b.httpUrl, "DELETE", `/api/policies/%2f/${upstream}`);
      await back.stop();
    }
  } finally {
    await api(b.httpUrl, "DELETE", `/api/policies/%2f/${upstream}`);
    await api(b.httpUrl, "DELETE", `/api/parameters/federation-upstream/%2f/${upstream}`);
  }
  expect((await links()).filter((l) => l.exchange === x)).toEqual([]);
});

test("a queue federated both ways between two Warrens: messages move to where they are consumed, and back", async () => {
  const q = uniqueName("both");
  for (const broker of [a, b]) {
    const c = await amqp.connect(broker.url);
    await (await c.createChannel()).assertQueue(q, { durable: true });
    await c.close();
  }
  const undoB = await federate(warrenSide(b), {
    name: q,
    kind: "queues",
    upstream: uniqueName("to-a"),
    uri: a.url,
    extra: { "reconnect-delay": 0.3 },
  });
  const undoA = await federate(warrenSide(a), {
    name: q,
    kind: "queues",
    upstream: uniqueName("to-b"),
    uri: b.url,
    extra: { "reconnect-delay": 0.3 },
  });
  try {
    const consumeOn = async (broker: TestBroker, n: number) => {
      const c = await amqp.connect(broker.url);
      const ch = await c.createChannel();
      await ch.prefetch(10);
      const got: string[] = [];
      await ch.consume(q, (m) => {
        if (!m) return;
        got.push(m.content.toString());
        ch.ack(m);
      });
      await eventually(() => (got.length >= n ? true : undefined), `${n} messages consumed`);
      // The channel first: amqplib writes each channel's frames through its own stream and may put
      // connection.close (channel 0) on the wire before acks still queued on channel 1; the broker
      // then requeues those messages on close, as RabbitMQ does. channel.close follows the acks.
      await ch.close();
      await c.close();
      return got;
    };
    const publishOn = async (broker: TestBroker, prefix: string) => {
      const c = await amqp.connect(broker.url);
      const ch = await c.createConfirmChannel();
      for (let i = 0; i < 5; i++) ch.sendToQueue(q, Buffer.from(`${prefix}${i}`), { persistent: true });
      await ch.waitForConfirms();
      await c.close();
    };
    await publishOn(a, "a");
    expect((await consumeOn(b, 5)).sort()).toEqual(["a0", "a1", "a2", "a3", "a4"]);
    await publishOn(b, "b");
    expect((await consumeOn(a, 5)).sort()).toEqual(["b0", "b1", "b2", "b3", "b4"]);
    // The links ack upstream after their own publish is confirmed, so the last acks may still be
    // on their way when the consumer has everything.
    for (const broker of [a, b]) {
      const queue = broker.broker.vhosts.get("/")!.queues.get(q)!;
      await eventually(() => (queue.messageCount === 0 ? true : undefined), `no message left in ${q} on ${broker.url}`);
    }
  } finally {
    await undoA();
    await undoB();
  }
});
