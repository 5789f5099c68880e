// Issue 23 on the SQLite store itself: freed pages go back to the file system in reclaim passes,
// stores made before it are rebuilt in place (an interrupted rebuild leaves the old store), and a
// full disk (SQLite's max_page_count makes every write past it fail as a full disk does) holds
// changes in memory instead of failing or losing them.
import { afterEach, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createLogger, type Logger } from "../../../src/log.ts";
import { SqliteStore } from "../../../storage/sqlite_store.ts";
import type { StorableMessage, StoreRef, StoreRow } from "../../../storage/store.ts";
import { PAGE_SIZE } from "../../../storage/schema.ts";
import { UPGRADE_SUFFIX } from "../../../storage/upgrade.ts";
import { tempDirs } from "../../helpers/temp_dirs.ts";

const stores: SqliteStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});
const tempDir = tempDirs("warren-reclaim-");

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger("debug", (line) => void lines.push(line.trim())), lines };
}

function open(dir: string, log: Logger = createLogger("none"), options: Partial<Parameters<typeof SqliteStore.open>[1]> = {}): SqliteStore {
  const store = SqliteStore.open(dir, { fsync: false, log, reclaim: { checkEveryMs: 60_000 }, ...options });
  stores.push(store);
  return store;
}

class Msg implements StorableMessage {
  storeRef: StoreRef | undefined = undefined;
  readonly properties = new Uint8Array([0x10, 0x00, 2]);
  readonly exchange = "x";
  readonly routingKey = "rk";
  readonly persistent = true;
  constructor(readonly body: Uint8Array) {}
}

function body(i: number, size = 1024): Uint8Array {
  const b = new Uint8Array(size);
  new DataView(b.buffer).setUint32(0, i);
  for (let k = 4; k < size; k++) b[k] = (i * 7 + k) & 0xff;
  return b;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const dbBytes = (dir: string) =>
  statSync(join(dir, "warren.sqlite")).size +
  (existsSync(join(dir, "warren.sqlite-wal")) ? statSync(join(dir, "warren.sqlite-wal")).size : 0);

/** Stores `count` messages in queue `q` (committed), returns their rows. */
function fill(store: SqliteStore, q: number, count: number, from = 1): StoreRow[] {
  const rows: StoreRow[] = [];
  for (let i = from; i < from + count; i++) {
    const row = { message: new Msg(body(i)), seq: i, expiresAt: 0 };
    store.persist(q, row);
    rows.push(row);
    if (i % 1000 === 0) store.commit();
  }
  store.commit();
  return rows;
}

async function untilReclaimed(store: SqliteStore): Promise<void> {
  store.reclaimNow();
  for (let i = 0; i < 100_000 && store.reclaiming; i++) await turn();
  expect(store.reclaiming).toBe(false);
}

function seqsOf(store: SqliteStore, q: number): number[] {
  const out: number[] = [];
  for (let from = 0;;) {
    const page = store.readPage(q, from, Number.MAX_SAFE_INTEGER, 500, 1 << 22);
    if (page.length === 0) return out;
    for (const m of page) {
      expect(new DataView(m.body.buffer, m.body.byteOffset).getUint32(0)).toBe(m.seq);
      out.push(m.seq);
    }
    from = page[page.length - 1]!.seq + 1;
  }
}

test("a new store is created with auto_vacuum=INCREMENTAL and 16 KiB pages", () => {
  const store = open(tempDir());
  expect(store.db.prepare("PRAGMA auto_vacuum").get<{ auto_vacuum: number }>()!.auto_vacuum).toBe(2);
  expect(store.db.prepare("PRAGMA page_size").get<{ page_size: number }>()!.page_size).toBe(PAGE_SIZE);
  expect(PAGE_SIZE).toBe(16 * 1024);
});

test("after a backlog is acked, a reclaim pass gives the freed pages back and logs one line", async () => {
  const dir = tempDir();
  const { log, lines } = capture();
  const store = open(dir, log);
  const q = store.saveQueue({ vhost: "/", name: "q", autoDelete: false, args: {} });
  const rows = fill(store, q, 40_000);
  const full = dbBytes(dir);
  expect(full).toBeGreaterThan(40_000 * 1024);
  // Ack all but the newest 2,000: their pages sit at the end of the file and must be moved.
  for (const row of rows.slice(0, 38_000)) store.remove(q, row);
  store.commit();
  expect(store.space().reclaimableBytes).toBeGreaterThan(30_000 * 1024);
  await untilReclaimed(store);
  const after = dbBytes(dir);
  const space = store.space();
  expect(after).toBeLessThan(2_000 * 1024 * 1.5 + 8 * 1024 * 1024 + 1024 * 1024);
  expect(space.sizeBytes).toBe(after);
  expect(space.reclaimPasses).toBe(1);
  expect(space.reclaimedBytes).toBeGreaterThan(30_000 * 1024);
  expect(lines.filter((l) => l.includes("Store reclaim pass:"))).toHaveLength(1);
  // Nothing live was touched.
  expect(seqsOf(store, q)).toEqual(rows.slice(38_000).map((r) => r.seq));
  store.close();
  stores.length = 0;
  const again = open(dir);
  expect(seqsOf(again, q)).toEqual(rows.slice(38_000).map((r) => r.seq));
});

test("no pass starts while the free space is below the start threshold", async () => {
  const dir = tempDir();
  const { log, lines } = capture();
  const store = open(dir, log);
  const q = store.saveQueue({ vhost: "/", name: "q", autoDelete: false, args: {} });
  const rows = fill(store, q, 5_000);
  for (const row of rows) store.remove(q, row);
  store.commit();
  store.reclaimNow();
  expect(store.reclaiming).toBe(false);
  expect(lines.some((l) => l.includes("Store reclaim pass"))).toBe(false);
});

const freePages = (store: SqliteStore) => store.db.prepare("PRAGMA freelist_count").get<{ freelist_count: number }>()!.freelist_count;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("a drain under way defers reclaim: no pass starts and a running one pauses until the free space stops growing", async () => {
  const { log, lines } = capture();
  const store = open(tempDir(), log);
  const q = store.saveQueue({ vhost: "/", name: "q", autoDelete: false, args: {} });
  const rows = fill(store, q, 80_000);
  const ack = (from: number, to: number) => {
    for (const row of rows.slice(from, to)) store.remove(q, row);
    store.commit();
  };
  store.reclaimNow(false); // the first look
  ack(0, 40_000);
  store.reclaimNow(false); // 40 MB freed since the last look: a drain
  expect(store.reclaiming).toBe(false);
  expect(lines.filter((l) => l.includes("Store reclaim waits"))).toHaveLength(1);
  ack(40_000, 50_000);
  store.reclaimNow(false);
  expect(store.reclaiming).toBe(false);
  // A pass started anyway (forced) pauses while the drain goes on: commits free pages, no step takes any.
  store.reclaimNow(true);
  expect(store.reclaiming).toBe(true);
  ack(50_000, 55_000);
  store.reclaimNow(false);
  let before = freePages(store);
  for (let i = 0; i < 10; i++) {
    await sleep(25); // past the pause between steps that ride on commits
    ack(55_000 + i * 500, 55_500 + i * 500);
    const now = freePages(store);
    expect(now).toBeGreaterThan(before);
    before = now;
  }
  expect(store.reclaiming).toBe(true);
  // The drain stops: the look after the one that sees the last acks lets the pass go on to the end.
  store.reclaimNow(false);
  expect(store.reclaiming).toBe(true);
  store.reclaimNow(false);
  for (let i = 0; i < 100_000 && store.reclaiming; i++) await turn();
  expect(store.reclaiming).toBe(false);
  expect(store.space().reclaimPasses).toBe(1);
  expect(freePages(store) * PAGE_SIZE).toBeLessThanOrEqual(8 * 1024 * 1024);
  expect(seqsOf(store, q)).toEqual(rows.slice(60_000).map((r) => r.seq));
});

test("with the disk alarm on, a drain does not defer reclaim", () => {
  const store = open(tempDir());
  const q = store.saveQueue({ vhost: "/", name: "q", autoDelete: false, args: {} });
  const rows = fill(store, q, 40_000);
  store.reclaimNow(false);
  store.diskAlarm(true);
  for (const row of rows.slice(0, 38_000)) store.remove(q, row);
  store.commit();
  store.reclaimNow(false);
  expect(store.reclaiming).toBe(true);
});

/** A store as Warren wrote it before issue 23: auto_vacuum=NONE. */
function makeOldStore(dir: string, count: number): number {
  const store = SqliteStore.open(dir, { fsync: false, log: createLogger("none"), reclaim: false });
  const q = store.saveQueue({ vhost: "/", name: "old", autoDelete: false, args: {} });
  fill(store, q, count);
  store.close();
  const db = new Database(join(dir, "warren.sqlite"));
  // SQLite's default page size, as those stores had (VACUUM changes it only outside WAL mode).
  db.exec("PRAGMA journal_mode = DELETE");
  db.exec("PRAGMA page_size = 4096");
  db.exec("PRAGMA auto_vacuum = NONE");
  db.exec("VACUUM");
  db.exec("PRAGMA journal_mode = WAL");
  expect((db.query("PRAGMA auto_vacuum").get() as { auto_vacuum: number }).auto_vacuum).toBe(0);
  expect((db.query("PRAGMA page_size").get() as { page_size: number }).page_size).toBe(4096);
  db.close();
  return q;
}

test("a store made before issue 23 is rebuilt in place at open, keeping every message and row id", () => {
  const dir = tempDir();
  const q = makeOldStore(dir, 30_000);
  const { log, lines } = capture();
  const store = open(dir, log);
  expect(store.db.prepare("PRAGMA auto_vacuum").get<{ auto_vacuum: number }>()!.auto_vacuum).toBe(2);
  expect(store.db.prepare("PRAGMA page_size").get<{ page_size: number }>()!.page_size).toBe(PAGE_SIZE);
  expect(lines.some((l) => l.includes("Upgrading the store to give disk space back"))).toBe(true);
  expect(lines.some((l) => l.includes("Store upgraded"))).toBe(true);
  expect(existsSync(join(dir, "warren.sqlite" + UPGRADE_SUFFIX))).toBe(false);
  expect(seqsOf(store, q)).toEqual(Array.from({ length: 30_000 }, (_, i) => i + 1));
  expect(store.loadMetadata().queues.map((x) => x.name)).toEqual(["old"]);
});

test("a half-built upgrade copy left by a kill is discarded and the old store rebuilt again", () => {
  const dir = tempDir();
  const q = makeOldStore(dir, 3_000);
  writeFileSync(join(dir, "warren.sqlite" + UPGRADE_SUFFIX), "half a database");
  const store = open(dir);
  expect(store.db.prepare("PRAGMA auto_vacuum").get<{ auto_vacuum: number }>()!.auto_vacuum).toBe(2);
  expect(seqsOf(store, q)).toHaveLength(3_000);
});

// The loop's writer (max_page_count is per connection); the writer thread's full disk is in the
// conformance suite's randomized runs and in tests/crash/disk_full.test.ts.
test("a full disk holds changes in memory: confirms wait, acks and reads go on, everything is written once there is room", async () => {
  const dir = tempDir();
  const { log, lines } = capture();
  const store = open(dir, log, { writerThread: false });
  const full: boolean[] = [];
  store.onFullChange((f) => full.push(f));
  const q = store.saveQueue({ vhost: "/", name: "q", autoDelete: false, args: {} });
  const committed = fill(store, q, 2_000);
  const pages = store.db.prepare("PRAGMA page_count").get<{ page_count: number }>()!.page_count;
  store.db.exec(`PRAGMA max_page_count = ${pages + 2}`);
  // New messages that do not fit, and acks of committed ones, in the same turns.
  const fresh: StoreRow[] = [];
  for (let i = 2_001; i <= 3_000; i++) {
    const row = { message: new Msg(body(i)), seq: i, expiresAt: 0 };
    store.persist(q, row);
    fresh.push(row);
  }
  for (const row of committed.slice(0, 500)) store.remove(q, row);
  let confirmed = false;
  store.afterCommit(() => (confirmed = true));
  await turn();
  await turn();
  expect(confirmed).toBe(false);
  expect(store.space().full).toBe(true);
  expect(full).toEqual([true]);
  expect(lines.some((l) => l.includes("the disk is full"))).toBe(true);
  // The acks were written on their own: the rows are gone from disk.
  expect(store.queueStats(q).count).toBe(1_500);
  // A queue paging in reads what it has, committed rows first; then the held ones from memory.
  const page1 = store.readPage(q, 501, Number.MAX_SAFE_INTEGER, 2_000, 1 << 30);
  expect(page1.map((m) => m.seq)).toEqual(Array.from({ length: 1_500 }, (_, i) => i + 501));
  const page2 = store.readPage(q, 2_001, Number.MAX_SAFE_INTEGER, 100, 1 << 30);
  expect(page2.map((m) => m.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 2_001));
  // Acking a held row read back from memory cancels it: it is never written.
  store.remove(q, {
    message: { ...page2[0]!, persistent: true, storeRef: page2[0]!.ref } as unknown as StorableMessage,
    seq: 2_001,
    expiresAt: 0,
  });
  // Room again: the retry writes everything held.
  store.db.exec("PRAGMA max_page_count = 1073741823");
  for (let i = 0; i < 200 && !confirmed; i++) await new Promise((r) => setTimeout(r, 50));
  expect(confirmed).toBe(true);
  expect(lines.some((l) => l.includes("held changes written"))).toBe(true);
  store.close();
  stores.length = 0;
  const again = open(dir);
  expect(seqsOf(again, q)).toEqual([
    ...Array.from({ length: 1_500 }, (_, i) => i + 501),
    ...Array.from({ length: 999 }, (_, i) => i + 2_002),
  ]);
  expect(again.messageCount()).toBe(1_500 + 999);
});

test("on a full disk the reserve is given up so the commit goes through, and put back once there is room", async () => {
  const dir = tempDir();
  const { log, lines } = capture();
  const store = open(dir, log, { diskReserveBytes: 1024 * 1024, writerThread: false });
  expect(statSync(join(dir, "disk-reserve")).size).toBe(1024 * 1024);
  const q = store.saveQueue({ vhost: "/", name: "q", autoDelete: false, args: {} });
  fill(store, q, 100);
  // SQLite's limit stands in for the disk: the first attempt fails, the reserve goes, the
  // limit is lifted as the freed space would allow, and the same commit is retried.
  const pages = store.db.prepare("PRAGMA page_count").get<{ page_count: number }>()!.page_count;
  store.db.exec(`PRAGMA max_page_count = ${pages}`);
  const row = { message: new Msg(body(101, 8192)), seq: 101, expiresAt: 0 };
  store.persist(q, row);
  const realCommit = store.commit.bind(store);
  let attempts = 0;
  store.commit = () => {
    attempts++;
    if (attempts === 2) store.db.exec("PRAGMA max_page_count = 1073741823");
    realCommit();
  };
  let confirmed = false;
  store.afterCommit(() => (confirmed = true));
  store.commit();
  expect(confirmed).toBe(true);
  expect(existsSync(join(dir, "disk-reserve"))).toBe(false);
  expect(store.space().full).toBe(true);
  expect(lines.some((l) => l.includes("released the 1048576-byte disk reserve"))).toBe(true);
  // The space check (every second) finds room, writes the reserve again and clears the flag.
  for (let i = 0; i < 60 && store.space().full; i++) await new Promise((r) => setTimeout(r, 100));
  expect(store.space().full).toBe(false);
  expect(statSync(join(dir, "disk-reserve")).size).toBe(1024 * 1024);
  expect(seqsOf(store, q)).toHaveLength(101);
});
