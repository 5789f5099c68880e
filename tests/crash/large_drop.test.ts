// kill -9 while a purge and a queue delete are still being deleted in the background
// (storage/dropped_ranges.ts): the boot finishes them before anything is read, no dropped message
// comes back, and every message confirmed after the drops is there, in order. And kill -9 while a
// backlog cut by a length limit is being dead-lettered (src/broker/dead_letter_ranges.ts): each
// page leaves the queue in the commit that stores its copies, so none is lost or doubled.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import amqp from "amqplib";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { consumeAndAck, publishConfirmed } from "../helpers/reclaim_load.ts";
import { until } from "../helpers/until.ts";
import { freePort, killAllWarrens, spawnWarren, type WarrenProcess } from "../helpers/warren_process.ts";

setDefaultTimeout(300_000);

const PURGED = "drop-purged";
const DELETED = "drop-deleted";
const dirs: string[] = [];
afterAll(async () => {
  await killAllWarrens();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function connect(proc: WarrenProcess) {
  const conn = await amqp.connect(proc.url);
  conn.on("error", () => {}); // the broker is killed under it on purpose
  const ch = await conn.createConfirmChannel();
  ch.on("error", () => {});
  return { conn, ch };
}

test("kill -9 while a purge and a queue delete are deleted in the background: nothing dropped comes back, nothing confirmed is lost", async () => {
  const dir = mkdtempSync(join(tmpdir(), "warren-drop-"));
  dirs.push(dir);
  let proc = await spawnWarren({ dataDir: dir });
  const { ch } = await connect(proc);
  await ch.assertQueue(PURGED, { durable: true });
  await ch.assertQueue(DELETED, { durable: true });
  await publishConfirmed(ch, PURGED, 1, 80_001);
  await publishConfirmed(ch, DELETED, 1, 40_001);
  expect((await ch.purgeQueue(PURGED)).messageCount).toBe(80_000);
  expect((await ch.deleteQueue(DELETED)).messageCount).toBe(40_000);
  await publishConfirmed(ch, PURGED, 80_001, 80_201); // confirmed after the drops
  await proc.kill9(); // 120,000 rows take dozens of commits: the drops are still under way

  proc = await spawnWarren({ dataDir: dir });
  expect(proc.output()).toMatch(/Store: finishing the purges and queue deletes a stop left under way/);
  expect(proc.output()).toMatch(/Store: dropped messages deleted in/);
  const { conn, ch: ch2 } = await connect(proc);
  expect((await ch2.checkQueue(PURGED)).messageCount).toBe(200);
  const got = await consumeAndAck(await conn.createChannel(), PURGED, 200);
  expect(got).toEqual(Array.from({ length: 200 }, (_, i) => 80_001 + i));
  const probe = await conn.createChannel();
  probe.on("error", () => {});
  await expect(probe.checkQueue(DELETED)).rejects.toThrow(/NOT_FOUND/);
  await conn.close().catch(() => {});
  await proc.kill9();
});

test("kill -9 while a length limit's cut is being dead-lettered: the boot cuts the rest again, every message once", async () => {
  const dir = mkdtempSync(join(tmpdir(), "warren-drop-"));
  dirs.push(dir);
  const MESSAGES = 60_000;
  const q = "cut-dlx";
  const httpPort = await freePort();
  let proc = await spawnWarren({ dataDir: dir, args: ["--http-port", String(httpPort)] });
  const { ch } = await connect(proc);
  await ch.assertQueue(q, { durable: true });
  await ch.assertQueue(`${q}.dead`, { durable: true });
  await ch.bindQueue(`${q}.dead`, "amq.direct", "dead");
  await publishConfirmed(ch, q, 1, MESSAGES + 1);
  const res = await fetch(`http://127.0.0.1:${httpPort}/api/policies/%2F/cut`, {
    method: "PUT",
    headers: { "content-type": "application/json", authorization: `Basic ${btoa("guest:guest")}` },
    body: JSON.stringify({
      pattern: `^${q}$`,
      definition: { "max-length": 10, "dead-letter-exchange": "amq.direct", "dead-letter-routing-key": "dead" },
      "apply-to": "queues",
    }),
  });
  expect(res.status).toBeLessThan(300);
  // 59,990 rows take about 60 pages, a turn each: the kill comes in the middle.
  expect((await ch.checkQueue(`${q}.dead`)).messageCount).toBeLessThan(MESSAGES - 10);
  await proc.kill9();

  proc = await spawnWarren({ dataDir: dir });
  const { conn, ch: ch2 } = await connect(proc);
  expect((await ch2.checkQueue(q)).messageCount).toBe(10);
  await until("the rest dead-lettered", async () => (await ch2.checkQueue(`${q}.dead`)).messageCount >= MESSAGES - 10, 60_000);
  const dead = await consumeAndAck(await conn.createChannel(), `${q}.dead`, MESSAGES - 10);
  expect(dead).toEqual(Array.from({ length: MESSAGES - 10 }, (_, i) => i + 1));
  expect((await ch2.checkQueue(`${q}.dead`)).messageCount).toBe(0);
  const kept = await consumeAndAck(await conn.createChannel(), q, 10);
  expect(kept).toEqual(Array.from({ length: 10 }, (_, i) => MESSAGES - 9 + i));
  await conn.close().catch(() => {});
  await proc.kill9();
});
