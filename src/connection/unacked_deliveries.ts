// A channel's deliveries awaiting ack, in delivery-tag order.
//
// Not a Map: JavaScriptCore's Map under this pattern (a few hundred live keys, new ones added at
// the back, old ones deleted from the front, thousands a second) makes every other collection a
// full one, and iterating it while deleting grows the heap without bound between them
// (docs/performance.md, "Unacked deliveries without a Map"). Two parallel arrays in tag order
// with a moving start allocate nothing per delivery once they have grown.
import type { Queue } from "../broker/queue.ts";
import type { QueueEntry } from "../broker/queue_entry.ts";

/** The consumer a delivery went to, as an ack sees it (the channel's Consumer). */
export interface UnackedConsumer {
  readonly tag: string;
  /** Its deliveries not yet acked (prefetch credit). */
  unacked: number;
}

/** A delivery awaiting ack (consumer null for basic.get). */
export interface Unacked {
  tag: number;
  entry: QueueEntry;
  queue: Queue;
  consumer: UnackedConsumer | null;
  /** Wall-clock ms of the delivery, for the consumer timeout (consumer_timeout.ts). */
  at: number;
}

/** Holes (settled out of order) tolerated before the arrays are compacted. */
const MIN_COMPACT = 64;
/** Slots kept for reuse once every delivery is settled; a channel that held more gets new arrays. */
const KEEP_SLOTS = 4096;
/** Rolled-back deliveries past this many are merged by one sort instead of an insertion each. */
const SORT_ABOVE = 64;

export class UnackedDeliveries {
  /** Delivery tags, ascending, in [start, end); `items[i]` is undefined once tag `tags[i]` is settled. */
  private tags: number[] = [];
  private items: (Unacked | undefined)[] = [];
  private start = 0;
  /** The arrays only grow (slots past `end` are reused): no allocation per delivery. */
  private end = 0;
  /** Deliveries awaiting ack. */
  size = 0;

  /** Adds a delivery; in order for new ones, at its place for rolled-back acks. */
  add(u: Unacked): void {
    const end = this.end;
    if (end === this.start || this.tags[end - 1]! < u.tag) {
      this.tags[end] = u.tag;
      this.items[end] = u;
      this.end = end + 1;
      this.size++;
      return;
    }
    const i = this.indexOf(u.tag);
    if (i < end && this.tags[i] === u.tag) {
      if (this.items[i] === undefined) this.size++;
      this.items[i] = u;
      return;
    }
    // Rare (a transaction rolled back): make room at i.
    this.tags.splice(i, 0, u.tag);
    this.items.splice(i, 0, u);
    this.end = end + 1;
    this.size++;
  }

  /** Puts settled deliveries back (acks of a transaction rolled back), each at its place by tag. */
  addAll(deliveries: readonly Unacked[]): void {
    if (deliveries.length <= SORT_ABOVE) {
      for (const u of deliveries) this.add(u);
      return;
    }
    // Many: one sort instead of an insertion each.
    const all = [...this.values(), ...deliveries].sort((a, b) => a.tag - b.tag);
    this.clear();
    for (const u of all) this.add(u);
  }

  get(tag: number): Unacked | undefined {
    const i = this.indexOf(tag);
    return i < this.end && this.tags[i] === tag ? this.items[i] : undefined;
  }

  /** Removes the delivery with this tag; returns it (undefined when it is not outstanding). */
  delete(tag: number): Unacked | undefined {
    const i = this.indexOf(tag);
    if (i >= this.end || this.tags[i] !== tag) return undefined;
    const u = this.items[i];
    if (u === undefined) return undefined;
    this.items[i] = undefined;
    this.size--;
    this.tidy();
    return u;
  }

  /**
   * Removes and returns the oldest delivery if its tag is at most `upTo` (a multiple ack takes
   * them one by one; deliveries added meanwhile have higher tags and stay).
   */
  shiftUpTo(upTo: number): Unacked | undefined {
    const oldest = this.oldest();
    if (oldest === undefined || oldest.tag > upTo) return undefined;
    this.items[this.start] = undefined;
    this.start++;
    this.size--;
    this.tidy();
    return oldest;
  }

  /** The oldest outstanding delivery. */
  oldest(): Unacked | undefined {
    return this.size === 0 ? undefined : this.items[this.start];
  }

  /** Every outstanding delivery, oldest first (not for the hot path). */
  *values(): IterableIterator<Unacked> {
    for (let i = this.start; i < this.end; i++) {
      const u = this.items[i];
      if (u !== undefined) yield u;
    }
  }

  clear(): void {
    if (this.items.length > KEEP_SLOTS) {
      this.tags = [];
      this.items = [];
    } else this.items.fill(undefined, this.start, this.end);
    this.start = 0;
    this.end = 0;
    this.size = 0;
  }

  /** Index of the first tag ≥ `tag` in [start, end) (binary search). */
  private indexOf(tag: number): number {
    const tags = this.tags;
    let lo = this.start;
    let hi = this.end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (tags[mid]! < tag) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Keeps `start` on a live delivery and settled slots from piling up. */
  private tidy(): void {
    if (this.size === 0) return this.clear();
    const items = this.items;
    let start = this.start;
    while (items[start] === undefined) start++;
    this.start = start;
    const live = this.end - start;
    if (start >= MIN_COMPACT && start >= live) this.compact();
    else if (live - this.size >= MIN_COMPACT && live - this.size > this.size) this.compact();
  }

  /** Moves the live deliveries to the front, dropping settled slots. */
  private compact(): void {
    const tags = this.tags;
    const items = this.items;
    let to = 0;
    for (let from = this.start; from < this.end; from++) {
      const u = items[from];
      if (u === undefined) continue;
      tags[to] = tags[from]!;
      items[to] = u;
      to++;
    }
    items.fill(undefined, to, this.end);
    this.start = 0;
    this.end = to;
  }
}
