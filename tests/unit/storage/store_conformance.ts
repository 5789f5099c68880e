// What every Store implementation must do, in the shape of Hono's runTest: each store's test file
// is a call of runStoreConformance with a way to open it, reopen it after a clean stop or a crash,
// and clean up. The cases drive the store through its interface only, with hundreds of queues
// (plain, priority, quorum with delivery counts, non-durable), shared and large messages, and
// compare what a reopened store recovers with a model of what was committed.
import { afterEach, describe, expect, test } from "bun:test";
import { levelRange, type StorableMessage, type Store, type StoreRef, type StoreRow } from "../../../storage/store.ts";

export interface StoreFactory {
  name: string;
  /** A new, empty store. */
  open(): Promise<Store> | Store;
  /** The same store again after a clean close (crash: false) or a crash (what was not committed is lost). */
  reopen(store: Store, crash: boolean): Promise<Store> | Store;
  cleanup(): Promise<void> | void;
  /** Bodies at least this large take another path (segment files); 0 when there is none. */
  largeBody: number;
  /**
   * Makes every write that needs more space fail as on a full disk (true), or gives the space
   * back (false); absent for a store without a disk. While the disk is full, commits may wait.
   */
  diskFull?(store: Store, full: boolean): void;
  /**
   * One turn of the broker's event loop, after which what the turn recorded is committed
   * (default: setImmediate). A store whose commits are applied on another thread waits for them.
   */
  turn?(): Promise<void>;
}

// ------------------------------------------------------------------------------------ test data

export class TestMessage implements StorableMessage {
  storeRef: StoreRef | undefined = undefined;
  readonly properties: Uint8Array;
  constructor(
    readonly key: string,
    readonly body: Uint8Array,
    readonly persistent: boolean,
    readonly exchange = "x",
    readonly routingKey = "rk",
  ) {
    // An encoded property list: flag word with delivery-mode set, then the mode.
    this.properties = new Uint8Array([0x10, 0x00, persistent ? 2 : 1]);
  }
}

const text = new TextEncoder();
const decoder = new TextDecoder();

/** A message whose body starts with `key|` (keyOf reads it back). */
export function message(key: string, persistent = true, size = 0): TestMessage {
  const head = text.encode(`${key}|`);
  const body = new Uint8Array(Math.max(head.length, size));
  body.set(head);
  for (let i = head.length; i < body.length; i++) body[i] = (i * 31 + key.length) & 0xff;
  return new TestMessage(key, body, persistent);
}

export function keyOf(body: Uint8Array): string {
  return decoder.decode(body.subarray(0, Math.min(body.length, 64))).split("|")[0]!;
}

interface Row extends StoreRow {
  readonly message: TestMessage;
  deliveryCount?: number;
}

export const row = (m: TestMessage, seq: number, expiresAt = 0): Row => ({ message: m, seq, expiresAt });

export const nextImmediate = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Everything a queue has stored, by level: what a reopened store hands back. */
function readAll(store: Store, queueId: number, levelCount: number) {
  const out: {
    seq: number;
    key: string;
    bytes: number;
    expiresAt: number;
    deliveryCount: number;
    properties: number[];
    exchange: string;
    routingKey: string;
    ref: StoreRef;
  }[] = [];
  for (let level = 0; level < levelCount; level++) {
    const { from, to } = levelRange(level, levelCount);
    for (let fromSeq = from;;) {
      const page = store.readPage(queueId, fromSeq, to, 97, 1 << 20);
      for (const m of page) {
        out.push({
          seq: m.seq,
          key: keyOf(m.body),
          bytes: m.body.length,
          expiresAt: m.expiresAt,
          deliveryCount: m.deliveryCount,
          properties: [...m.properties],
          exchange: m.exchange,
          routingKey: m.routingKey,
          ref: m.ref,
        });
      }
      if (page.length === 0) break;
      fromSeq = page[page.length - 1]!.seq + 1;
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------ the model

/** A seeded PRNG (mulberry32): the same seed gives the same run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ModelRow {
  key: string;
  bytes: number;
  persistent: boolean;
  expiresAt: number;
  deliveryCount: number;
}

interface ModelQueue {
  id: number;
  name: string;
  durable: boolean;
  levelCount: number;
  quorum: boolean;
  /** Deleted, as the running broker sees it; and as a crash would leave it (committed). */
  deleted: boolean;
  deletedDurably: boolean;
  /** Its declaration was committed (a crash before that loses the queue). */
  declaredDurably: boolean;
  nextSeq: number[];
  /** Rows the store holds (committed or not) and the live objects that stand for them. */
  live: Map<number, Row>;
  /** What a crash would recover: committed rows, and delivered watermarks per level. */
  committed: Map<number, ModelRow>;
  watermarks: number[];
}

/** Drives a store with random operations and checks every reopen against the model. */
class Run {
  queues: ModelQueue[] = [];
  /** Changes since the last commit, applied to the model's committed state when the store commits. */
  private pending: (() => void)[] = [];
  private messages = 0;
  ops = 0;
  /** The disk is full now (factory.diskFull): commits may wait, so no crash is simulated. */
  private full = false;

  constructor(public store: Store, private readonly random: () => number, private readonly factory: StoreFactory) {}

  pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[Math.floor(this.random() * items.length)];
  }

  declare(count: number): void {
    for (let i = 0; i < count; i++) {
      const n = this.queues.length;
      const durable = n % 11 !== 5;
      const levelCount = n % 7 === 3 ? 1 + (n % 5) : 1;
      const quorum = levelCount === 1 && n % 5 === 2;
      const name = `q${n}`;
      const id = durable ? this.store.saveQueue({ vhost: "/", name, autoDelete: false, args: {} }) : this.store.registerTransientQueue();
      const q: ModelQueue = {
        id,
        name,
        durable,
        levelCount,
        quorum,
        deleted: false,
        deletedDurably: false,
        declaredDurably: false,
        live: new Map(),
        committed: new Map(),
        nextSeq: Array.from({ length: levelCount }, (_, level) => levelRange(level, levelCount).from + 1),
        watermarks: new Array(levelCount).fill(0),
      };
      this.queues.push(q);
      this.pending.push(() => (q.declaredDurably = true));
    }
  }

  private liveQueues(): ModelQueue[] {
    return this.queues.filter((q) => !q.deleted);
  }

  publish(): void {
    const n = 1 + Math.floor(this.random() ** 3 * 4);
    const persistent = this.random() < 0.9;
    const large = this.factory.largeBody > 0 && this.random() < 0.004;
    const m = message(`m${this.messages++}`, persistent, large ? this.factory.largeBody + 100 : Math.floor(this.random() * 300));
    const targets = new Set<ModelQueue>();
    for (let i = 0; i < n; i++) {
      const q = this.pick(this.liveQueues());
      if (q) targets.add(q);
    }
    for (const q of targets) {
      // A non-durable queue stores its own copy (the broker's transientCopy), never a durable row.
      const stored = q.durable ? m : message(m.key, m.persistent, m.body.length);
      const level = Math.floor(this.random() * q.levelCount);
      const seq = q.nextSeq[level]!++;
      const expiresAt = this.random() < 0.1 ? 1_900_000_000_000 + seq : 0;
      const r = row(stored, seq, expiresAt);
      this.store.persist(q.id, r);
      q.live.set(seq, r);
      const modelRow: ModelRow = { key: m.key, bytes: m.body.length, persistent: m.persistent, expiresAt, deliveryCount: 0 };
      this.pending.push(() => q.committed.set(seq, modelRow));
    }
  }

  remove(): void {
    const q = this.pick(this.liveQueues().filter((x) => x.live.size > 0));
    if (!q) return;
    const seq = this.pick([...q.live.keys()])!;
    const r = q.live.get(seq)!;
    q.live.delete(seq);
    this.store.remove(q.id, r);
    this.pending.push(() => q.committed.delete(seq));
  }

  returnToQuorum(): void {
    const q = this.pick(this.liveQueues().filter((x) => x.quorum && x.live.size > 0));
    if (!q) return;
    const seq = this.pick([...q.live.keys()])!;
    const r = q.live.get(seq)!;
    const count = (r.deliveryCount = (r.deliveryCount ?? 0) + 1);
    this.store.updateDeliveryCount(q.id, r);
    this.pending.push(() => {
      const c = q.committed.get(seq);
      if (c) c.deliveryCount = count;
    });
  }

  deliver(): void {
    const q = this.pick(this.liveQueues().filter((x) => x.live.size > 0));
    if (!q) return;
    const seq = this.pick([...q.live.keys()])!;
    const level = q.levelCount === 1 ? 0 : Math.floor(seq / levelRange(1, 2).from);
    this.store.markDelivered(q.id, level, seq);
    this.pending.push(() => (q.watermarks[level] = Math.max(q.watermarks[level]!, seq)));
  }

  purgeTail(): void {
    const q = this.pick(this.liveQueues().filter((x) => x.live.size > 0));
    if (!q) return;
    const seqs = [...q.live.keys()].sort((a, b) => a - b);
    const from = seqs[Math.floor(this.random() * seqs.length)]!;
    const to = levelRange(q.levelCount === 1 ? 0 : Math.floor(from / levelRange(1, 2).from), q.levelCount).to;
    for (const seq of seqs) if (seq >= from && seq < to) q.live.delete(seq);
    this.store.purgeFrom(q.id, from, to);
    this.pending.push(() => {
      for (const seq of [...q.committed.keys()]) if (seq >= from && seq < to) q.committed.delete(seq);
    });
  }

  deleteQueue(): void {
    const q = this.pick(this.liveQueues());
    if (!q) return;
    q.deleted = true;
    q.live.clear();
    this.store.deleteQueue(q.id, "/", q.name);
    this.pending.push(() => {
      q.committed.clear();
      q.deletedDurably = true;
    });
  }

  async commit(explicit: boolean): Promise<void> {
    if (explicit) this.store.commit();
    else await (this.factory.turn ?? nextImmediate)();
    let committed = false;
    this.store.afterCommit(() => (committed = true));
    if (this.full && !committed) return; // held in memory until the disk has room
    expect(committed).toBe(true);
    for (const apply of this.pending.splice(0)) apply();
  }

  /** Fills or frees the disk; once freed, everything held is written at the next commit. */
  async toggleDiskFull(): Promise<void> {
    this.full = !this.full;
    this.factory.diskFull!(this.store, this.full);
    if (!this.full) await this.commit(true);
  }

  /** Reopens the store and checks it holds exactly the model's committed state. */
  async reopen(crash: boolean): Promise<void> {
    if (this.full) await this.toggleDiskFull(); // a crash while changes are held is not modelled
    if (!crash) await this.commit(true);
    this.pending = []; // a crash loses what was not committed
    this.store = await this.factory.reopen(this.store, crash);
    this.check();
  }

  /** What the store recovers is the model; then live rows are rebuilt from it, as the broker pages them in. */
  check(): void {
    const referenced = new Set<string>();
    for (const q of this.queues) {
      // After a crash, a delete that was not committed never happened, nor did such a declare.
      q.deleted = q.deletedDurably || !q.declaredDurably;
      if (!q.durable || q.deleted) {
        q.live.clear();
        q.committed.clear();
        q.deleted = q.deletedDurably = true; // a non-durable queue does not outlive its broker
        continue;
      }
      for (const [seq, r] of [...q.committed]) if (!r.persistent) q.committed.delete(seq);
      const stored = readAll(this.store, q.id, q.levelCount);
      const expected = [...q.committed].sort((a, b) => a[0] - b[0]).map(([seq, r]) => ({
        seq,
        key: r.key,
        bytes: r.bytes,
        expiresAt: r.expiresAt,
        deliveryCount: r.deliveryCount,
      }));
      expect({
        queue: q.name,
        rows: stored.map(({ seq, key, bytes, expiresAt, deliveryCount }) => ({ seq, key, bytes, expiresAt, deliveryCount })),
      })
        .toEqual({ queue: q.name, rows: expected });
      for (const s of stored) {
        expect(s.properties).toEqual([0x10, 0x00, 2]);
        expect([s.exchange, s.routingKey]).toEqual(["x", "rk"]);
      }
      const stats = this.store.levelStats(q.id, q.levelCount);
      for (let level = 0; level < q.levelCount; level++) {
        const { from, to } = levelRange(level, q.levelCount);
        const inLevel = expected.filter((r) => r.seq >= from && r.seq < to);
        const s = stats.find((x) => x.level === level);
        if (inLevel.length === 0) expect(s).toBeUndefined();
        else {
          expect({ queue: q.name, level, count: s?.count, bytes: s?.bytes, maxSeq: s?.maxSeq, delivered: s?.deliveredUpTo })
            .toEqual({
              queue: q.name,
              level,
              count: inLevel.length,
              bytes: inLevel.reduce((n, r) => n + r.bytes, 0),
              maxSeq: inLevel[inLevel.length - 1]!.seq,
              delivered: q.watermarks[level]!,
            });
        }
        // The broker continues numbering after the highest stored seq.
        if (s) q.nextSeq[level] = Math.max(q.nextSeq[level]!, s.maxSeq + 1);
      }
      q.live.clear();
      for (const s of stored) {
        const m = message(s.key, true, s.bytes);
        m.storeRef = s.ref;
        const r = row(m, s.seq, s.expiresAt);
        if (s.deliveryCount > 0) r.deliveryCount = s.deliveryCount;
        q.live.set(s.seq, r);
        referenced.add(s.key);
      }
    }
    // No stored message without a row: a leak would grow the store for ever.
    expect(this.store.messageCount()).toBe(referenced.size);
  }

  async step(): Promise<void> {
    this.ops++;
    const r = this.random();
    if (r < 0.45) this.publish();
    else if (r < 0.7) this.remove();
    else if (r < 0.76) this.returnToQuorum();
    else if (r < 0.82) this.deliver();
    else if (r < 0.835) this.purgeTail();
    else if (r < 0.84) this.deleteQueue();
    else if (r < 0.845) this.declare(1);
    else if (r < 0.92) await this.commit(this.random() < 0.5);
    else if (r < 0.925 && this.factory.diskFull) await this.toggleDiskFull();
    else if (r < 0.9985) return;
    else await this.reopen(this.random() < 0.7);
  }
}

// ------------------------------------------------------------------------------------ the cases

export function runStoreConformance(factory: StoreFactory): void {
  describe(`${factory.name} store conformance`, () => {
    let store: Store | undefined;
    const turn = factory.turn ?? nextImmediate;
    afterEach(async () => {
      try {
        store?.close();
      } catch {
        // already closed by a reopen
      }
      store = undefined;
      await factory.cleanup();
    });

    const reopen = async (crash: boolean) => (store = await factory.reopen(store!, crash));

    test("a priority queue's level-1 row and the row of the queue 256 ids later both survive one commit", async () => {
      store = await factory.open();
      const prio = store.saveQueue({ vhost: "/", name: "prio", autoDelete: false, args: { "x-max-priority": 1 } });
      let last = prio;
      for (let i = 1; i <= 256; i++) last = store.saveQueue({ vhost: "/", name: `plain-${i}`, autoDelete: false, args: {} });
      expect(last).toBe(prio + 256);
      const high = levelRange(1, 2).from + 1;
      store.persist(prio, row(message("to-prio"), high));
      store.persist(last, row(message("to-plain"), 1));
      await reopen(false);
      expect(readAll(store, prio, 2).map((r) => [r.seq, r.key])).toEqual([[high, "to-prio"]]);
      expect(readAll(store, last, 1).map((r) => [r.seq, r.key])).toEqual([[1, "to-plain"]]);
    });

    test("levelStats says which levels hold a row that expires (boot reads only their heads)", async () => {
      store = await factory.open();
      const plain = store.saveQueue({ vhost: "/", name: "plain", autoDelete: false, args: {} });
      const prio = store.saveQueue({ vhost: "/", name: "prio-ttl", autoDelete: false, args: { "x-max-priority": 1 } });
      store.persist(plain, row(message("forever"), 1));
      store.persist(prio, row(message("low"), levelRange(0, 2).from + 1));
      store.persist(prio, row(message("high, expires"), levelRange(1, 2).from + 1, Date.now() + 60_000));
      store.persist(prio, row(message("high"), levelRange(1, 2).from + 2));
      await reopen(false);
      expect(store.levelStats(plain, 1).map((s) => s.expiring)).toEqual([false]);
      expect(store.levelStats(prio, 2).map((s) => [s.level, s.expiring])).toEqual([[0, false], [1, true]]);
    });

    test("a plain queue's row past 2^32 and the next queue's first row both survive, and removing one leaves the other", async () => {
      store = await factory.open();
      const a = store.saveQueue({ vhost: "/", name: "a", autoDelete: false, args: {} });
      const b = store.saveQueue({ vhost: "/", name: "b", autoDelete: false, args: {} });
      const far = row(message("far"), 2 ** 32 + 1);
      const near = row(message("near"), 1);
      const other = row(message("other"), 2 ** 41 + 7);
      store.persist(a, far);
      store.persist(b, near);
      store.persist(a, other);
      store.remove(b, near); // in the same turn: must cancel b's row, not a's
      await reopen(false);
      expect(readAll(store, a, 1).map((r) => [r.seq, r.key])).toEqual([[2 ** 32 + 1, "far"], [2 ** 41 + 7, "other"]]);
      expect(readAll(store, b, 1)).toEqual([]);
      expect(store.levelStats(a, 1)).toEqual([{ level: 0, count: 2, bytes: 10, maxSeq: 2 ** 41 + 7, deliveredUpTo: 0, expiring: false }]);
      expect(store.messageCount()).toBe(2);
    });

    test("a message shared by many queues is stored once and deleted with its last row", async () => {
      store = await factory.open();
      const ids = Array.from({ length: 300 }, (_, i) => store!.saveQueue({ vhost: "/", name: `s${i}`, autoDelete: false, args: {} }));
      const m = message("shared");
      const rows = ids.map(() => row(m, 1));
      ids.forEach((id, i) => store!.persist(id, rows[i]!));
      store.commit();
      expect(store.messageCount()).toBe(1);
      ids.slice(0, 299).forEach((id, i) => store!.remove(id, rows[i]!));
      await reopen(false);
      expect(store.messageCount()).toBe(1);
      const recovered = readAll(store, ids[299]!, 1);
      expect(recovered.map((r) => r.key)).toEqual(["shared"]);
      const again = message("shared");
      again.storeRef = recovered[0]!.ref;
      store.remove(ids[299]!, row(again, 1));
      store.commit();
      expect(store.messageCount()).toBe(0);
    });

    test("a stored message given a row in another queue in a later turn keeps both rows", async () => {
      store = await factory.open();
      const a = store.saveQueue({ vhost: "/", name: "a", autoDelete: false, args: {} });
      const b = store.saveQueue({ vhost: "/", name: "b", autoDelete: false, args: {} });
      const c = store.saveQueue({ vhost: "/", name: "c", autoDelete: false, args: {} });
      const m = message("later");
      const inA = row(m, 1);
      store.persist(a, inA);
      store.commit();
      store.persist(b, row(m, 1));
      store.commit();
      // In one turn: the last known row goes and a new one comes.
      store.remove(a, inA);
      store.persist(c, row(m, 5));
      await turn();
      await reopen(true);
      expect(readAll(store, a, 1)).toEqual([]);
      expect(readAll(store, b, 1).map((r) => r.key)).toEqual(["later"]);
      expect(readAll(store, c, 1).map((r) => r.key)).toEqual(["later"]);
      expect(store.messageCount()).toBe(1);
    });

    test("a crash loses exactly what was not committed; a clean close loses nothing", async () => {
      store = await factory.open();
      const q = store.saveQueue({ vhost: "/", name: "q", autoDelete: false, args: {} });
      store.persist(q, row(message("one"), 1));
      await turn();
      store.persist(q, row(message("two"), 2));
      await reopen(true);
      expect(readAll(store, q, 1).map((r) => r.key)).toEqual(["one"]);
      store.persist(q, row(message("three"), 3));
      await reopen(false);
      expect(readAll(store, q, 1).map((r) => r.key)).toEqual(["one", "three"]);
    });

    test("afterCommit waits for the commit that makes a persist durable", async () => {
      store = await factory.open();
      const q = store.saveQueue({ vhost: "/", name: "q", autoDelete: false, args: {} });
      let done = false;
      store.afterCommit(() => (done = true));
      expect(done).toBe(false); // the declare is pending
      await turn();
      expect(done).toBe(true);
      store.persist(q, row(message("x"), 1));
      let confirmed = false;
      store.afterCommit(() => (confirmed = true));
      expect(confirmed).toBe(false);
      await turn();
      expect(confirmed).toBe(true);
    });

    test("non-persistent rows and non-durable queues' rows are gone after a reopen, and nothing leaks", async () => {
      store = await factory.open();
      const durable = store.saveQueue({ vhost: "/", name: "d", autoDelete: false, args: {} });
      const transient = store.registerTransientQueue();
      expect(transient).toBeLessThan(0);
      store.persist(durable, row(message("keep"), 1));
      store.persist(durable, row(message("paged", false), 2));
      store.persist(transient, row(message("copy"), 1));
      store.markDelivered(transient, 0, 1);
      store.markDelivered(durable, 0, 1);
      await reopen(false);
      expect(readAll(store, durable, 1).map((r) => r.key)).toEqual(["keep"]);
      expect(readAll(store, transient, 1)).toEqual([]);
      expect(store.levelStats(durable, 1)).toEqual([{ level: 0, count: 1, bytes: 5, maxSeq: 1, deliveredUpTo: 1, expiring: false }]);
      expect(store.messageCount()).toBe(1);
    });

    test("quorum delivery counts and per-level delivered marks survive a restart", async () => {
      store = await factory.open();
      const q = store.saveQueue({ vhost: "/", name: "qq", autoDelete: false, args: { "x-queue-type": "quorum" } });
      const p = store.saveQueue({ vhost: "/", name: "pq", autoDelete: false, args: { "x-max-priority": 3 } });
      const r = row(message("poison"), 1);
      store.persist(q, r);
      r.deliveryCount = 1;
      store.updateDeliveryCount(q, r); // still pending: written with its count
      store.commit();
      r.deliveryCount = 2;
      store.updateDeliveryCount(q, r);
      for (let level = 0; level < 4; level++) {
        const seq = levelRange(level, 4).from + 1;
        store.persist(p, row(message(`p${level}`), seq));
        store.persist(p, row(message(`p${level}b`), seq + 1));
        if (level !== 2) store.markDelivered(p, level, seq);
      }
      await reopen(false);
      expect(readAll(store, q, 1).map((x) => [x.key, x.deliveryCount])).toEqual([["poison", 2]]);
      expect(store.levelStats(p, 4).map((s) => [s.level, s.count, s.deliveredUpTo - levelRange(s.level, 4).from])).toEqual([
        [0, 2, 1],
        [1, 2, 1],
        [2, 2, -levelRange(2, 4).from],
        [3, 2, 1],
      ]);
    });

    test("purging a range and deleting a queue release their messages, pending or committed", async () => {
      store = await factory.open();
      const a = store.saveQueue({ vhost: "/", name: "a", autoDelete: false, args: {} });
      const b = store.saveQueue({ vhost: "/", name: "b", autoDelete: false, args: {} });
      for (let seq = 1; seq <= 10; seq++) store.persist(a, row(message(`a${seq}`), seq));
      // Shared by both queues and written before the purge: it must stay, with one reference left.
      const written = message("both-written");
      store.persist(a, row(written, 30));
      store.persist(b, row(written, 2));
      store.commit();
      for (let seq = 11; seq <= 20; seq++) store.persist(a, row(message(`a${seq}`), seq));
      const shared = message("both");
      store.persist(a, row(shared, 21));
      store.persist(b, row(shared, 1));
      store.purgeFrom(a, 6, Number.MAX_SAFE_INTEGER);
      await reopen(false);
      expect(readAll(store, a, 1).map((r) => r.key)).toEqual(["a1", "a2", "a3", "a4", "a5"]);
      expect(readAll(store, b, 1).map((r) => r.key)).toEqual(["both", "both-written"]);
      expect(store.messageCount()).toBe(7);
      store.deleteQueue(a, "/", "a");
      await reopen(false);
      expect(readAll(store, a, 1)).toEqual([]);
      expect(store.messageCount()).toBe(2);
      // Its last reference gone, the shared message goes too.
      store.deleteQueue(b, "/", "b");
      await reopen(false);
      expect(store.messageCount()).toBe(0);
    });

    test("a purge and a queue delete of many rows leave only what was published after, also after a crash", async () => {
      store = await factory.open();
      const a = store.saveQueue({ vhost: "/", name: "a", autoDelete: false, args: {} });
      const b = store.saveQueue({ vhost: "/", name: "b", autoDelete: false, args: {} });
      const c = store.saveQueue({ vhost: "/", name: "c", autoDelete: false, args: {} });
      const N = 10_000; // more than one commit deletes (storage/dropped_ranges.ts)
      for (let seq = 1; seq <= N; seq++) {
        store.persist(a, row(message(`a${seq}`), seq));
        store.persist(c, row(message(`c${seq}`), seq));
      }
      const shared = message("shared");
      store.persist(a, row(shared, N + 1));
      store.persist(b, row(shared, 1));
      store.commit();
      store.purgeFrom(a, 1, N + 2);
      store.deleteQueue(c, "/", "c");
      for (let seq = N + 2; seq < N + 7; seq++) store.persist(a, row(message(`new${seq}`), seq));
      store.commit();
      await reopen(true); // a crash right after the drops' commit
      const fresh = Array.from({ length: 5 }, (_, i) => `new${N + 2 + i}`);
      expect(readAll(store, a, 1).map((r) => r.key)).toEqual(fresh);
      expect(readAll(store, b, 1).map((r) => r.key)).toEqual(["shared"]);
      expect(readAll(store, c, 1)).toEqual([]);
      expect(store.messageCount()).toBe(6);
      // Without a crash: the store serves while the rest is deleted, and a new queue is left alone.
      store.purgeFrom(a, 1, N + 7);
      store.deleteQueue(b, "/", "b");
      const d = store.saveQueue({ vhost: "/", name: "d", autoDelete: false, args: {} });
      for (let seq = 1; seq <= N; seq++) store.persist(d, row(message(`d${seq}`), seq));
      store.commit();
      // To the end of the seqs, as a queue delete drops: a row written after must not go with it.
      store.purgeFrom(d, 1, Number.MAX_SAFE_INTEGER);
      store.persist(d, row(message("kept"), N + 1));
      for (let i = 0; i < 20; i++) await turn();
      expect(readAll(store, d, 1).map((r) => r.key)).toEqual(["kept"]);
      await reopen(false);
      expect(readAll(store, a, 1)).toEqual([]);
      expect(readAll(store, d, 1).map((r) => r.key)).toEqual(["kept"]);
      expect(store.messageCount()).toBe(1);
    });

    if (factory.largeBody > 0) {
      test("large bodies come back byte for byte, and their space is released", async () => {
        store = await factory.open();
        const ids = Array.from({ length: 20 }, (_, i) => store!.saveQueue({ vhost: "/", name: `l${i}`, autoDelete: false, args: {} }));
        const big = ids.map((_, i) => message(`big${i}`, true, factory.largeBody + i * 1000));
        ids.forEach((id, i) => store!.persist(id, row(big[i]!, 1)));
        store.persist(ids[0]!, row(big[1]!, 2)); // one shared by two queues
        await reopen(false);
        for (let i = 0; i < ids.length; i++) {
          const page = store.readPage(ids[i]!, 0, Number.MAX_SAFE_INTEGER, 10, 1 << 30);
          expect(page[0]!.body).toEqual(big[i]!.body);
        }
        expect(store.readPage(ids[0]!, 2, 3, 1, 1)[0]!.body).toEqual(big[1]!.body);
      });
    }

    for (const seed of [1, 2, 3, Number(process.env.STORE_SEED ?? Date.now() % 100_000)]) {
      test(`randomized: thousands of operations on hundreds of queues, reopened again and again (seed ${seed})`, async () => {
        const random = prng(seed);
        const run = new Run(await factory.open(), random, factory);
        store = run.store;
        try {
          run.declare(300);
          await run.commit(true);
          while (run.ops < 6000) {
            await run.step();
            store = run.store;
          }
          await run.reopen(true);
          await run.reopen(false);
          store = run.store;
        } catch (err) {
          store = run.store;
          (err as Error).message =
            `store conformance (${factory.name}) failed with seed ${seed} after ${run.ops} operations (rerun with STORE_SEED=${seed}):\n${
              (err as Error).message
            }`;
          throw err;
        }
      });
    }
  });
}
