// A graceful restart keeps exactly the durable state: durable exchanges, queues and bindings
// (with their arguments and wire types), persistent messages in order with their properties,
// redelivered flags for what was delivered but unacked, and nothing that was not durable.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import amqp, { type Channel } from "amqplib";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBroker, type Broker } from "../../mod.ts";

setDefaultTimeout(60_000);

let broker: Broker | undefined;
let dataDir = "";
afterAll(async () => {
  await broker?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function open(): Promise<{ url: string; close: () => Promise<void>; ch: Channel }> {
  broker = await startBroker({ port: 0, bind: "127.0.0.1", dataDir, logLevel: "none" });
  const url = `amqp://guest:guest@127.0.0.1:${broker.port}`;
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  return { url, ch, close: () => conn.close() };
}

/** What exists: a passive declare per name, on a throwaway channel (a 404 closes it). */
async function exists(url: string, kind: "exchange" | "queue", name: string): Promise<boolean> {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  ch.on("error", () => {});
  try {
    if (kind === "exchange") await ch.checkExchange(name);
    else await ch.checkQueue(name);
    return true;
  } catch {
    return false;
  } finally {
    await conn.close().catch(() => {});
  }
}

const HEADERS = { str: "s", int: 7, big: 2 ** 40, flt: 1.5, yes: true, nested: { a: [1, "two"] } };

test("durable topology and persistent messages come back exactly; transient ones do not", async () => {
  dataDir = await mkdtemp(join(tmpdir(), "warren-restart-"));
  let { url, ch, close } = await open();
  await ch.assertExchange("d-topic", "topic", { durable: true });
  await ch.assertExchange("d-headers", "headers", { durable: true, arguments: { "alternate-exchange": "amq.fanout" } });
  await ch.assertExchange("d-fan", "fanout", { durable: true, internal: true });
  await ch.assertExchange("t-direct", "direct", { durable: false });
  await ch.assertQueue("d-q", { durable: true, arguments: { "x-max-length": 1000, "x-message-ttl": 60000 } });
  await ch.assertQueue("d-h", { durable: true });
  await ch.assertQueue("t-q", { durable: false });
  await ch.assertQueue("x-q", { exclusive: true });
  await ch.bindQueue("d-q", "d-topic", "a.#");
  await ch.bindQueue("d-h", "d-headers", "", { "x-match": "any", kind: "x", n: 5 });
  await ch.bindExchange("d-fan", "d-topic", "b.*");
  await ch.bindQueue("d-q", "d-fan", "");
  await ch.bindQueue("t-q", "d-topic", "a.#"); // a binding to a transient queue: not durable
  for (let i = 0; i < 5; i++) ch.publish("d-topic", "a.x", Buffer.from(`p${i}`), { persistent: true, headers: HEADERS, messageId: `id${i}`, priority: 3 });
  ch.publish("d-topic", "a.x", Buffer.from("transient"), { persistent: false });
  await ch.checkQueue("d-q");
  const unacked = await ch.get("d-q"); // delivered, not acked, at the stop
  expect(unacked && unacked.content.toString()).toBe("p0");
  await close();
  await broker!.stop();

  ({ url, ch, close } = await open());
  expect(await exists(url, "exchange", "d-topic")).toBe(true);
  expect(await exists(url, "exchange", "d-headers")).toBe(true);
  expect(await exists(url, "exchange", "d-fan")).toBe(true);
  expect(await exists(url, "exchange", "t-direct")).toBe(false);
  expect(await exists(url, "queue", "d-q")).toBe(true);
  expect(await exists(url, "queue", "t-q")).toBe(false);
  expect(await exists(url, "queue", "x-q")).toBe(false);

  // Equivalence holds with the recovered arguments (same → ok; different → 406).
  await ch.assertQueue("d-q", { durable: true, arguments: { "x-max-length": 1000, "x-message-ttl": 60000 } });
  await ch.assertExchange("d-headers", "headers", { durable: true, arguments: { "alternate-exchange": "amq.fanout" } });
  const redeclare = await amqp.connect(url).then(async (c) => {
    const c2 = await c.createChannel();
    c2.on("error", () => {});
    const code = await c2.assertQueue("d-q", { durable: true, arguments: { "x-max-length": 5 } }).then(() => 0, (e: { code: number }) => e.code);
    await c.close().catch(() => {});
    return code;
  });
  expect(redeclare).toBe(406);

  // Messages: in order, properties intact, the unacked one redelivered.
  const got: string[] = [];
  for (;;) {
    const m = await ch.get("d-q", { noAck: true });
    if (!m) break;
    got.push(`${m.content.toString()}${m.fields.redelivered ? "R" : ""}`);
    expect(m.properties.headers).toEqual(HEADERS);
    expect(m.properties.messageId).toBe(`id${got.length - 1}`);
    expect(m.properties.priority).toBe(3);
    expect(m.properties.deliveryMode).toBe(2);
  }
  expect(got).toEqual(["p0R", "p1", "p2", "p3", "p4"]);

  // Recovered bindings route: topic → queue, topic → exchange → queue, headers with arguments.
  ch.publish("d-topic", "a.y", Buffer.from("via-topic"));
  ch.publish("d-topic", "b.z", Buffer.from("via-fanout"));
  ch.publish("d-headers", "", Buffer.from("via-headers"), { headers: { n: 5 } });
  await ch.checkQueue("d-q");
  const routed: string[] = [];
  for (const q of ["d-q", "d-q", "d-h"]) {
    const m = await ch.get(q, { noAck: true });
    routed.push(m ? m.content.toString() : "none");
  }
  expect(routed).toEqual(["via-topic", "via-fanout", "via-headers"]);
  await close();
});

test("a message's expiry survives a restart: it expires on time even though the broker was down", async () => {
  await rm(dataDir, { recursive: true, force: true });
  dataDir = await mkdtemp(join(tmpdir(), "warren-restart-"));
  let { ch, close } = await open();
  await ch.assertQueue("ttl-q", { durable: true });
  ch.sendToQueue("ttl-q", Buffer.from("short"), { persistent: true, expiration: "300" });
  ch.sendToQueue("ttl-q", Buffer.from("long"), { persistent: true, expiration: "600000" });
  await ch.checkQueue("ttl-q");
  await close();
  await broker!.stop();
  await new Promise((r) => setTimeout(r, 400));
  ({ ch, close } = await open());
  const m = await ch.get("ttl-q", { noAck: true });
  expect(m && m.content.toString()).toBe("long");
  await close();
});
