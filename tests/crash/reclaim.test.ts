// Issue 23 against a spawned broker: a 200k × 1 KiB backlog drains and the data directory
// shrinks back to 64 MB + 10 % of what the live messages need within 60 s, while the broker
// serves; the figures show in /api/nodes and Prometheus; kill -9 during a reclaim pass, or
// during the in-place upgrade of an old store, loses nothing confirmed and the store opens.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import amqp from "amqplib";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seeded, sleep } from "../helpers/crash_harness.ts";
import { BODY_SIZE, consumeAndAck, dirBytes, loggedPort, publishConfirmed, settle } from "../helpers/reclaim_load.ts";
import { killAllWarrens, launchWarren, spawnWarren, type WarrenProcess } from "../helpers/warren_process.ts";

setDefaultTimeout(300_000);

const QUEUE = "reclaim-backlog";
const MARKER = "reclaim-marker";
const dirs: string[] = [];
afterAll(async () => {
  await killAllWarrens();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "warren-reclaim-"));
  dirs.push(dir);
  return dir;
}

async function connect(proc: WarrenProcess) {
  const conn = await amqp.connect(proc.url);
  conn.on("error", () => {}); // the broker is killed under it on purpose
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(QUEUE, { durable: true });
  await ch.assertQueue(MARKER, { durable: true });
  return { conn, ch };
}

/** The numbers left in the queue, in order (drains it; the caller knows how many to expect). */
async function remaining(proc: WarrenProcess, expected: number): Promise<number[]> {
  const { conn, ch } = await connect(proc);
  const depth = (await ch.checkQueue(QUEUE)).messageCount;
  expect(depth).toBe(expected);
  const got = await consumeAndAck(await conn.createChannel(), QUEUE, depth);
  await conn.close();
  return got;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

test("a 200k × 1 KiB backlog drains and the data directory shrinks to 64 MB + 10 % of the live messages within 60 s", async () => {
  const dir = tempDir();
  const proc = await spawnWarren({ dataDir: dir });
  const { conn, ch } = await connect(proc);
  const TOTAL = 200_000;
  const KEEP = 10_000; // left in the queue: live messages the bound must leave room for
  await publishConfirmed(ch, QUEUE, 1, TOTAL + 1);
  const atFull = dirBytes(dir);
  expect(atFull).toBeGreaterThan(TOTAL * BODY_SIZE);
  const drained = await consumeAndAck(await conn.createChannel(), QUEUE, TOTAL - KEEP);
  expect(drained).toEqual(range(1, TOTAL - KEEP + 1));
  await settle(conn, MARKER);
  const drainedAt = performance.now();
  const bound = 64e6 + 1.1 * KEEP * BODY_SIZE;
  // The broker keeps serving while it reclaims: a confirmed round trip on another queue.
  await ch.assertQueue("reclaim-probe", { durable: true });
  let size = dirBytes(dir);
  while (size > bound && performance.now() - drainedAt < 60_000) {
    ch.sendToQueue("reclaim-probe", Buffer.from("probe"), { persistent: true });
    await ch.waitForConfirms();
    await sleep(250);
    size = dirBytes(dir);
  }
  const seconds = (performance.now() - drainedAt) / 1000;
  console.log(
    `data dir ${(atFull / 1e6).toFixed(0)} MB at full, ${(size / 1e6).toFixed(1)} MB ${seconds.toFixed(1)} s after the drain (bound ${
      (bound / 1e6).toFixed(1)
    } MB)`,
  );
  expect(size).toBeLessThanOrEqual(bound);
  // One line per pass; the drain's pass ends once the last freed pages are given back.
  const pass = await proc.waitForLine(
    /Store reclaim pass: returned \d+\.\d MB to the file system[^\n]*/,
    Math.max(1000, 60_000 - (performance.now() - drainedAt)),
  );
  console.log(pass, `; data dir now ${(dirBytes(dir) / 1e6).toFixed(1)} MB`);
  expect(dirBytes(dir)).toBeLessThanOrEqual(bound);

  // Visible: /api/nodes and Prometheus.
  const auth = { Authorization: `Basic ${btoa("guest:guest")}` };
  const nodes = await (await fetch(`http://127.0.0.1:${loggedPort(proc.output(), "Management plugin")}/api/nodes`, { headers: auth }))
    .json() as Record<string, unknown>[];
  const node = nodes[0]!;
  expect(node.store_size as number).toBeGreaterThan(0);
  expect(node.store_size as number).toBeLessThanOrEqual(bound);
  expect(node.store_live_bytes as number).toBeGreaterThan(KEEP * BODY_SIZE);
  expect(node.store_reclaimable_bytes).toBe((node.store_size as number) - (node.store_live_bytes as number));
  expect(node.store_reclaimed_bytes as number).toBeGreaterThan(100e6);
  expect(node.store_disk_reserve_bytes).toBe(16 * 1024 * 1024);
  expect(node.store_disk_full).toBe(false);
  expect(node.disk_free_needed).toBe((node.disk_free_limit as number) + 16 * 1024 * 1024);
  const metrics = await (await fetch(`http://127.0.0.1:${loggedPort(proc.output(), "Prometheus metrics")}/metrics`)).text();
  for (
    const name of [
      "rabbitmq_disk_space_available_bytes",
      "rabbitmq_store_size_bytes",
      "rabbitmq_store_live_bytes",
      "rabbitmq_store_reclaimable_bytes",
      "rabbitmq_store_reclaimed_bytes_total",
    ]
  ) {
    expect(metrics).toMatch(new RegExp(`^${name} \\d+`, "m"));
  }
  await conn.close();

  // The live messages are all there after a restart.
  await proc.kill9();
  const again = await spawnWarren({ dataDir: dir });
  expect(await remaining(again, KEEP)).toEqual(range(TOTAL - KEEP + 1, TOTAL + 1));
  await again.kill9();
});

test("kill -9 during reclaim passes loses nothing confirmed, and the store opens", async () => {
  const dir = tempDir();
  const random = seeded(Number(process.env.RECLAIM_SEED ?? Date.now() % 100_000));
  // Passes started and finished by the broker running now.
  let passStarts = 0;
  let passEnds = 0;
  let killedInPass = 0;
  const onOutput = (text: string) => {
    passStarts += text.split("Store reclaim pass started").length - 1;
    passEnds += text.split("Store reclaim pass:").length - 1;
  };
  const start = () => spawnWarren({ dataDir: dir, logLevel: "debug", onOutput });
  let proc = await start();
  let next = 1;
  let live: number[] = []; // confirmed, not acked: must all come back, in order
  for (let cycle = 0; cycle < 3; cycle++) {
    const { conn, ch } = await connect(proc);
    const from = next;
    next += 40_000;
    await publishConfirmed(ch, QUEUE, from, next);
    live.push(...range(from, next));
    // Drain all but the newest 8,000: their pages sit at the end of the file and reclaim moves them.
    const acked = await consumeAndAck(await conn.createChannel(), QUEUE, live.length - 8_000);
    expect(acked).toEqual(live.slice(0, live.length - 8_000));
    live = live.slice(live.length - 8_000);
    await settle(conn, MARKER);
    // Kill at a random moment from the start of a pass (the drain starts one; the next check may
    // start another). A pass that only cuts free pages off the end takes tens of ms, so some kills
    // land inside it and some just after its checkpoint: both are moments to survive.
    for (let i = 0; i < 3000 && passStarts === 0; i++) await sleep(10);
    expect(passStarts).toBeGreaterThan(0);
    await sleep(Math.floor(random() * 60));
    if (passStarts > passEnds) killedInPass++;
    await proc.kill9();
    passStarts = passEnds = 0;
    proc = await start();
    const { conn: c2, ch: ch2 } = await connect(proc);
    expect((await ch2.checkQueue(QUEUE)).messageCount).toBe(live.length);
    await c2.close();
  }
  expect(await remaining(proc, live.length)).toEqual(live);
  await proc.kill9();
  console.log(`${killedInPass} of 3 kills landed inside a reclaim pass`);
});

/** Turns a store into one Warren wrote before issue 23 (auto_vacuum=NONE). */
function makeOld(dir: string): void {
  const db = new Database(join(dir, "warren.sqlite"));
  db.exec("PRAGMA auto_vacuum = NONE");
  db.exec("VACUUM");
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  expect((db.query("PRAGMA auto_vacuum").get() as { auto_vacuum: number }).auto_vacuum).toBe(0);
  db.close();
}

test("kill -9 during the in-place upgrade of an old store loses nothing; the next boot finishes it", async () => {
  const dir = tempDir();
  const TOTAL = 100_000;
  let proc = await spawnWarren({ dataDir: dir });
  const { ch } = await connect(proc);
  await publishConfirmed(ch, QUEUE, 1, TOTAL + 1);
  await proc.kill9();
  makeOld(dir);
  const random = seeded(Number(process.env.RECLAIM_SEED ?? Date.now() % 100_000));
  // Started on the old store, the broker begins copying it; killed mid-copy.
  const upgrading = await launchWarren({ dataDir: dir });
  await upgrading.waitForLine(/Upgrading the store to give disk space back/, 60_000);
  await sleep(Math.floor(random() * 300));
  await upgrading.kill9();
  proc = await spawnWarren({ dataDir: dir });
  expect(proc.output()).toMatch(/Store upgraded/);
  const db = await remaining(proc, TOTAL);
  expect(db).toEqual(range(1, TOTAL + 1));
  await proc.kill9();
});
