// Holding back delivered rows (storage/hold_back.ts, issue 22): a busy commit does not write the
// rows of messages already delivered to a consumer; the next commit writes those still unacked,
// and every callback registered after a held row (a publisher confirm, a tx.commit-ok) waits for
// it. On the loop's writer the fsync is driven by hand, so acks land while it runs, as they do
// in the broker, and crashes (abandon) between commits show what the disk holds. On the writer
// thread, acks at random points and a clean reopen check the rows and reference counts.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../../src/log.ts";
import { THREADS_SUPPORTED } from "../../../src/runtime/thread.ts";
import { HOLD_MIN_ROWS, HoldBack } from "../../../storage/hold_back.ts";
import { SqliteStore } from "../../../storage/sqlite_store.ts";
import type { SyncTarget } from "../../../storage/commit_sync.ts";
import type { StoreRow } from "../../../storage/store.ts";
import { keyOf, message, nextImmediate, row } from "./store_conformance.ts";

const log = createLogger("none");
const dirs: string[] = [];
const stores: SqliteStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) {
    try {
      store.close();
    } catch {
      // abandoned by the test
    }
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** An fsync the test completes by hand. */
class ManualSync implements SyncTarget {
  private done: ((err: Error | null) => void) | undefined;
  sync(done: (err: Error | null) => void): void {
    this.done = done;
  }
  syncNow(): void {}
  close(): void {}
  get inFlight(): boolean {
    return this.done !== undefined;
  }
  complete(): void {
    const done = this.done!;
    this.done = undefined;
    done(null);
  }
}

function openWithSync(dir: string, sync: ManualSync): SqliteStore {
  const store = SqliteStore.open(dir, { fsync: true, log, reclaim: false, syncFile: () => sync, writerThread: false });
  stores.push(store);
  return store;
}

function openPlain(dir: string, writerThread: boolean): SqliteStore {
  const store = SqliteStore.open(dir, { fsync: false, log, reclaim: false, writerThread });
  stores.push(store);
  return store;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "warren-hold-"));
  dirs.push(dir);
  return dir;
}

/** The keys a queue holds, in order, as a reopened store reads them. */
function keys(store: SqliteStore, queueId: number): string[] {
  return store.readPage(queueId, 0, Number.MAX_SAFE_INTEGER, 100_000, 1 << 30).map((m) => keyOf(m.body));
}

/** Event-loop turns until `done()` (the writer thread applies on its own time), at most 10 s. */
async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done() && Date.now() < deadline) await nextImmediate();
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const named = (indexes: number[]) => indexes.map((i) => `m${i}`);

const ROWS = HOLD_MIN_ROWS + 36; // a busy commit: enough rows for delivered ones to be held

describe("when commits hold rows back (HoldBack)", () => {
  test("busy commits hold, small ones do not; most held rows written anyway pause it", () => {
    const hold = new HoldBack();
    expect(hold.wanted(HOLD_MIN_ROWS - 1)).toBe(false);
    expect(hold.wanted(HOLD_MIN_ROWS)).toBe(true);
    // 4,096 held, under half written late: holding goes on.
    expect(hold.record(2048, 1000)).toBeUndefined();
    expect(hold.record(2048, 1000)).toBeUndefined();
    expect(hold.wanted(1000)).toBe(true);
    // The next 4,096: over half late (the consumer acks slowly): it pauses, and says so.
    expect(hold.record(3000, 2000)).toBeUndefined();
    expect(hold.record(1096, 600)?.includes("2600 of 4096 held rows were written anyway")).toBe(true);
    expect(hold.wanted(1000)).toBe(false);
  });
});

describe("holding back delivered rows (the loop's writer, fsync by hand)", () => {
  test("rows acked while the fsync runs are never written and confirm with it; the rest are written, and the confirms after them wait", async () => {
    const dir = tempDir();
    const sync = new ManualSync();
    let store = openWithSync(dir, sync);
    const q = store.saveQueue({ vhost: "/", name: "q", autoDelete: false, args: {} });
    const confirmed: number[] = [];
    const rows: StoreRow[] = [];
    // One turn: ROWS publishes, each with its confirm; the second half is delivered at once.
    const half = ROWS / 2;
    for (let i = 0; i < ROWS; i++) {
      rows.push(row(message(`m${i}`), i + 1));
      store.persist(q, rows[i]!);
      store.afterCommit(() => confirmed.push(i));
      if (i >= half) store.markDelivered(q, 0, i + 1);
    }
    await nextImmediate();
    expect(sync.inFlight).toBe(true);
    // While it is synced, the consumer acks most of the delivered half.
    const acked = ROWS - 10;
    for (let i = half; i < acked; i++) store.remove(q, rows[i]!);
    sync.complete();
    // The undelivered half was written and is confirmed, and so are the held rows acked meanwhile
    // (nothing left to write); from the first held row still pending on, confirms wait for the
    // next commit.
    expect(confirmed).toEqual(range(0, acked));
    await until(() => sync.inFlight);
    sync.complete();
    expect(confirmed).toEqual(range(0, ROWS));
    // A crash now: the disk holds the first half and the held rows nobody acked, nothing else.
    store.abandon();
    store = openWithSync(dir, new ManualSync());
    expect(keys(store, q)).toEqual(named([...range(0, half), ...range(acked, ROWS)]));
    expect(store.messageCount()).toBe(half + ROWS - acked); // no message row without its queue row
    expect(store.levelStats(q, 1)[0]!.deliveredUpTo).toBe(ROWS);
  });

  test("a held row still pending stops the early confirms at its place, whatever was acked after it", async () => {
    const sync = new ManualSync();
    const store = openWithSync(tempDir(), sync);
    const q = store.saveQueue({ vhost: "/", name: "q", autoDelete: false, args: {} });
    const confirmed: number[] = [];
    const rows: StoreRow[] = [];
    for (let i = 0; i < ROWS; i++) {
      rows.push(row(message(`m${i}`), i + 1));
      store.persist(q, rows[i]!);
      store.afterCommit(() => confirmed.push(i));
      if (i >= 20) store.markDelivered(q, 0, i + 1);
    }
    await nextImmediate();
    for (let i = 20; i < ROWS; i++) if (i !== 30) store.remove(q, rows[i]!); // every held row acked but the 31st
    sync.complete();
    expect(confirmed).toEqual(range(0, 30));
    await until(() => sync.inFlight);
    sync.complete();
    expect(confirmed).toEqual(range(0, ROWS));
  });

  test("a crash while rows are held: only the undelivered rows were written, and nothing was confirmed before its fsync", async () => {
    const dir = tempDir();
    const sync = new ManualSync();
    let store = openWithSync(dir, sync);
    const q = store.saveQueue({ vhost: "/", name: "q", autoDelete: false, args: {} });
    store.commit();
    sync.complete();
    const confirmed: number[] = [];
    for (let i = 0; i < ROWS; i++) {
      store.persist(q, row(message(`m${i}`), i + 1));
      store.afterCommit(() => confirmed.push(i));
      if (i >= 10) store.markDelivered(q, 0, i + 1); // delivered as they arrive, from the 11th on
    }
    await nextImmediate();
    expect(sync.inFlight).toBe(true);
    store.abandon(); // the commit is in the WAL, its fsync not done
    expect(confirmed).toEqual([]);
    store = openWithSync(dir, new ManualSync());
    expect(keys(store, q)).toEqual(named(range(0, 10)));
    expect(store.messageCount()).toBe(10);
  });

  test("a message in two queues delivered from one: both rows wait, and its reference count stays right", async () => {
    const dir = tempDir();
    const sync = new ManualSync();
    let store = openWithSync(dir, sync);
    const a = store.saveQueue({ vhost: "/", name: "a", autoDelete: false, args: {} });
    const b = store.saveQueue({ vhost: "/", name: "b", autoDelete: false, args: {} });
    store.commit();
    sync.complete();
    const inA: StoreRow[] = [];
    const confirmed: number[] = [];
    for (let i = 0; i < ROWS; i++) {
      const m = message(`m${i}`);
      inA.push(row(m, i + 1));
      store.persist(a, inA[i]!);
      store.persist(b, row(m, i + 1));
      store.afterCommit(() => confirmed.push(i));
      store.markDelivered(a, 0, i + 1); // delivered from a only
    }
    await nextImmediate();
    for (let i = 0; i < ROWS; i++) store.remove(a, inA[i]!); // a's consumer acks everything meanwhile
    sync.complete();
    expect(confirmed).toEqual([]); // every confirm came after a held row
    await until(() => sync.inFlight);
    sync.complete();
    expect(confirmed).toEqual(range(0, ROWS));
    store.abandon();
    store = openWithSync(dir, new ManualSync());
    expect(keys(store, a)).toEqual([]);
    expect(keys(store, b)).toEqual(named(range(0, ROWS)));
    expect(store.messageCount()).toBe(ROWS);
    // b's rows are the messages' only references now: acking them frees every message.
    for (const stored of store.readPage(b, 0, Number.MAX_SAFE_INTEGER, 100_000, 1 << 30)) {
      const m = message("again");
      m.storeRef = stored.ref;
      store.remove(b, row(m, stored.seq));
    }
    store.commit();
    expect(store.messageCount()).toBe(0);
  });

  test(`a commit of fewer than ${HOLD_MIN_ROWS} rows holds nothing back`, async () => {
    const sync = new ManualSync();
    const store = openWithSync(tempDir(), sync);
    const q = store.saveQueue({ vhost: "/", name: "q", autoDelete: false, args: {} });
    const confirmed: number[] = [];
    const few = HOLD_MIN_ROWS - 1;
    for (let i = 0; i < few; i++) {
      store.persist(q, row(message(`m${i}`), i + 1));
      store.afterCommit(() => confirmed.push(i));
      store.markDelivered(q, 0, i + 1);
    }
    await nextImmediate();
    sync.complete();
    expect(confirmed).toEqual(range(0, few));
  });
});

if (!THREADS_SUPPORTED) console.warn("skipping holding back on the writer thread: this runtime has no threads for it");
else {describe("holding back delivered rows (writer thread)", () => {
    test("busy turns of deliveries and acks across 20 queues: every confirm runs, and a reopen holds exactly the unacked rows", async () => {
      const dir = tempDir();
      let store = openPlain(dir, true);
      const queues = Array.from({ length: 20 }, (_, n) => store.saveQueue({ vhost: "/", name: `q${n}`, autoDelete: false, args: {} }));
      let seed = 7;
      const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
      const live = new Map<number, Map<number, StoreRow>>(queues.map((q) => [q, new Map()]));
      const delivered: [number, StoreRow][] = [];
      let published = 0;
      let confirmed = 0;
      for (let turn = 0; turn < 30; turn++) {
        for (let i = 0; i < ROWS; i++) {
          const m = message(`m${published}`);
          // Mostly one queue, sometimes two (a shared message).
          const targets = random() < 0.2 ? [queues[i % 20]!, queues[(i + 7) % 20]!] : [queues[i % 20]!];
          for (const q of targets) {
            const r = row(m, published + 1);
            store.persist(q, r);
            live.get(q)!.set(r.seq, r);
            if (random() < 0.7) {
              store.markDelivered(q, 0, r.seq);
              delivered.push([q, r]);
            }
          }
          published++;
          store.afterCommit(() => confirmed++);
        }
        // Acks of earlier deliveries, some of them still held.
        for (let i = delivered.length - 1; i >= 0; i--) {
          if (random() < 0.6) {
            const [q, r] = delivered[i]!;
            store.remove(q, r);
            live.get(q)!.delete(r.seq);
            delivered.splice(i, 1);
          }
        }
        await nextImmediate();
      }
      await until(() => confirmed === published);
      expect(confirmed).toBe(published);
      store.close();
      store = openPlain(dir, true);
      const referenced = new Set<string>();
      for (const q of queues) {
        const expected = [...live.get(q)!.values()].sort((x, y) => x.seq - y.seq).map((r) => keyOf(r.message.body));
        expect(keys(store, q)).toEqual(expected);
        for (const key of expected) referenced.add(key);
      }
      expect(store.messageCount()).toBe(referenced.size);
    });
  });}
