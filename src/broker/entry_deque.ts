// A queue level's in-memory window: a ring-buffer deque of never-delivered entries, plus the
// requeued entries kept sorted by seq. Deliveries leave a queue in seq order, so every requeued
// entry is older than every entry still in the deque and comes out first.
import type { QueueEntry } from "./queue_entry.ts";

/** The empty requeued list every deque shares until it has one (never pushed to). */
const NONE: QueueEntry[] = [];

export class EntryDeque {
  /** Allocated with the first entry: most of many queues hold nothing most of the time. */
  private ring: (QueueEntry | undefined)[] = new Array(0);
  private head = 0;
  private count = 0;
  /** Requeued entries, ascending seq, read from requeuedHead on (NONE until the first). */
  private requeued: QueueEntry[] = NONE;
  private requeuedHead = 0;
  bytes = 0;

  get length(): number {
    return this.count + this.requeued.length - this.requeuedHead;
  }

  push(entry: QueueEntry): void {
    if (this.count === this.ring.length) this.grow();
    this.ring[(this.head + this.count) & (this.ring.length - 1)] = entry;
    this.count++;
    this.bytes += entry.message.bodySize;
  }

  shift(): QueueEntry | undefined {
    let entry: QueueEntry | undefined;
    if (this.requeuedHead < this.requeued.length) {
      entry = this.requeued[this.requeuedHead++];
      if (this.requeuedHead === this.requeued.length) {
        this.requeued = NONE;
        this.requeuedHead = 0;
      }
    } else if (this.count > 0) {
      entry = this.ring[this.head];
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) & (this.ring.length - 1);
      this.count--;
    }
    if (entry) this.bytes -= entry.message.bodySize;
    return entry;
  }

  peek(): QueueEntry | undefined {
    if (this.requeuedHead < this.requeued.length) return this.requeued[this.requeuedHead];
    return this.count > 0 ? this.ring[this.head] : undefined;
  }

  requeue(entry: QueueEntry): void {
    if (this.requeued === NONE) this.requeued = [];
    const list = this.requeued;
    // Usually appended in order (a channel requeues its unacked in delivery order).
    if (list.length === this.requeuedHead || list[list.length - 1]!.seq < entry.seq) list.push(entry);
    else {
      let lo = this.requeuedHead;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (list[mid]!.seq < entry.seq) lo = mid + 1;
        else hi = mid;
      }
      list.splice(lo, 0, entry);
    }
    this.bytes += entry.message.bodySize;
  }

  purge(): number {
    const n = this.length;
    this.ring = new Array(0);
    this.head = 0;
    this.count = 0;
    this.requeued = NONE;
    this.requeuedHead = 0;
    this.bytes = 0;
    return n;
  }

  private grow(): void {
    const next: (QueueEntry | undefined)[] = new Array(Math.max(16, this.ring.length * 2));
    for (let i = 0; i < this.count; i++) next[i] = this.ring[(this.head + i) & (this.ring.length - 1)];
    this.ring = next;
    this.head = 0;
  }
}
