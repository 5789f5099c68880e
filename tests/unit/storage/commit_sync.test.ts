// Durability off the event loop (storage/commit_sync.ts): callbacks wait for an fsync that
// started after their commit, one fsync covers several commits, a failed fsync confirms nothing,
// shutdown drains. First with a hand-driven target, then the SQLite store with fsync on.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../../src/log.ts";
import { CommitSync, type SyncTarget } from "../../../storage/commit_sync.ts";
import { SqliteStore } from "../../../storage/sqlite_store.ts";
import { StoreRef } from "../../../storage/store.ts";

/** A target whose fsyncs complete when the test says so. */
class ManualTarget implements SyncTarget {
  started = 0;
  syncedNow = 0;
  closed = false;
  private done: ((err: Error | null) => void) | undefined;
  sync(done: (err: Error | null) => void): void {
    expect(this.done).toBeUndefined(); // never two fsyncs at once
    this.started++;
    this.done = done;
  }
  syncNow(): void {
    this.syncedNow++;
  }
  close(): void {
    expect(this.done).toBeUndefined(); // not while an fsync uses the descriptor
    this.closed = true;
  }
  get inFlight(): boolean {
    return this.done !== undefined;
  }
  complete(err: Error | null = null): void {
    const done = this.done!;
    this.done = undefined;
    done(err);
  }
}

/** Lets the microtask that commits after an fsync's callbacks run. */
const microtasks = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function setup() {
  const target = new ManualTarget();
  const fatal: Error[] = [];
  const ran: string[] = [];
  const sync = new CommitSync(target, () => ran.push("flush"), (err) => fatal.push(err));
  const cb = (name: string) => () => ran.push(name);
  return { target, fatal, sync, ran, cb };
}

describe("CommitSync", () => {
  test("a commit's callbacks run only after an fsync that started after the commit, then the store commits", async () => {
    const { target, sync, ran, cb } = setup();
    sync.committed([cb("a1"), cb("a2")]);
    expect(target.started).toBe(1);
    expect(ran).toEqual([]);
    expect(sync.syncing).toBe(true);
    target.complete();
    // The confirms first; the commit of what waited comes in a microtask after them.
    expect(ran).toEqual(["a1", "a2"]);
    await microtasks();
    expect(ran).toEqual(["a1", "a2", "flush"]);
    expect(sync.pending).toBe(false);
  });

  test("commits that end during an fsync wait for the next one, which covers them all", async () => {
    const { target, sync, ran, cb } = setup();
    sync.committed([cb("a")]);
    sync.committed([cb("b")]);
    sync.committed([cb("c")]);
    expect(target.started).toBe(1); // b and c ended after the first fsync started
    target.complete();
    await microtasks();
    expect(ran).toEqual(["a", "flush"]);
    expect(target.started).toBe(2); // one fsync for b and c
    target.complete();
    await microtasks();
    expect(ran).toEqual(["a", "flush", "b", "c", "flush"]);
    expect(target.inFlight).toBe(false);
  });

  test("a commit with no callbacks is still synced before later waiters run", async () => {
    const { target, sync, ran, cb } = setup();
    sync.committed([]);
    sync.wait(cb("after"));
    expect(ran).toEqual([]);
    target.complete();
    await microtasks();
    expect(ran).toEqual(["after", "flush"]);
  });

  test("wait keeps the order of callbacks already waiting, and runs at once when nothing is", async () => {
    const { target, sync, ran, cb } = setup();
    sync.wait(cb("now"));
    expect(ran).toEqual(["now"]);
    sync.committed([cb("a")]);
    sync.wait(cb("a-wait")); // rides with the fsync in flight: nothing new needs syncing
    sync.committed([cb("b")]);
    sync.wait(cb("b-wait"));
    target.complete();
    await microtasks();
    expect(ran).toEqual(["now", "a", "a-wait", "flush"]);
    target.complete();
    await microtasks();
    expect(ran).toEqual(["now", "a", "a-wait", "flush", "b", "b-wait", "flush"]);
  });

  test("when an fsync completes the store commits after its callbacks, and that commit is covered by the next fsync", async () => {
    const target = new ManualTarget();
    const ran: string[] = [];
    const sync: CommitSync = new CommitSync(target, () => sync.committed([() => ran.push("b")]), () => {});
    sync.committed([() => ran.push("a")]);
    target.complete();
    await microtasks();
    expect(ran).toEqual(["a"]); // b was committed after the first fsync completed
    expect(target.started).toBe(2);
    target.complete();
    await microtasks();
    expect(ran).toEqual(["a", "b"]);
  });

  test("a failed fsync runs none of its callbacks nor any later one, and reports once", () => {
    const { target, fatal, sync, ran, cb } = setup();
    sync.committed([cb("a")]);
    sync.committed([cb("b")]);
    target.complete(new Error("EIO: i/o error, fsync"));
    expect(fatal.map((e) => e.message)).toEqual(["EIO: i/o error, fsync"]);
    expect(target.inFlight).toBe(false); // b is never synced: it is never confirmed either
    sync.committed([cb("c")]);
    sync.wait(cb("d"));
    expect(target.started).toBe(1);
    expect(ran).toEqual([]);
  });

  test("drain syncs on the caller's thread, runs every callback in order and closes after the fsync in flight", () => {
    const { target, sync, ran, cb } = setup();
    sync.committed([cb("a")]);
    sync.committed([cb("b")]);
    sync.drain();
    expect(target.syncedNow).toBe(1);
    expect(ran).toEqual(["a", "b"]);
    expect(target.closed).toBe(false); // the fsync in flight still uses the file
    target.complete();
    expect(target.closed).toBe(true);
    expect(ran).toEqual(["a", "b"]);
  });

  test("a failed drain confirms nothing", () => {
    const target = new ManualTarget();
    target.syncNow = () => {
      throw new Error("EIO");
    };
    const fatal: Error[] = [];
    const sync = new CommitSync(target, () => {}, (err) => fatal.push(err));
    let ran = false;
    sync.committed([() => (ran = true)]);
    target.complete(); // the first fsync covered that commit
    expect(ran).toBe(true);
    ran = false;
    sync.committed([() => (ran = true)]);
    sync.drain();
    expect(ran).toBe(false);
    expect(fatal.length).toBe(1);
    target.complete();
    expect(ran).toBe(false);
    expect(target.closed).toBe(true);
  });

  test("abandon (a crash) releases nothing", () => {
    const { target, sync, ran, cb } = setup();
    sync.committed([cb("a")]);
    sync.committed([cb("b")]);
    sync.abandon();
    target.complete();
    expect(ran).toEqual([]);
    expect(target.closed).toBe(true);
  });
});

describe("SqliteStore with fsync", () => {
  const log = createLogger("none");
  const dirs: string[] = [];
  const stores: SqliteStore[] = [];
  const open = (dir: string) => {
    const store = SqliteStore.open(dir, { fsync: true, log, reclaim: false });
    stores.push(store);
    return store;
  };
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "warren-commit-sync-"));
    dirs.push(dir);
    return dir;
  };
  const message = (body: string) => ({
    exchange: "",
    routingKey: "q",
    properties: new Uint8Array(0),
    body: new TextEncoder().encode(body),
    persistent: true,
    storeRef: undefined as StoreRef | undefined,
  });
  const until = async (check: () => boolean) => {
    while (!check()) await new Promise((r) => setTimeout(r, 1));
  };

  afterEach(() => {
    for (const store of stores.splice(0)) store.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  test("confirms come after the fsync, in order, and what they confirmed is there after a restart", async () => {
    const dir = tempDir();
    const store = open(dir);
    const q = store.saveQueue({ vhost: "/", name: "q", autoDelete: false, args: {} });
    const order: number[] = [];
    for (let i = 1; i <= 50; i++) {
      store.persist(q, { seq: i, message: message(`m${i}`), expiresAt: 0 });
      store.afterCommit(() => order.push(i));
      // every few messages a new turn: several commits, some while an fsync is in flight
      if (i % 7 === 0) await new Promise((r) => setImmediate(r));
    }
    await until(() => order.length === 50);
    expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    store.abandon(); // kill -9: only what SQLite wrote
    const next = open(dir);
    expect(next.queueStats(q).count).toBe(50);
  });

  test("a failed fsync stops the store: no confirm is sent for what it covered", () => {
    const target = new ManualTarget();
    const lines: string[] = [];
    const store = SqliteStore.open(tempDir(), {
      fsync: true,
      log: createLogger("error", (line) => lines.push(line)),
      reclaim: false,
      syncFile: () => target,
      writerThread: false, // CommitSync syncs for the loop's writer; the thread's commits are FULL
    });
    stores.push(store);
    const q = store.saveQueue({ vhost: "/", name: "q", autoDelete: false, args: {} });
    store.persist(q, { seq: 1, message: message("x"), expiresAt: 0 });
    let confirmed = false;
    store.afterCommit(() => (confirmed = true));
    store.commit();
    expect(target.started).toBe(1);
    expect(confirmed).toBe(false); // committed to the WAL, not yet durable
    let thrown = "";
    try {
      target.complete(new Error("EIO: i/o error, fdatasync"));
    } catch (err) {
      thrown = (err as Error).message; // stops the broker: nothing catches it there
    }
    expect(thrown).toBe("EIO: i/o error, fdatasync");
    expect(confirmed).toBe(false);
    expect(lines.some((l) => l.includes("store fsync failed, stopping (nothing it covered is confirmed): EIO"))).toBe(true);
    store.persist(q, { seq: 2, message: message("y"), expiresAt: 0 });
    let later = false;
    store.afterCommit(() => (later = true));
    store.commit();
    expect(later).toBe(false);
    stores.pop(); // the fsync target is failed: abandoned, as the process would stop
    store.abandon();
  });

  test("while an fsync is in flight changes wait in memory, and are committed when it completes", async () => {
    const target = new ManualTarget();
    const store = SqliteStore.open(tempDir(), { fsync: true, log, reclaim: false, syncFile: () => target, writerThread: false });
    stores.push(store);
    const q = store.saveQueue({ vhost: "/", name: "q", autoDelete: false, args: {} });
    store.persist(q, { seq: 1, message: message("a"), expiresAt: 0 });
    const confirmed: string[] = [];
    store.afterCommit(() => confirmed.push("a"));
    await new Promise((r) => setImmediate(r));
    expect(target.started).toBe(1);
    expect(store.queueStats(q).count).toBe(1);
    store.persist(q, { seq: 2, message: message("b"), expiresAt: 0 });
    store.afterCommit(() => confirmed.push("b"));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(store.queueStats(q).count).toBe(1); // not committed while the fsync runs
    target.complete();
    expect(confirmed).toEqual(["a"]);
    await microtasks();
    expect(store.queueStats(q).count).toBe(2); // committed as the fsync completed…
    expect(target.started).toBe(2); // …and covered by the next one
    target.complete();
    expect(confirmed).toEqual(["a", "b"]);
  });

  test("close makes pending commits durable and runs their callbacks", () => {
    const dir = tempDir();
    const store = SqliteStore.open(dir, { fsync: true, log, reclaim: false });
    const q = store.saveQueue({ vhost: "/", name: "q", autoDelete: false, args: {} });
    store.persist(q, { seq: 1, message: message("x"), expiresAt: 0 });
    let confirmed = false;
    store.afterCommit(() => (confirmed = true));
    store.close();
    expect(confirmed).toBe(true);
    expect(open(dir).queueStats(q).count).toBe(1);
  });

  test("the WAL stays the same file across checkpoints, truncation and many commits", async () => {
    const dir = tempDir();
    const store = open(dir);
    const wal = join(dir, "warren.sqlite-wal");
    const inode = statSync(wal).ino;
    const q = store.saveQueue({ vhost: "/", name: "q", autoDelete: false, args: {} });
    const rows = [];
    for (let i = 1; i <= 3000; i++) {
      const row = { seq: i, message: message("y".repeat(2000)), expiresAt: 0 };
      rows.push(row);
      store.persist(q, row);
      if (i % 500 === 0) store.commit(); // 6 MB of WAL: auto-checkpoints and WAL restarts
    }
    for (const row of rows) store.remove(q, row);
    store.commit();
    store.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    let done = false;
    store.persist(q, { seq: 3001, message: message("z"), expiresAt: 0 });
    store.afterCommit(() => (done = true));
    await until(() => done);
    expect(statSync(wal).ino).toBe(inode);
  });
});
