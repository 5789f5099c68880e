// Deleting a vhost with many queues: they go VHOST_QUEUES_PER_TURN per turn, so other connections
// are served meanwhile; the vhost is gone for clients at once, its name cannot be added again until
// everything of it is gone, and a broker stop waits for the deletion. Afterwards nothing of it is
// left, in memory or in the store (checked after a restart), and the name can be used afresh.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { VHOST_QUEUES_PER_TURN } from "../../src/broker/management.ts";
import { cleanupRestartBrokers, connect, start, stop, tempDir } from "../helpers/restart_brokers.ts";
import { TurnCounter } from "../helpers/turns.ts";

setDefaultTimeout(60_000);
afterAll(cleanupRestartBrokers);

const QUEUES = VHOST_QUEUES_PER_TURN * 4 + 100;
const auth = { authorization: `Basic ${btoa("guest:guest")}`, "content-type": "application/json" };

async function fill(httpPort: number, url: string): Promise<void> {
  expect((await fetch(`http://127.0.0.1:${httpPort}/api/vhosts/doomed`, { method: "PUT", headers: auth })).status).toBe(201);
  const body = JSON.stringify({ pattern: "^q", definition: { "max-length": 100 }, "apply-to": "queues" });
  expect((await fetch(`http://127.0.0.1:${httpPort}/api/policies/doomed/limit`, { method: "PUT", headers: auth, body })).status).toBe(201);
  const conn = await connect(`${url}/doomed`);
  const ch = await conn.createConfirmChannel();
  await ch.assertExchange("x", "topic", { durable: true });
  for (let i = 0; i < QUEUES; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, QUEUES - i) }, async (_, k) => {
        await ch.assertQueue(`q${i + k}`, { durable: true });
        await ch.bindQueue(`q${i + k}`, "x", `k.${i + k}`);
        ch.publish("x", `k.${i + k}`, Buffer.from(`m${i + k}`), { persistent: true });
      }),
    );
  }
  await ch.waitForConfirms();
  await conn.close();
}

test(`a vhost with ${QUEUES} queues goes over several turns, and nothing of it is left`, async () => {
  const dir = await tempDir();
  let { broker, url } = await start(dir);
  await fill(broker.httpPort!, url);
  const turns = new TurnCounter();
  const deleted = broker.deleteVhost("doomed");
  // Gone for clients at once; the name cannot be added again while its rows are being deleted.
  expect(broker.vhosts.has("doomed")).toBe(false);
  expect(() => broker.addVhost("doomed")).toThrow("vhost 'doomed' is being deleted");
  const put = await fetch(`http://127.0.0.1:${broker.httpPort}/api/vhosts/doomed`, { method: "PUT", headers: auth });
  expect(put.status).toBe(400);
  expect(await put.text()).toContain("is being deleted");
  await deleted;
  turns.stop();
  expect(turns.turns).toBeGreaterThanOrEqual(4);
  // The name is free again, and the new vhost starts empty.
  broker.addVhost("doomed");
  broker.setPermissions("guest", "doomed", { configure: ".*", write: ".*", read: ".*" });
  const conn = await connect(`${url}/doomed`);
  const ch = await conn.createChannel();
  await ch.assertQueue("fresh", { durable: true });
  await conn.close();
  expect([...broker.vhosts.get("doomed")!.queues.keys()]).toEqual(["fresh"]);
  expect(broker.vhosts.get("doomed")!.policies.size).toBe(0);
  await stop(broker);
  ({ broker, url } = await start(dir));
  const vhost = broker.vhosts.get("doomed")!;
  expect([...vhost.queues.keys()]).toEqual(["fresh"]);
  expect(vhost.exchanges.has("x")).toBe(false);
  expect(vhost.policies.size).toBe(0);
  await stop(broker);
});

test("a broker stop waits for a vhost deletion under way; after a restart the vhost is gone", async () => {
  const dir = await tempDir();
  let { broker, url } = await start(dir);
  await fill(broker.httpPort!, url);
  const deleted = broker.deleteVhost("doomed");
  await stop(broker);
  await deleted;
  ({ broker, url } = await start(dir));
  expect(broker.vhosts.has("doomed")).toBe(false);
  const queues = (await (await fetch(`http://127.0.0.1:${broker.httpPort}/api/queues`, { headers: auth })).json()) as unknown[];
  expect(queues.length).toBe(0);
  await stop(broker);
});
