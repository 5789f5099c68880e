// One priority level's ready messages: a window in memory and, past it, a part paged out to the
// durable store, read back a page at a time as consumers advance. A plain queue has one level;
// a priority queue (x-max-priority) has one per priority, each with its own range of seqs.
import { internalError } from "../amqp/errors.ts";
import { levelRange } from "../../storage/store.ts";
import { EntryDeque } from "./entry_deque.ts";
import type { QueueEntry } from "./queue_entry.ts";
import { Message } from "./message.ts";
import type { Store } from "../../storage/store.ts";

/** The queue a backlog belongs to, as the backlog uses it. */
export interface BacklogOwner {
  readonly log: Store | null;
  readonly durable: boolean;
  readonly storeId: number;
  readonly deleted: boolean;
  describe(): string;
  /** A ready entry leaves for good (a purge). */
  discard(entry: QueueEntry): void;
  /** Persistent messages stored for it: `delta` messages of `bytes` bytes came or went. */
  countPersistent(delta: number, bytes: number): void;
}

/**
 * Bounded memory: past this many ready messages (or bytes) in memory, a queue's new messages
 * live only in the store, and are paged back in as consumers make room.
 */
export const WINDOW_MESSAGES = 4096;
export const WINDOW_BYTES = 4 * 1024 * 1024;
const PAGE_IN_BELOW = WINDOW_MESSAGES / 2;
const PAGE_SIZE = 2048;
const PAGE_BYTES = WINDOW_BYTES / 4;
/** What a peek at an empty window reads (see peek). */
const HEAD_PAGE_ROWS = 64;
const HEAD_PAGE_BYTES = 64 * 1024;
/**
 * Bounded memory with many queues: the windows of all queues together hold at most this many
 * bytes of messages that are in the store (Store.heldInWindows). Past it, new persistent
 * messages go to the store only, and windows read back only what the next delivery needs: 2,000
 * queues of 100 × 1 KiB held 483 MB filled and 243 MB after a restart (docs/memory.md).
 */
export const HELD_IN_WINDOWS_BYTES = 64 * 1024 * 1024;

/** Rows cut off a backlog's head: the seqs from <= seq < to, `rows` of them. */
export interface CutRange {
  from: number;
  to: number;
  rows: number;
}

export class Backlog {
  /** The in-memory window, in delivery order. */
  readonly memory = new EntryDeque();
  /** Ready messages in the store but not in memory; they all come after those in memory. */
  private onDisk = 0;
  /** The seq of the first of them. */
  private diskFromSeq = 0;
  /** Body bytes of the messages on disk only. */
  private onDiskBytes = 0;
  /** This window's part of Store.heldInWindows: body bytes of its entries that are in the store. */
  private held = 0;
  /** Boot: some stored messages of this level expire (Queue.recovered checks the head then). */
  expiringAtBoot = false;
  /** Of those, the persistent ones (the rest are transient messages paged out to bound memory). */
  private onDiskPersistent = 0;
  private onDiskPersistentBytes = 0;
  private nextSeq: number;
  /** After a restart: messages up to this seq were delivered before it (redelivered=true). */
  private redeliveredUpTo = 0;
  /** This level's seqs: startSeq <= seq < endSeq. */
  private readonly startSeq: number;
  private readonly endSeq: number;

  constructor(private readonly queue: BacklogOwner, private readonly level: number, levelCount: number) {
    const { from, to } = levelRange(level, levelCount);
    this.startSeq = from;
    this.endSeq = to;
    this.nextSeq = from + 1;
  }

  /** The next seq; a level that used up its range refuses more messages rather than reuse one. */
  private takeSeq(): number {
    if (this.nextSeq >= this.endSeq) {
      throw internalError(`${this.queue.describe()}: priority level ${this.level} has used all its sequence numbers`);
    }
    return this.nextSeq++;
  }

  /** Ready messages (in memory and paged out). */
  get length(): number {
    return this.memory.length + this.onDisk;
  }

  /** Body bytes of the ready messages (in memory and paged out). */
  get bytes(): number {
    return this.memory.bytes + this.onDiskBytes;
  }

  /**
   * Adds a message at the tail: in memory, or to the store only when this level already pages
   * (order) or the queue's window is full. Returns whether it was written to the store.
   */
  add(message: Message, expiresAt: number, windowFull: boolean): boolean {
    const queue = this.queue;
    const log = queue.log;
    if (log !== null && (this.onDisk > 0 || windowFull)) return this.pageOut(message, expiresAt);
    const persisted = log !== null && queue.durable && message.persistent;
    const entry: QueueEntry = { message, seq: this.takeSeq(), redelivered: false, persisted, expiresAt };
    if (persisted) {
      log!.persist(queue.storeId, entry);
      queue.countPersistent(1, message.bodySize);
      this.hold(message.bodySize);
    }
    this.memory.push(entry);
    return persisted;
  }

  /**
   * The next ready entry, left in place. An empty window reads only a small page here: a peek
   * need not fill the window (shift does, as consumers take messages), and at boot every queue's
   * head is peeked for expiry, which with a full page each held 1.5 GB for 500 queues' backlogs.
   */
  peek(): QueueEntry | undefined {
    if (this.memory.length === 0 && this.onDisk > 0) this.pageIn(HEAD_PAGE_ROWS, HEAD_PAGE_BYTES);
    return this.memory.peek();
  }

  /** The next ready entry, removed. */
  shift(): QueueEntry | undefined {
    this.refill();
    return this.take();
  }

  /** Puts a delivered entry back at its original position, or at the tail of the window. */
  requeue(entry: QueueEntry, atTail: boolean): void {
    if (entry.persisted) this.hold(entry.message.bodySize);
    if (atTail) this.memory.push(entry);
    else this.memory.requeue(entry);
  }

  /** The window's first entry, out of the window. */
  private take(): QueueEntry | undefined {
    const entry = this.memory.shift();
    if (entry?.persisted) this.hold(-entry.message.bodySize);
    return entry;
  }

  /** Counts `bytes` more (or fewer) of the store's messages held in this window. */
  private hold(bytes: number): void {
    this.held += bytes;
    this.queue.log!.heldInWindows += bytes;
  }

  /** All windows together hold as many of the store's messages as they may. */
  private overBudget(): boolean {
    const log = this.queue.log;
    return log !== null && log.heldInWindows >= HELD_IN_WINDOWS_BYTES;
  }

  /** Removes every ready message, from memory and the store. */
  purge(): void {
    const queue = this.queue;
    const log = queue.log;
    if (!log || queue.deleted) {
      this.memory.purge();
      if (log) log.heldInWindows -= this.held;
      this.held = 0;
    } else {
      for (let entry = this.take(); entry; entry = this.take()) queue.discard(entry);
      if (this.onDisk > 0) log.purgeFrom(queue.storeId, this.diskFromSeq, this.endSeq);
      queue.countPersistent(-this.onDiskPersistent, -this.onDiskPersistentBytes);
    }
    this.onDisk = 0;
    this.onDiskBytes = 0;
    this.onDiskPersistent = 0;
    this.onDiskPersistentBytes = 0;
  }

  /**
   * Takes the oldest ready messages off this level until at least `count` messages and `bytes`
   * body bytes have gone (a length limit trimming a backlog), without reading those on disk: the
   * window's entries go to `each` one by one, and the disk rows taken are returned as the seq range
   * [from, to) for the caller to drop or dead-letter. Paging every message in to discard it stopped
   * the broker for seconds (1.36M messages: 6.1 s). Returns undefined, having done nothing, where the
   * window and a page cover the trim (the caller goes one by one) or the store cannot count rows.
   */
  cutOldest(count: number, bytes: number, each: (entry: QueueEntry) => void): CutRange | undefined {
    const queue = this.queue;
    const log = queue.log;
    if (log?.diskRows === undefined || queue.deleted || this.onDisk === 0) return undefined;
    // One page read covers it when both the rows and the bytes to go past the window fit in a page.
    const diskBytes = bytes - this.memory.bytes;
    const diskRowsForBytes = diskBytes / Math.max(1, this.onDiskBytes / this.onDisk);
    if (count <= this.memory.length + PAGE_SIZE && diskBytes <= PAGE_BYTES && diskRowsForBytes <= PAGE_SIZE) return undefined;
    for (let entry = this.take(); entry; entry = this.take()) {
      count--;
      bytes -= entry.message.bodySize;
      each(entry);
    }
    const from = this.diskFromSeq;
    // Everything on disk goes, unless some stays: up to the next seq, not the level's end, as the
    // caller may read the range later and later messages must not be in it.
    let cut = this.nextSeq;
    let gone = {
      rows: this.onDisk,
      bytes: this.onDiskBytes,
      persistent: this.onDiskPersistent,
      persistentBytes: this.onDiskPersistentBytes,
    };
    if (count < this.onDisk && bytes < this.onDiskBytes) {
      // Sum the smaller side: the rows that may stay (from the end) or those that must go (from the head).
      const keepRows = this.onDisk - Math.max(count, 0);
      const keepBytes = this.onDiskBytes - Math.max(bytes, 0);
      const kept = Math.min(keepRows, Math.floor(keepBytes / (this.onDiskBytes / this.onDisk || 1)));
      const fromEnd = kept <= this.onDisk - kept;
      const sums = fromEnd
        ? log.diskRows(queue.storeId, from, this.endSeq, keepRows, keepBytes, true)
        : log.diskRows(queue.storeId, from, this.endSeq, Math.max(count, 0), Math.max(bytes, 0), false);
      if (fromEnd && sums.rows > 0) {
        cut = sums.edgeSeq;
        gone = {
          rows: this.onDisk - sums.rows,
          bytes: this.onDiskBytes - sums.bytes,
          persistent: this.onDiskPersistent - sums.persistent,
          persistentBytes: this.onDiskPersistentBytes - sums.persistentBytes,
        };
      } else if (!fromEnd && sums.rows < this.onDisk) {
        cut = sums.edgeSeq + 1;
        gone = sums;
      }
    }
    queue.countPersistent(-gone.persistent, -gone.persistentBytes);
    this.onDisk -= gone.rows;
    this.onDiskBytes -= gone.bytes;
    this.onDiskPersistent -= gone.persistent;
    this.onDiskPersistentBytes -= gone.persistentBytes;
    if (this.onDisk <= 0) {
      this.onDisk = 0;
      this.onDiskBytes = 0;
      this.onDiskPersistent = 0;
      this.onDiskPersistentBytes = 0;
    }
    this.diskFromSeq = cut;
    this.refill();
    return { from, to: cut, rows: gone.rows };
  }

  /** Boot: `count` stored messages, the last with seq `maxSeq`. */
  recover(count: number, bytes: number, maxSeq: number, deliveredUpTo: number, expiring: boolean): void {
    this.expiringAtBoot = expiring;
    this.onDisk = count;
    this.onDiskBytes = bytes;
    // Only persistent rows survive a restart (transient ones are swept at boot).
    this.onDiskPersistent = count;
    this.onDiskPersistentBytes = bytes;
    this.queue.countPersistent(count, bytes);
    this.diskFromSeq = this.startSeq;
    if (maxSeq >= this.nextSeq) this.nextSeq = maxSeq + 1;
    this.redeliveredUpTo = deliveredUpTo;
    // Nothing is read now: a queue reads its head when it is first peeked or taken from.
  }

  /**
   * The window is full: the message goes to the store only — transient ones too, to keep order
   * and bound memory; they are dropped at boot. Returns whether its confirm waits for a commit.
   */
  private pageOut(message: Message, expiresAt: number): boolean {
    const queue = this.queue;
    const stored = queue.durable ? message : message.transientCopy();
    const entry: QueueEntry = { message: stored, seq: this.takeSeq(), redelivered: false, persisted: true, expiresAt };
    queue.log!.persist(queue.storeId, entry);
    if (this.onDisk === 0) this.diskFromSeq = entry.seq;
    this.onDisk++;
    this.onDiskBytes += message.bodySize;
    const persistent = queue.durable && message.persistent;
    if (persistent) {
      this.onDiskPersistent++;
      this.onDiskPersistentBytes += message.bodySize;
      queue.countPersistent(1, message.bodySize);
    }
    return persistent;
  }

  private refill(): void {
    if (this.onDisk === 0) return;
    // Over the budget a window reads only when empty, a small page (as a peek does).
    if (this.overBudget()) {
      if (this.memory.length === 0) this.pageIn(HEAD_PAGE_ROWS, HEAD_PAGE_BYTES);
    } else if (this.memory.length < PAGE_IN_BELOW && this.memory.bytes < WINDOW_BYTES / 2) this.pageIn();
  }

  /** Refills the in-memory window from the store. */
  private pageIn(limit = PAGE_SIZE, maxBytes = PAGE_BYTES): void {
    const rows = this.queue.log!.readPage(this.queue.storeId, this.diskFromSeq, this.endSeq, limit, maxBytes);
    for (const row of rows) {
      const message = new Message(row.exchange, row.routingKey, row.properties, row.body);
      message.storeRef = row.ref;
      const entry: QueueEntry = {
        message,
        seq: row.seq,
        redelivered: row.seq <= this.redeliveredUpTo,
        persisted: true,
        expiresAt: row.expiresAt,
      };
      if (row.deliveryCount > 0) {
        entry.deliveryCount = row.deliveryCount;
        entry.redelivered = true;
      }
      this.memory.push(entry);
      this.hold(message.bodySize);
      this.onDiskBytes -= row.bodySize;
      if (this.queue.durable && message.persistent) {
        this.onDiskPersistent--;
        this.onDiskPersistentBytes -= row.bodySize;
      }
    }
    const last = rows[rows.length - 1];
    if (last) {
      this.onDisk -= rows.length;
      this.diskFromSeq = last.seq + 1;
    }
    if (!last || this.onDisk <= 0) {
      this.onDisk = 0;
      this.onDiskBytes = 0;
      this.onDiskPersistent = 0;
      this.onDiskPersistentBytes = 0;
    }
  }
}
