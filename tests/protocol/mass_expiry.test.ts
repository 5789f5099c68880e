// A whole backlog due to expire at once (after a pause of the event loop, or messages that expired
// while the broker was down) leaves 1,024 per turn, not in one turn: every message is still
// dead-lettered once, in order, with reason expired, and none is delivered after its TTL.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { cleanupRestartBrokers, connect, start, stop, tempDir } from "../helpers/restart_brokers.ts";
import { TurnCounter } from "../helpers/turns.ts";
import { until } from "../helpers/until.ts";
import type { Broker } from "../../mod.ts";

setDefaultTimeout(60_000);
afterAll(cleanupRestartBrokers);

const COUNT = 5_000;
const TTL_MS = 300;

const numbered = (n: number) => {
  const b = Buffer.alloc(32);
  b.writeUInt32BE(n, 0);
  return b;
};

async function fill(url: string): Promise<void> {
  const conn = await connect(url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue("expired-here", { durable: true });
  await ch.assertQueue("ttl-q", {
    durable: true,
    arguments: { "x-message-ttl": TTL_MS, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "expired-here" },
  });
  for (let i = 0; i < COUNT; i++) ch.sendToQueue("ttl-q", numbered(i), { persistent: true });
  await ch.waitForConfirms();
  await conn.close();
}

/**
 * Counts the queue's dead-letterings per turn, then stalls the event loop past every message's
 * TTL: when it runs again, all of them are due at once.
 */
function pauseWhileDue(broker: Broker, queueName: string): TurnCounter {
  const queue = broker.vhosts.get("/")!.queues.get(queueName)!;
  const turns = new TurnCounter();
  const host = queue.host!;
  queue.host = {
    ...host,
    deadLetter: (...args) => {
      turns.note();
      host.deadLetter(...args);
    },
  };
  const until_ = Date.now() + TTL_MS + 200;
  while (Date.now() < until_) { /* a paused loop */ }
  return turns;
}

async function expectAllDeadLettered(url: string): Promise<void> {
  const conn = await connect(url);
  const ch = await conn.createChannel();
  await until("all dead-lettered", async () => (await ch.checkQueue("expired-here")).messageCount === COUNT, 30_000);
  expect((await ch.checkQueue("ttl-q")).messageCount).toBe(0);
  const seen: number[] = [];
  for (let m = await ch.get("expired-here", { noAck: true }); m; m = await ch.get("expired-here", { noAck: true })) {
    seen.push(m.content.readUInt32BE(0));
    const death = (m.properties.headers?.["x-death"] as { reason: string; queue: string }[])[0]!;
    expect([death.reason, death.queue]).toEqual(["expired", "ttl-q"]);
  }
  expect(seen).toEqual(Array.from({ length: COUNT }, (_, i) => i));
  await conn.close();
}

test(`${COUNT} messages due at once after a pause leave at most 1,024 per turn`, async () => {
  const dir = await tempDir();
  const { broker, url } = await start(dir);
  await fill(url);
  const turns = pauseWhileDue(broker, "ttl-q");
  await expectAllDeadLettered(url);
  turns.stop();
  expect(turns.mostInOneTurn).toBeLessThanOrEqual(1_024);
  expect(turns.mostInOneTurn).toBeGreaterThan(0);
  await stop(broker);
});

test(`${COUNT} messages that expired while the broker was down are dead-lettered after the boot`, async () => {
  const dir = await tempDir();
  let { broker, url } = await start(dir);
  await fill(url);
  await stop(broker);
  await new Promise((r) => setTimeout(r, TTL_MS + 200));
  ({ broker, url } = await start(dir));
  await expectAllDeadLettered(url);
  await stop(broker);
});

test("a consumer waiting behind a backlog due at once gets what follows it, and the expiry stays a slice per turn", async () => {
  const dir = await tempDir();
  const { broker, url } = await start(dir);
  const conn = await connect(url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue("expired-here", { durable: true });
  await ch.assertQueue("mixed", {
    durable: true,
    arguments: { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "expired-here" },
  });
  for (let i = 0; i < COUNT; i++) ch.sendToQueue("mixed", numbered(i), { persistent: true, expiration: String(TTL_MS) });
  for (let i = 0; i < 10; i++) ch.sendToQueue("mixed", numbered(COUNT + i), { persistent: true });
  await ch.waitForConfirms();
  const turns = pauseWhileDue(broker, "mixed");
  const got: number[] = [];
  await ch.consume("mixed", (m) => got.push(m!.content.readUInt32BE(0)), { noAck: true });
  await until("the ten that follow delivered", () => got.length === 10, 30_000);
  expect(got).toEqual(Array.from({ length: 10 }, (_, i) => COUNT + i));
  await until("all dead-lettered", async () => (await ch.checkQueue("expired-here")).messageCount === COUNT, 30_000);
  turns.stop();
  expect(turns.mostInOneTurn).toBeLessThanOrEqual(1_024);
  await conn.close();
  await stop(broker);
});
