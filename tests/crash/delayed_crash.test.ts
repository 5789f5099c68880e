// Held delayed messages survive kill -9: a confirm for a persistent message on a durable
// x-delayed-message exchange means it is in the store, so after a SIGKILL and a restart every
// confirmed message is delivered, exactly once (the held row is deleted in the commit that
// stores the routed copy, so no message is both held and queued). Messages that fell due while
// the broker was down are released at boot, in due order, after the startup line; with the
// delayed-overdue-dead-letter-exchange policy key they go to that exchange instead.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import amqp, { type Channel, type ChannelModel } from "amqplib";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { publishUntilStopped, seeded, sleep, within } from "../helpers/crash_harness.ts";
import { api } from "../helpers/http.ts";
import { freePort, killAllWarrens, spawnWarren, type WarrenProcess } from "../helpers/warren_process.ts";

setDefaultTimeout(120_000);

const SEED = Number(process.env.WARREN_CRASH_SEED ?? 16);
const dirs: string[] = [];
afterAll(async () => {
  await killAllWarrens();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function dataDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "warren-delayed-crash-"));
  dirs.push(d);
  return d;
}

async function connect(p: WarrenProcess): Promise<ChannelModel> {
  const conn = await within(amqp.connect(p.url), 10_000, "connecting");
  conn.on("error", () => {});
  return conn;
}

async function topology(ch: Channel, exchange: string, queue: string): Promise<void> {
  await ch.assertExchange(exchange, "x-delayed-message", { durable: true, arguments: { "x-delayed-type": "direct" } });
  await ch.assertQueue(queue, { durable: true });
  await ch.bindQueue(queue, exchange, "k");
}

/** Consumes (acking) until `until` says stop or the time is up; returns the bodies in order. */
async function consumeUntil(ch: Channel, queue: string, until: (bodies: string[]) => boolean, ms: number): Promise<string[]> {
  const bodies: string[] = [];
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  await ch.consume(queue, (m) => {
    if (!m) return;
    bodies.push(m.content.toString());
    ch.ack(m);
    if (until(bodies)) done();
  });
  await Promise.race([finished, sleep(ms)]);
  return bodies;
}

test("every confirmed delayed message is delivered once after kill -9", async () => {
  const random = seeded(SEED);
  const dir = await dataDir();
  let broker = await spawnWarren({ dataDir: dir, logLevel: "info" });
  let conn = await connect(broker);
  const setup = await conn.createChannel();
  await topology(setup, "delayed-crash", "delayed-crash-q");
  const ch = await conn.createConfirmChannel();
  ch.on("error", () => {});
  const confirmed = new Set<string>();
  const sent = new Set<string>();
  const killAfter = 300 + Math.floor(random() * 1500);
  let stop = false;
  const publishing = publishUntilStopped(ch, (i) => {
    const id = `m${i}`;
    sent.add(id);
    // Delays from 0.2 s to 4 s: some are released before the kill, most after the restart.
    const delay = 200 + Math.floor(random() * 3800);
    ch.publish("delayed-crash", "k", Buffer.from(id), { persistent: true, headers: { "x-delay": delay } }, (err) => {
      if (!err) confirmed.add(id);
    });
  }, () => stop);
  await sleep(killAfter);
  await broker.kill9();
  stop = true;
  await publishing.catch(() => {});
  expect(confirmed.size).toBeGreaterThan(0);

  broker = await spawnWarren({ dataDir: dir, logLevel: "info" });
  conn = await connect(broker);
  const consumer = await conn.createChannel();
  // Linear in the messages: a check that scanned every body per delivery was cubic and, with the
  // tens of thousands a fast publisher gets confirmed before the kill, never finished.
  const seen = new Set<string>();
  let confirmedSeen = 0;
  const bodies = await consumeUntil(consumer, "delayed-crash-q", (b) => {
    const last = b[b.length - 1]!;
    if (!seen.has(last)) {
      seen.add(last);
      if (confirmed.has(last)) confirmedSeen++;
    }
    return confirmedSeen === confirmed.size;
  }, 20_000);
  await sleep(300); // anything extra (a duplicate) would arrive now
  const received = new Set(bodies);
  const lost = [...confirmed].filter((id) => !received.has(id));
  const firstSeen = new Set<string>();
  const duplicates = bodies.filter((b) => firstSeen.has(b) || (firstSeen.add(b), false));
  const unknown = bodies.filter((b) => !sent.has(b));
  expect({ lost, duplicates, unknown }).toEqual({ lost: [], duplicates: [], unknown: [] });
  await conn.close();
  await broker.kill9();
});

test("messages due while the broker was down are released at boot in due order; the policy key dead-letters them", async () => {
  const dir = await dataDir();
  const httpPort = await freePort();
  let broker = await spawnWarren({ dataDir: dir, logLevel: "info", args: ["--http-port", String(httpPort)] });
  let conn = await connect(broker);
  const ch = await conn.createConfirmChannel();
  await topology(ch, "delayed-overdue", "delayed-overdue-q");
  await topology(ch, "delayed-dl", "delayed-dl-q");
  await ch.assertExchange("delayed-dlx", "fanout", { durable: true });
  await ch.assertQueue("delayed-dlx-q", { durable: true });
  await ch.bindQueue("delayed-dlx-q", "delayed-dlx", "");
  const policy = await api(`http://127.0.0.1:${httpPort}`, "PUT", "/api/policies/%2F/delayed-overdue", {
    pattern: "^delayed-dl$",
    "apply-to": "exchanges",
    definition: { "delayed-overdue-dead-letter-exchange": "delayed-dlx" },
  });
  expect(policy.status).toBe(201);
  // 100 messages per exchange due about 10 ms apart, published in reverse due order; one due in an hour.
  for (let i = 99; i >= 0; i--) {
    ch.publish("delayed-overdue", "k", Buffer.from(`o${i}`), { persistent: true, headers: { "x-delay": 300 + 10 * i } });
    ch.publish("delayed-dl", "k", Buffer.from(`d${i}`), { persistent: true, headers: { "x-delay": 300 + 10 * i } });
  }
  ch.publish("delayed-overdue", "k", Buffer.from("later"), { persistent: true, headers: { "x-delay": 3_600_000 } });
  await ch.waitForConfirms();
  // Due order as the broker holds it (a slow client may publish two messages > 10 ms apart).
  const dueOrder = async (exchange: string) => {
    const page = await api(`http://127.0.0.1:${httpPort}`, "GET", `/api/exchanges/%2F/${exchange}/delayed?page_size=500`);
    return (page.body.items as { payload: string }[]).map((m) => m.payload).filter((p) => p !== "later");
  };
  const expectedOverdue = await dueOrder("delayed-overdue");
  const expectedDead = await dueOrder("delayed-dl");
  expect(expectedOverdue.length).toBe(100);
  expect(expectedDead.length).toBe(100);
  await broker.kill9();
  await sleep(1_600); // all but one fall due while the broker is down

  broker = await spawnWarren({ dataDir: dir, logLevel: "info" });
  expect(broker.output()).toMatch(/201 delayed message\(s\) held in the store/);
  conn = await connect(broker);
  const consumer = await conn.createChannel();
  const released = await consumeUntil(consumer, "delayed-overdue-q", (b) => b.length === 100, 10_000);
  expect(released).toEqual(expectedOverdue);
  const deadLettered = await consumeUntil(consumer, "delayed-dlx-q", (b) => b.length === 100, 10_000);
  expect(deadLettered).toEqual(expectedDead);
  expect((await consumer.checkQueue("delayed-dl-q")).messageCount).toBe(0);
  await conn.close();
  await broker.kill9();
});
