// A length limit applied by policy to a queue with a backlog on disk (Backlog.cutOldest): the
// oldest messages go without being read back, the newest stay in order, the store deletes the
// dropped rows in the background, and a restart keeps exactly what stayed. With a dead-letter
// exchange the cut rows leave the queue at once and are dead-lettered a page per turn
// (DeadLetterRanges), also across a restart. amqplib over TCP.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import type { SqliteStore } from "../../storage/sqlite_store.ts";
import { cleanupRestartBrokers, connect, start, stop, tempDir } from "../helpers/restart_brokers.ts";
import { TurnCounter } from "../helpers/turns.ts";
import { until } from "../helpers/until.ts";
import type { Broker } from "../../src/broker/broker.ts";

setDefaultTimeout(120_000);
afterAll(cleanupRestartBrokers);

// The window holds 4,096 persistent messages, or 65,536 transient ones: most are on disk.
const PERSISTENT = 20_000;
const TRANSIENT = 100_000;

const numbered = (n: number, size = 64) => {
  const b = Buffer.alloc(size);
  b.writeUInt32BE(n, 0);
  return b;
};

/** Sets a policy over the management API. */
async function putPolicy(httpPort: number, name: string, pattern: string, definition: Record<string, unknown>): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/api/policies/%2F/${name}`, {
    method: "PUT",
    headers: { "content-type": "application/json", authorization: `Basic ${btoa("guest:guest")}` },
    body: JSON.stringify({ pattern, definition, "apply-to": "queues" }),
  });
  expect(res.status).toBeLessThan(300);
}

/** Counts the store's page reads from now on. */
function countPageReads(store: SqliteStore): () => number {
  const readPage = store.readPage.bind(store);
  let pagesRead = 0;
  store.readPage = (...args: Parameters<SqliteStore["readPage"]>) => {
    pagesRead++;
    return readPage(...args);
  };
  return () => pagesRead;
}

async function drain(url: string, queue: string, count: number): Promise<number[]> {
  const conn = await connect(url);
  const ch = await conn.createChannel();
  const got: number[] = [];
  for (let i = 0; i < count; i++) {
    const m = await ch.get(queue, { noAck: true });
    if (!m) break;
    got.push(m.content.readUInt32BE(0));
  }
  expect(await ch.get(queue, { noAck: true })).toBe(false);
  await conn.close();
  return got;
}

for (const durable of [true, false]) {
  const MESSAGES = durable ? PERSISTENT : TRANSIENT;
  // More than the window stays (some of it on disk), or only a few: the store sums the side that
  // goes, or the side that stays.
  const KEEP = durable ? 8_000 : 10;
  test(`a max-length policy trims a ${durable ? "durable" : "non-durable"} backlog of ${MESSAGES} to its newest ${KEEP}`, async () => {
    const dir = await tempDir();
    const first = await start(dir);
    const q = `trim-${durable ? "durable" : "transient"}`;
    const conn = await connect(first.url);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue(q, { durable });
    for (let n = 1; n <= MESSAGES; n++) ch.sendToQueue(q, numbered(n), { persistent: durable });
    await ch.waitForConfirms();
    // Count the pages read back: dropping one by one would read every page of the backlog.
    const store = first.broker.store as SqliteStore;
    const pagesRead = countPageReads(store);
    await putPolicy(first.broker.httpPort, `trim-${q}`, `^${q}$`, { "max-length": KEEP });
    expect((await ch.checkQueue(q)).messageCount).toBe(KEEP);
    expect(pagesRead()).toBeLessThanOrEqual(1);
    // What the queue counts agrees with what stayed: 10 bodies of 64 bytes, persistent or not.
    const queue = first.broker.vhosts.get("/")!.queues.get(q)!;
    expect(queue.readyBytes).toBe(KEEP * 64);
    expect([queue.persistentCount, queue.persistentBytes]).toEqual(durable ? [KEEP, KEEP * 64] : [0, 0]);
    const storeId = first.broker.vhosts.get("/")!.queues.get(q)!.storeId;
    const rows = () => store.db.prepare("SELECT COUNT(*) AS n FROM queue_messages WHERE queue_id = ?").get<{ n: number }>(storeId)!.n;
    await until("the dropped rows deleted", () => rows() <= KEEP);
    // One more publish: the limit holds (the oldest kept one goes), order is kept.
    ch.sendToQueue(q, numbered(MESSAGES + 1), { persistent: durable });
    await ch.waitForConfirms();
    await conn.close();
    const expected = Array.from({ length: KEEP }, (_, i) => MESSAGES + 2 - KEEP + i);
    if (!durable) {
      expect(await drain(first.url, q, KEEP)).toEqual(expected);
      await stop(first.broker);
      return;
    }
    await stop(first.broker);
    const second = await start(dir);
    expect(await drain(second.url, q, KEEP)).toEqual(expected);
    await stop(second.broker);
  });
}

// Sizes 16..112 bytes, so a byte limit falls inside a message and the kept count is not a division.
const sizeOf = (n: number) => 16 + (n % 13) * 8;

test("a max-length-bytes policy trims a durable backlog of 20000 mixed sizes to the newest that fit", async () => {
  const dir = await tempDir();
  const first = await start(dir);
  const q = "trim-bytes";
  const conn = await connect(first.url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(q, { durable: true });
  for (let n = 1; n <= PERSISTENT; n++) ch.sendToQueue(q, numbered(n, sizeOf(n)), { persistent: true });
  await ch.waitForConfirms();
  // The newest messages whose sizes sum to at most LIMIT stay (about 7,000 of them).
  const LIMIT = 450_005;
  const expected: number[] = [];
  let kept = 0;
  for (let n = PERSISTENT; n >= 1 && kept + sizeOf(n) <= LIMIT; n--) {
    kept += sizeOf(n);
    expected.unshift(n);
  }
  const store = first.broker.store as SqliteStore;
  const pagesRead = countPageReads(store);
  await putPolicy(first.broker.httpPort, "trim-bytes", `^${q}$`, { "max-length-bytes": LIMIT });
  expect((await ch.checkQueue(q)).messageCount).toBe(expected.length);
  expect(pagesRead()).toBeLessThanOrEqual(1);
  const queue = first.broker.vhosts.get("/")!.queues.get(q)!;
  expect([queue.readyBytes, queue.persistentCount, queue.persistentBytes]).toEqual([kept, expected.length, kept]);
  await conn.close();
  await stop(first.broker);
  const second = await start(dir);
  expect(await drain(second.url, q, expected.length)).toEqual(expected);
  await stop(second.broker);
});

/** Sets up q (durable, PERSISTENT messages of `size` bytes, mostly on disk) and q.dead, bound to amq.direct as "dead". */
async function backlogWithDeadLetterQueue(url: string, q: string, size = 64): Promise<void> {
  const conn = await connect(url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(q, { durable: true });
  await ch.assertQueue(`${q}.dead`, { durable: true });
  await ch.bindQueue(`${q}.dead`, "amq.direct", "dead");
  for (let n = 1; n <= PERSISTENT; n++) ch.sendToQueue(q, numbered(n, size), { persistent: true });
  await ch.waitForConfirms();
  await conn.close();
}

/** Counts, per turn of the event loop, the stored messages these queues dead-letter. */
function countDeadLettersPerTurn(broker: Broker, queues: string[]): TurnCounter {
  const turns = new TurnCounter();
  for (const name of queues) {
    const queue = broker.vhosts.get("/")!.queues.get(name)!;
    const deadLetterStored = queue.deadLetterStored.bind(queue);
    queue.deadLetterStored = (message, reason) => {
      turns.note();
      deadLetterStored(message, reason);
    };
  }
  return turns;
}

const deadLettering = { "max-length": 10, "dead-letter-exchange": "amq.direct", "dead-letter-routing-key": "dead" };

test("with a dead-letter exchange, a max-length policy cuts a backlog at once and dead-letters it a page per turn, in order", async () => {
  const dir = await tempDir();
  const first = await start(dir);
  const q = "trim-dlx";
  await backlogWithDeadLetterQueue(first.url, q);
  const turns = countDeadLettersPerTurn(first.broker, [q]);
  await putPolicy(first.broker.httpPort, "trim-dlx", `^${q}$`, deadLettering);
  const conn = await connect(first.url);
  const ch = await conn.createChannel();
  expect((await ch.checkQueue(q)).messageCount).toBe(10);
  await until("every cut message dead-lettered", async () => (await ch.checkQueue(`${q}.dead`)).messageCount === PERSISTENT - 10);
  turns.stop();
  expect(turns.mostInOneTurn).toBeGreaterThan(0);
  expect(turns.mostInOneTurn).toBeLessThanOrEqual(1024);
  // The dead-lettered copies, oldest first, each with its x-death.
  const dead: number[] = [];
  for (let m = await ch.get(`${q}.dead`, { noAck: true }); m; m = await ch.get(`${q}.dead`, { noAck: true })) {
    dead.push(m.content.readUInt32BE(0));
    if (dead.length === 1 || dead.length === PERSISTENT - 10) {
      const death = m.properties.headers!["x-death"]![0]!;
      expect([death.reason, death.queue, m.properties.headers?.["x-first-death-reason"]]).toEqual(["maxlen", q, "maxlen"]);
    }
  }
  expect(dead).toEqual(Array.from({ length: PERSISTENT - 10 }, (_, i) => i + 1));
  expect((first.broker.store as SqliteStore).messageCount()).toBe(10);
  await conn.close();
  expect(await drain(first.url, q, 10)).toEqual(Array.from({ length: 10 }, (_, i) => PERSISTENT - 9 + i));
  await stop(first.broker);
});

test("a stop while a cut backlog is being dead-lettered: the boot cuts the rest again, nothing lost or doubled", async () => {
  const dir = await tempDir();
  const first = await start(dir);
  const q = "trim-dlx-stop";
  await backlogWithDeadLetterQueue(first.url, q);
  await putPolicy(first.broker.httpPort, "trim-dlx-stop", `^${q}$`, deadLettering);
  // 19,990 rows take about 20 turns: the stop comes before they are all done.
  expect(first.broker.vhosts.get("/")!.queues.get(`${q}.dead`)!.messageCount).toBeLessThan(PERSISTENT - 10);
  await stop(first.broker);
  const second = await start(dir);
  const conn = await connect(second.url);
  const ch = await conn.createChannel();
  expect((await ch.checkQueue(q)).messageCount).toBe(10);
  await until("every cut message dead-lettered", async () => (await ch.checkQueue(`${q}.dead`)).messageCount >= PERSISTENT - 10);
  await conn.close();
  expect(await drain(second.url, `${q}.dead`, PERSISTENT)).toEqual(Array.from({ length: PERSISTENT - 10 }, (_, i) => i + 1));
  expect(await drain(second.url, q, 10)).toEqual(Array.from({ length: 10 }, (_, i) => PERSISTENT - 9 + i));
  await stop(second.broker);
});

test("messages that expired while the broker was down are dead-lettered at boot, through the restored bindings", async () => {
  const dir = await tempDir();
  const first = await start(dir);
  const conn = await connect(first.url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue("ttl-boot", {
    durable: true,
    arguments: { "x-message-ttl": 300, "x-dead-letter-exchange": "amq.direct", "x-dead-letter-routing-key": "expired" },
  });
  await ch.assertQueue("ttl-boot.dead", { durable: true });
  await ch.bindQueue("ttl-boot.dead", "amq.direct", "expired");
  for (let n = 1; n <= 5; n++) ch.sendToQueue("ttl-boot", numbered(n), { persistent: true });
  await ch.waitForConfirms();
  await conn.close();
  await stop(first.broker);
  await Bun.sleep(400);
  const second = await start(dir);
  const conn2 = await connect(second.url);
  const ch2 = await conn2.createChannel();
  await until("the expired messages dead-lettered", async () => (await ch2.checkQueue("ttl-boot.dead")).messageCount === 5);
  expect((await ch2.checkQueue("ttl-boot")).messageCount).toBe(0);
  await conn2.close();
  expect(await drain(second.url, "ttl-boot.dead", 5)).toEqual([1, 2, 3, 4, 5]);
  await stop(second.broker);
});

test("a byte limit no stored message fits under dead-letters the whole backlog, and not a message published after the cut", async () => {
  const dir = await tempDir();
  const first = await start(dir);
  const q = "trim-dlx-all";
  await backlogWithDeadLetterQueue(first.url, q, 1024);
  const conn = await connect(first.url);
  const ch = await conn.createConfirmChannel();
  const { "max-length": _, ...deadLetterOnly } = deadLettering;
  await putPolicy(first.broker.httpPort, "trim-dlx-all", `^${q}$`, { ...deadLetterOnly, "max-length-bytes": 100 });
  // Published while the cut rows are still being dead-lettered: it fits, and stays.
  ch.sendToQueue(q, numbered(PERSISTENT + 1, 16), { persistent: true });
  await ch.waitForConfirms();
  await until("the backlog dead-lettered", async () => (await ch.checkQueue(`${q}.dead`)).messageCount >= PERSISTENT);
  await Bun.sleep(100); // a few more turns: nothing else may follow
  expect((await ch.checkQueue(`${q}.dead`)).messageCount).toBe(PERSISTENT);
  expect((await ch.checkQueue(q)).messageCount).toBe(1);
  await conn.close();
  expect(await drain(first.url, q, 1)).toEqual([PERSISTENT + 1]);
  await stop(first.broker);
});

test("eight queues cut by one policy share the turns: no turn dead-letters more than a page, each queue's messages in order", async () => {
  const dir = await tempDir();
  const first = await start(dir);
  const QUEUES = 8;
  const EACH = 6_500; // past the window and a page, so each cut is on disk
  const names = Array.from({ length: QUEUES }, (_, i) => `trim-many-${i}`);
  const conn = await connect(first.url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue("trim-many.dead", { durable: true });
  await ch.bindQueue("trim-many.dead", "amq.direct", "dead");
  for (const [i, q] of names.entries()) {
    await ch.assertQueue(q, { durable: true });
    for (let n = 1; n <= EACH; n++) {
      const body = numbered(n);
      body[4] = i;
      ch.sendToQueue(q, body, { persistent: true });
    }
    await ch.waitForConfirms();
  }
  const turns = countDeadLettersPerTurn(first.broker, names);
  await putPolicy(first.broker.httpPort, "trim-many", "^trim-many-", deadLettering);
  for (const q of names) expect((await ch.checkQueue(q)).messageCount).toBe(10);
  const total = QUEUES * (EACH - 10);
  await until("every cut message dead-lettered", async () => (await ch.checkQueue("trim-many.dead")).messageCount === total, 60_000);
  turns.stop();
  expect(turns.mostInOneTurn).toBeGreaterThan(0);
  expect(turns.mostInOneTurn).toBeLessThanOrEqual(1024);
  const perQueue: number[][] = names.map(() => []);
  const consumer = await conn.createChannel();
  for (let m = await consumer.get("trim-many.dead", { noAck: true }); m; m = await consumer.get("trim-many.dead", { noAck: true })) {
    perQueue[m.content[4]!]!.push(m.content.readUInt32BE(0));
  }
  for (const got of perQueue) expect(got).toEqual(Array.from({ length: EACH - 10 }, (_, i) => i + 1));
  await conn.close();
  await stop(first.broker);
});

test("a max-length policy cuts a priority queue's backlog level by level from the highest, reading next to nothing", async () => {
  const dir = await tempDir();
  const first = await start(dir);
  const q = "trim-priority";
  const conn = await connect(first.url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(q, { durable: true, maxPriority: 4 });
  for (let n = 1; n <= PERSISTENT; n++) ch.sendToQueue(q, numbered(n), { persistent: true, priority: n % 5 });
  await ch.waitForConfirms();
  const pagesRead = countPageReads(first.broker.store as SqliteStore);
  await putPolicy(first.broker.httpPort, "trim-priority", `^${q}$`, { "max-length": 10 });
  expect((await ch.checkQueue(q)).messageCount).toBe(10);
  // One page for the new head, not the 16,000 messages of the higher levels one by one.
  expect(pagesRead()).toBeLessThanOrEqual(2);
  await conn.close();
  // The head is the highest priority: what stays is the newest ten of priority 0.
  expect(await drain(first.url, q, 10)).toEqual(Array.from({ length: 10 }, (_, i) => PERSISTENT - 45 + i * 5));
  await stop(first.broker);
});
