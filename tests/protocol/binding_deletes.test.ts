// Deleting queues and exchanges among many removes every binding to them, from every exchange: the
// vhost finds the exchanges to visit through an index of who bound each destination (a superset:
// unbinds do not prune it). Checked against a model of the bindings, fresh and after a restart
// (where the bindings come back from the store), with exchanges deleted and declared again under the
// same name, exchange-to-exchange bindings, unbinds before deletes, and auto-delete sources.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import type { ChannelModel } from "amqplib";
import { cleanupRestartBrokers, connect, start, stop, tempDir } from "../helpers/restart_brokers.ts";

setDefaultTimeout(60_000);
afterAll(cleanupRestartBrokers);

const QUEUES = 200;
const EXCHANGES = 60;
const auth = { authorization: `Basic ${btoa("guest:guest")}` };

interface Bound {
  source: string;
  destination: string;
  destination_type: string;
  routing_key: string;
}
const key = (b: Bound) => `${b.source} ${b.destination_type} ${b.destination} ${b.routing_key}`;

/** The topology every test starts from, and the bindings it made (the model). */
async function declare(conn: ChannelModel): Promise<Bound[]> {
  const ch = await conn.createChannel();
  const model: Bound[] = [];
  const pending: Promise<unknown>[] = [];
  for (let x = 0; x < EXCHANGES; x++) pending.push(ch.assertExchange(`d-x${x}`, "direct", { durable: true }));
  for (let q = 0; q < QUEUES; q++) pending.push(ch.assertQueue(`d-q${q}`, { durable: true }));
  await Promise.all(pending);
  for (let q = 0; q < QUEUES; q++) {
    for (const x of [q % EXCHANGES, (q * 7 + 1) % EXCHANGES, (q * 13 + 2) % EXCHANGES]) {
      const b = { source: `d-x${x}`, destination: `d-q${q}`, destination_type: "queue", routing_key: `k${q}` };
      if (model.some((m) => key(m) === key(b))) continue;
      model.push(b);
      pending.push(ch.bindQueue(b.destination, b.source, b.routing_key));
    }
  }
  for (let x = 0; x < EXCHANGES; x++) {
    const b = { source: `d-x${x}`, destination: `d-x${(x * 11 + 3) % EXCHANGES}`, destination_type: "exchange", routing_key: `e${x}` };
    model.push(b);
    pending.push(ch.bindExchange(b.destination, b.source, b.routing_key));
  }
  await Promise.all(pending);
  await ch.close();
  return model;
}

async function listed(httpPort: number): Promise<string[]> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/api/bindings/%2F`, { headers: auth });
  const all = (await res.json()) as Bound[];
  return all.filter((b) => b.source.startsWith("d-")).map(key).sort();
}

/** Deletes, unbinds and redeclares, applying each to the model; then checks the broker agrees. */
async function deleteMany(conn: ChannelModel, httpPort: number, model: Bound[]): Promise<void> {
  const ch = await conn.createChannel();
  const drop = (gone: (b: Bound) => boolean) => model.splice(0, model.length, ...model.filter((b) => !gone(b)));
  // An unbind before the delete leaves the index entry behind: harmless.
  await ch.unbindQueue("d-q2", "d-x2", "k2");
  drop((b) => b.destination === "d-q2" && b.source === "d-x2");
  // An exchange deleted and declared again under its name, bound afresh.
  await ch.deleteExchange("d-x5");
  drop((b) => b.source === "d-x5" || (b.destination === "d-x5" && b.destination_type === "exchange"));
  await ch.assertExchange("d-x5", "direct", { durable: true });
  await ch.bindQueue("d-q1", "d-x5", "again");
  model.push({ source: "d-x5", destination: "d-q1", destination_type: "queue", routing_key: "again" });
  // An auto-delete exchange whose only binding goes with the queue.
  await ch.assertExchange("d-auto", "fanout", { durable: true, autoDelete: true });
  await ch.bindQueue("d-q1", "d-auto", "");
  for (let q = 0; q < QUEUES; q += 2) {
    await ch.deleteQueue(`d-q${q}`);
    drop((b) => b.destination === `d-q${q}` && b.destination_type === "queue");
  }
  await ch.deleteQueue("d-q1");
  drop((b) => b.destination === "d-q1" && b.destination_type === "queue");
  for (let x = 0; x < EXCHANGES; x += 4) {
    await ch.deleteExchange(`d-x${x}`);
    drop((b) => b.source === `d-x${x}` || (b.destination === `d-x${x}` && b.destination_type === "exchange"));
  }
  await ch.close();
  expect(await listed(httpPort)).toEqual(model.map(key).sort());
  expect((await fetch(`http://127.0.0.1:${httpPort}/api/exchanges/%2F/d-auto`, { headers: auth })).status).toBe(404);
}

/** Every binding of the model routes, and a deleted queue's key routes nowhere. */
async function routes(conn: ChannelModel, model: Bound[]): Promise<void> {
  const ch = await conn.createConfirmChannel();
  let returned = 0;
  ch.on("return", () => returned++);
  const direct = model.filter((b) => b.destination_type === "queue");
  for (const b of direct) ch.publish(b.source, b.routing_key, Buffer.from("x"), { mandatory: true });
  ch.publish("d-x1", "k0", Buffer.from("x"), { mandatory: true }); // d-q0 is gone: returned
  await ch.waitForConfirms();
  expect(returned).toBe(1);
  await ch.close();
}

test(`deleting ${QUEUES / 2} queues and ${EXCHANGES / 4} exchanges removes every binding to them`, async () => {
  const dir = await tempDir();
  const { broker, url } = await start(dir);
  const conn = await connect(url);
  const model = await declare(conn);
  expect(await listed(broker.httpPort!)).toEqual(model.map(key).sort());
  await deleteMany(conn, broker.httpPort!, model);
  await routes(conn, model);
  await conn.close();
  await stop(broker);
});

test("the same after a restart, where the bindings come back from the store", async () => {
  const dir = await tempDir();
  let { broker, url } = await start(dir);
  let conn = await connect(url);
  const model = await declare(conn);
  await conn.close();
  await stop(broker);
  ({ broker, url } = await start(dir));
  conn = await connect(url);
  expect(await listed(broker.httpPort!)).toEqual(model.map(key).sort());
  await deleteMany(conn, broker.httpPort!, model);
  await routes(conn, model);
  await conn.close();
  await stop(broker);
  ({ broker, url } = await start(dir));
  expect(await listed(broker.httpPort!)).toEqual(model.map(key).sort());
  await stop(broker);
});
