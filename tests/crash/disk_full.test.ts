// Issue 23: a disk filled by something else never corrupts or wedges the store. The test makes a
// 256 MiB tmpfs, runs the broker on it, fills the file system to the last byte with another
// file while publishers are sending, and checks that the broker blocks publishers, keeps
// consumers and acks working, recovers by itself once the file is deleted, and loses nothing
// it confirmed (also across a kill -9). Mounting needs root (CAP_SYS_ADMIN): without it the
// test is skipped with a message saying so.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import amqp from "amqplib";
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep } from "../helpers/crash_harness.ts";
import { consumeAndAck, numbered } from "../helpers/reclaim_load.ts";
import { killAllWarrens, spawnWarren } from "../helpers/warren_process.ts";

setDefaultTimeout(240_000);

const QUEUE = "reclaim-diskfull";
const mountPoint = mkdtempSync(join(tmpdir(), "warren-diskfull-"));
// Room for what the test writes before the disk fills (up to ~125 MB: 20k small messages, 300 KiB
// messages streamed until the alarm blocks them, the WAL, the 16 MiB reserve) plus the WAL headroom
// and disk_free_limit the alarm needs to clear. With 128 MiB, a fast stream (seen on Deno) left
// 13–17 MB free after the filler went, under the 17 MB the alarm needs, and the test waited forever.
const mount = spawnSync("mount", ["-t", "tmpfs", "-o", "size=256m", "tmpfs", mountPoint], { encoding: "utf8" });
const mounted = mount.status === 0;
if (!mounted) {
  console.warn(
    `skipping the full-disk test: cannot mount a tmpfs at ${mountPoint} (needs root or CAP_SYS_ADMIN and the mount command): ` +
      `${(mount.error?.message ?? mount.stderr ?? "").trim()}`,
  );
}

afterAll(async () => {
  await killAllWarrens();
  if (mounted) spawnSync("umount", [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

/**
 * Takes every byte the file system has left into `path`: at once with fallocate(1) where there
 * is one (so the broker's writes in flight meet a full disk before its alarm's next look),
 * else by writing zeros.
 */
function fillDisk(path: string): void {
  const free = statfsSync(mountPoint);
  const bytes = Number(free.bavail) * Number(free.bsize);
  if (spawnSync("fallocate", ["-l", String(bytes), path]).status === 0) {
    writeZeros(path + ".rest"); // what fallocate's rounding left
    return;
  }
  writeZeros(path);
}

function writeZeros(path: string): number {
  const fd = openSync(path, "w");
  const chunk = new Uint8Array(1024 * 1024);
  let written = 0;
  try {
    for (let size = chunk.length; size >= 512;) {
      try {
        written += writeSync(fd, chunk, 0, size);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
        size = size / 2;
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

test.skipIf(!mounted)(
  "on a full disk publishers are blocked, consumers and acks go on, the broker recovers by itself and loses nothing confirmed",
  async () => {
    const dataDir = join(mountPoint, "data");
    mkdirSync(dataDir);
    let proc = await spawnWarren({ dataDir, args: ["--disk-free-limit", "1000000"] });
    const conn = await amqp.connect(proc.url);
    const events: string[] = [];
    conn.on("blocked", (reason) => events.push(`blocked: ${reason}`));
    conn.on("unblocked", () => events.push("unblocked"));
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue(QUEUE, { durable: true });
    const fail = (what: string) => `${what}\nbroker log:\n${proc.output().slice(-4000)}`;
    const confirmed = new Set<number>();
    const nacked: number[] = [];
    const publish = (from: number, to: number) => {
      for (let n = from; n < to; n++) {
        ch.sendToQueue(QUEUE, numbered(n), { persistent: true }, (err) => (err ? nacked.push(n) : confirmed.add(n)));
      }
    };
    publish(1, 20_001);
    await ch.waitForConfirms();
    expect(confirmed.size).toBe(20_000);

    // A stream of 300 KiB messages (segment files, which reuse no space) keeps 16 in flight; then
    // something else takes every byte left at once, between two looks of the disk alarm. The
    // alarm looks once a second: if it looks before any write of the stream meets the full disk
    // (the stream stalled for the few ms between the fill and the look: seen once on Deno), the
    // broker rightly blocks publishers without a write failing, and the store's path is not
    // exercised. Then the space is freed, the publisher unblocked, and the fill tried again.
    const BIG = 300 * 1024;
    const filler = join(mountPoint, "filler");
    let streamed = 100_001;
    for (let attempt = 1;; attempt++) {
      events.length = 0;
      let inFlight = 0;
      let streaming = true;
      const stream = (async () => {
        while (streaming) {
          if (inFlight >= 16) {
            await sleep(1);
            continue;
          }
          const n = streamed++;
          inFlight++;
          ch.sendToQueue(QUEUE, numbered(n, BIG), { persistent: true }, (err) => {
            inFlight--;
            if (err) nacked.push(n);
            else confirmed.add(n);
          });
          await sleep(0);
        }
      })();
      await sleep(300);
      fillDisk(filler);
      for (let i = 0; i < 100 && !events.some((e) => e.startsWith("blocked")); i++) await sleep(100);
      streaming = false;
      await stream;
      expect(events[0], fail("publisher not blocked")).toBe("blocked: low on disk");
      if (/Store: the disk is full/.test(proc.output())) break;
      expect(attempt, fail("three times the alarm blocked publishers before a write met the full disk")).toBeLessThan(3);
      rmSync(filler);
      rmSync(filler + ".rest", { force: true });
      for (let i = 0; i < 200 && !events.includes("unblocked"); i++) await sleep(100);
      expect(events, fail("publisher not unblocked after a fill without a failed write")).toContain("unblocked");
      await ch.waitForConfirms();
    }
    // The first write that failed got the reserve's space and went through.
    expect(proc.output()).toMatch(/Store: released the 16777216-byte disk reserve to finish a commit/);
    expect(proc.exited).toBe(false);

    // Consumers and acks keep working while the disk is full (on a connection of their own: as in
    // RabbitMQ, a blocked connection is not read at all).
    const consumerConn = await amqp.connect(proc.url);
    const consumed = await consumeAndAck(await consumerConn.createChannel(), QUEUE, 15_000, 60_000);
    expect(consumed).toEqual(Array.from({ length: 15_000 }, (_, i) => i + 1));

    // Space comes back: the broker unblocks by itself and confirms what it held.
    rmSync(filler);
    rmSync(filler + ".rest", { force: true });
    for (let i = 0; i < 200 && !events.includes("unblocked"); i++) await sleep(100);
    expect(events, fail("publisher not unblocked")).toContain("unblocked");
    await ch.waitForConfirms();
    expect(nacked).toEqual([]);
    const bigs = streamed - 100_001;
    expect(confirmed.size).toBe(20_000 + bigs);
    publish(40_001, 41_001);
    await ch.waitForConfirms();
    expect(confirmed.size).toBe(21_000 + bigs);
    await conn.close();
    await consumerConn.close();

    // Nothing confirmed is lost, across a kill -9 too.
    await proc.kill9();
    proc = await spawnWarren({ dataDir, args: ["--disk-free-limit", "1000000"] });
    const again = await amqp.connect(proc.url);
    const ch2 = await again.createChannel();
    const left = [
      ...Array.from({ length: 5_000 }, (_, i) => i + 15_001),
      ...Array.from({ length: bigs }, (_, i) => i + 100_001),
      ...Array.from({ length: 1_000 }, (_, i) => i + 40_001),
    ];
    expect((await ch2.checkQueue(QUEUE)).messageCount).toBe(left.length);
    expect(await consumeAndAck(ch2, QUEUE, left.length, 60_000)).toEqual(left);
    await again.close();
    await proc.kill9();
  },
);
