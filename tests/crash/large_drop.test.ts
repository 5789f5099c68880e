// kill -9 while a purge and a queue delete are still being deleted in the background
// (storage/dropped_ranges.ts): the boot finishes them before anything is read, no dropped message
// comes back, and every message confirmed after the drops is there, in order.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import amqp from "amqplib";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { consumeAndAck, publishConfirmed } from "../helpers/reclaim_load.ts";
import { killAllWarrens, spawnWarren, type WarrenProcess } from "../helpers/warren_process.ts";

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
