// Many federation links at once between two Warrens over TCP: one policy federates 200
// exchanges, so 200 links start, carry each exchange's messages to its own queue only, come back
// after a restart of either side (the upstream's all at once, after their reconnect delay), and
// leave nothing behind upstream when the policy goes.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import type { Channel } from "amqplib";
import { api } from "../../helpers/http.ts";
import { cleanupRestartBrokers, connect, start, stop, tempDir } from "../../helpers/restart_brokers.ts";
import { freePort } from "../../helpers/warren_process.ts";
import { until } from "../shovel_helpers.ts";

setDefaultTimeout(120_000);
afterAll(cleanupRestartBrokers);

const LINKS = 200;
const names = Array.from({ length: LINKS }, (_, i) => `many-fx-${String(i).padStart(3, "0")}`);

interface Link {
  exchange: string;
  status: string;
}

async function runningLinks(http: string): Promise<number> {
  const links = (await api(http, "GET", "/api/federation-links")).body as Link[];
  return links.filter((l) => names.includes(l.exchange) && l.status === "running").length;
}

/** Publishes `round` to every upstream exchange, with confirms. */
async function publishRound(upstreamUrl: string, round: string): Promise<void> {
  const conn = await connect(upstreamUrl);
  const ch = await conn.createConfirmChannel();
  for (const x of names) ch.publish(x, "", Buffer.from(`${x}:${round}`), { persistent: true });
  await ch.waitForConfirms();
  await conn.close();
}

/** Every federated exchange's queue holds exactly `rounds` of its own messages, in order. */
async function expectDelivered(ch: Channel, rounds: string[]): Promise<void> {
  await until(`${LINKS} × ${rounds.length} federated messages`, async () => {
    for (const x of names) if ((await ch.checkQueue(`${x}-q`)).messageCount < rounds.length) return false;
    return true;
  });
  for (const x of names) {
    const got: string[] = [];
    for (let m = await ch.get(`${x}-q`, { noAck: true }); m; m = await ch.get(`${x}-q`, { noAck: true })) got.push(m.content.toString());
    expect({ x, got }).toEqual({ x, got: rounds.map((r) => `${x}:${r}`) });
  }
}

test(`${LINKS} federated exchanges: links start, carry, survive restarts of either side, and clean up`, async () => {
  const upstreamPort = await freePort();
  const upstreamDir = await tempDir(), downstreamDir = await tempDir();
  let upstream = await start(upstreamDir, { port: upstreamPort });
  let downstream = await start(downstreamDir);
  let http = `http://127.0.0.1:${downstream.broker.httpPort}`;

  const conn = await connect(downstream.url);
  const ch = await conn.createChannel();
  for (const x of names) {
    await ch.assertExchange(x, "fanout", { durable: true });
    await ch.assertQueue(`${x}-q`, { durable: true });
    await ch.bindQueue(`${x}-q`, x, "");
  }
  await conn.close();
  const upstreamValue = { uri: upstream.url, "reconnect-delay": 0.5 };
  expect((await api(http, "PUT", "/api/parameters/federation-upstream/%2f/up", { value: upstreamValue })).status).toBeLessThan(300);
  const policy = { pattern: "^many-fx-", "apply-to": "exchanges", definition: { "federation-upstream": "up" } };
  expect((await api(http, "PUT", "/api/policies/%2f/many", policy)).status).toBeLessThan(300);
  await until(`${LINKS} links running`, async () => (await runningLinks(http)) === LINKS);

  await publishRound(upstream.url, "first");
  let check = await connect(downstream.url);
  await expectDelivered(await check.createChannel(), ["first"]);
  await check.close();

  // The downstream restarts: its links start again from its store.
  await stop(downstream.broker);
  downstream = await start(downstreamDir);
  http = `http://127.0.0.1:${downstream.broker.httpPort}`;
  await until(`${LINKS} links running after the downstream's restart`, async () => (await runningLinks(http)) === LINKS);
  await publishRound(upstream.url, "second");
  // Acknowledged upstream before it stops (else a redelivery after its restart is a duplicate,
  // which federation allows).
  await until("the upstream's federation queues empty and acknowledged", async () => {
    const http = `http://127.0.0.1:${upstream.broker.httpPort}`;
    const queues = (await api(http, "GET", "/api/queues/%2f?columns=name,messages")).body as { name: string; messages: number }[];
    const links = queues.filter((q) => q.name.startsWith("federation:"));
    return links.length === LINKS && links.every((q) => q.messages === 0);
  });

  // The upstream restarts: every link loses its connection at once and reconnects.
  await stop(upstream.broker);
  upstream = await start(upstreamDir, { port: upstreamPort });
  await until(`${LINKS} links running after the upstream's restart`, async () => (await runningLinks(http)) === LINKS);
  await publishRound(upstream.url, "third");
  check = await connect(downstream.url);
  await expectDelivered(await check.createChannel(), ["second", "third"]);
  await check.close();

  // Without the policy the links stop and remove their queues and exchanges upstream.
  expect((await api(http, "DELETE", "/api/policies/%2f/many")).status).toBeLessThan(300);
  const upstreamHttp = `http://127.0.0.1:${upstream.broker.httpPort}`;
  await until("no federation queues or exchanges left upstream", async () => {
    const queues = (await api(upstreamHttp, "GET", "/api/queues/%2f?columns=name")).body as { name: string }[];
    const exchanges = (await api(upstreamHttp, "GET", "/api/exchanges/%2f?columns=name")).body as { name: string }[];
    return !queues.some((q) => q.name.startsWith("federation:")) && !exchanges.some((x) => x.name.startsWith("federation:"));
  });
  expect(await runningLinks(http)).toBe(0);
});
