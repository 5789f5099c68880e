// A stream (x-queue-type: stream) over AMQP 0-9-1, as RabbitMQ 3.9+ serves it: an append-only log
// that each consumer reads from an offset of its choosing (x-stream-offset), acks only freeing
// prefetch credit. Every message is written to the store as a row with seq = offset + 1 and its
// append time in the row's expiry column (streams have no TTL); the newest stay in memory too, so
// consumers at the tail read nothing back, and a consumer behind reads pages of its own from the
// store. Retention (x-max-length-bytes, x-max-age) drops whole segments
// (x-stream-max-segment-size-bytes) from the head when a segment fills, as RabbitMQ does.
import { notImplemented } from "../amqp/errors.ts";
import { type FieldTable, numberField, Typed } from "../amqp/table.ts";
import type { LevelStats } from "../../storage/store.ts";
import { Message } from "./message.ts";
import { Enqueued, Queue, type QueueConsumer } from "./queue.ts";
import type { QueueEntry } from "./queue_entry.ts";
import { maxAgeMs, type StreamStart, streamStart } from "./stream_args.ts";
import { policyNumber, policyString } from "./policy.ts";

/** The newest messages kept in memory as well as in the store. */
const TAIL_MESSAGES = 2048;
const TAIL_BYTES = 2 * 1024 * 1024;
/** What a consumer behind the tail reads from the store at a time. */
const PAGE_ROWS = 256;
const PAGE_BYTES = 1024 * 1024;
/** RabbitMQ's default x-stream-max-segment-size-bytes. */
const DEFAULT_SEGMENT_BYTES = 500_000_000;

/** Where one consumer is in the stream. */
interface Reader {
  /** The next offset to deliver. */
  next: number;
  /** Entries read back from the store for it (offsets below the in-memory tail). */
  page: QueueEntry[];
  at: number;
}

/** A stretch of the log that retention drops whole. */
interface Segment {
  first: number;
  count: number;
  bytes: number;
  /** Append time of its newest message (ms). */
  last: number;
}

/** A transient message in a stream: stored as persistent (recovered at boot), delivered as published. */
class KeptMessage extends Message {
  static of(m: Message): KeptMessage {
    return new KeptMessage(m.exchange, m.routingKey, m.properties, m.body);
  }
  override get persistent(): boolean {
    return true;
  }
}

export class StreamQueue extends Queue {
  /** The offset the next message gets. */
  private nextOffset = 0;
  /** The oldest offset retention kept (rows below it are gone). */
  private firstOffset = 0;
  private count = 0;
  private bytes = 0;
  /** The newest entries, in offset order: tail[i] has offset tailStart + i. */
  private tail: QueueEntry[] = [];
  private tailStart = 0;
  private tailBytes = 0;
  /** The first offset of the newest chunk (what one turn appended): x-stream-offset "last". */
  private chunkStart = 0;
  private chunkOpen = false;
  /**
   * Oldest first; the last is being written. Kept only while retention applies (else one segment
   * grows: a stream with tiny segments and no limits must not hold an object per segment).
   */
  private segments: Segment[] = [{ first: 0, count: 0, bytes: 0, last: 0 }];
  private readonly readers = new Map<QueueConsumer, Reader>();
  /** x-stream-max-segment-size-bytes and x-max-age (argument, else policy), read when the settings change. */
  private segmentBytes = DEFAULT_SEGMENT_BYTES;
  private maxAge: number | undefined;
  /** Segments are being tracked (a limit applied when the settings were last read). */
  private tracking = false;

  constructor(vhost: string, name: string, args: FieldTable) {
    super(vhost, name, true, false, null, args);
    this.readStreamSettings();
    this.tracking = this.retains;
  }

  // ------------------------------------------------------------------ what the queue holds

  override get messageCount(): number {
    return this.count;
  }

  override get readyBytes(): number {
    return this.bytes;
  }

  override get pagedOut(): number {
    return this.count - Math.min(this.count, this.tail.length);
  }

  override get pagedOutBytes(): number {
    return Math.max(0, this.bytes - this.tailBytes);
  }

  /** Appends a message; it stays until retention drops its segment. */
  override enqueue(published: Message): number {
    this.counters.publish++;
    const now = Date.now();
    const offset = this.nextOffset++;
    const log = this.log;
    // Like RabbitMQ, a stream keeps transient messages across restarts too.
    const message = published.persistent || log === null ? published : KeptMessage.of(published);
    const entry: QueueEntry = { message, seq: offset + 1, redelivered: false, persisted: log !== null, expiresAt: now };
    const size = message.bodySize;
    if (log !== null) {
      log.persist(this.storeId, entry);
      this.countPersistent(1, size);
    }
    this.count++;
    this.bytes += size;
    this.keepInTail(entry, size);
    if (!this.chunkOpen) {
      this.chunkOpen = true;
      this.chunkStart = offset;
      queueMicrotask(() => (this.chunkOpen = false));
    }
    const segment = this.segments[this.segments.length - 1]!;
    segment.count++;
    segment.bytes += size;
    segment.last = now;
    if (segment.bytes >= this.segmentBytes && this.tracking) {
      this.segments.push({ first: this.nextOffset, count: 0, bytes: 0, last: now });
      this.applyRetention(now);
    }
    if (this.consumers.length > 0) this.drain();
    return log !== null ? Enqueued.persisted : Enqueued.memory;
  }

  private keepInTail(entry: QueueEntry, size: number): void {
    if (this.tail.length === 0) this.tailStart = entry.seq - 1;
    this.tail.push(entry);
    this.tailBytes += size;
    // Without a store the tail is the whole stream.
    if (this.log === null || (this.tail.length <= TAIL_MESSAGES && this.tailBytes <= TAIL_BYTES)) return;
    let drop = 0;
    while (this.tail.length - drop > TAIL_MESSAGES / 2 || this.tailBytes > TAIL_BYTES / 2) {
      this.tailBytes -= this.tail[drop]!.message.bodySize;
      drop++;
      if (drop === this.tail.length) break;
    }
    this.tail = this.tail.slice(drop);
    this.tailStart += drop;
  }

  private readStreamSettings(): void {
    this.segmentBytes = numberField(this.args, "x-stream-max-segment-size-bytes") ??
      policyNumber(this.effectivePolicy, "stream-max-segment-size-bytes") ?? DEFAULT_SEGMENT_BYTES;
    const arg = this.args["x-max-age"];
    const age = typeof arg === "string" ? arg : policyString(this.effectivePolicy, "max-age");
    this.maxAge = age === undefined ? undefined : maxAgeMs(age);
  }

  /** A byte or age limit applies: segments are tracked. */
  private get retains(): boolean {
    return this.maxLengthBytes !== undefined || this.maxAge !== undefined;
  }

  /**
   * Drops the oldest segments while the stream is over x-max-length-bytes or their newest message
   * is older than x-max-age; the segment being written always stays.
   */
  private applyRetention(now: number): void {
    const maxBytes = this.maxLengthBytes;
    const maxAge = this.maxAge;
    if (maxBytes === undefined && maxAge === undefined) return;
    while (this.segments.length > 1) {
      const oldest = this.segments[0]!;
      const over = (maxBytes !== undefined && this.bytes > maxBytes) || (maxAge !== undefined && oldest.last < now - maxAge);
      if (!over) break;
      this.segments.shift();
      const until = this.segments[0]!.first;
      this.log?.purgeFrom(this.storeId, oldest.first + 1, until + 1);
      this.count -= oldest.count;
      this.bytes -= oldest.bytes;
      if (this.log !== null) this.countPersistent(-oldest.count, -oldest.bytes);
      this.firstOffset = until;
      while (this.tail.length > 0 && this.tailStart < until) {
        this.tailBytes -= this.tail.shift()!.message.bodySize;
        this.tailStart++;
      }
      if (this.tail.length === 0) this.tailStart = this.nextOffset;
    }
  }

  /**
   * After a settings change (arguments and policies) or a boot: a stream's limits are retention,
   * not a length limit. A limit that starts to apply (or another segment size) needs the segments
   * of what is stored.
   */
  protected override applyLimits(): void {
    const tracked = this.tracking;
    const segmentBytes = this.segmentBytes;
    this.readStreamSettings();
    this.tracking = this.retains;
    if (this.tracking && (!tracked || segmentBytes !== this.segmentBytes)) this.rebuildSegments();
    this.applyRetention(Date.now());
  }

  // ------------------------------------------------------------------ consumers

  /** Where a consumer with these basic.consume arguments starts (checked by the handler first). */
  startOffset(start: StreamStart): number {
    switch (start.kind) {
      case "first":
        return this.firstOffset;
      case "last":
        return this.count === 0 ? this.nextOffset : Math.max(this.chunkStart, this.firstOffset);
      case "next":
        return this.nextOffset;
      case "offset":
        return Math.max(start.offset, this.firstOffset);
      case "time":
        return this.offsetAt(start.ms);
    }
  }

  override addConsumer(consumer: QueueConsumer): void {
    super.addConsumer(consumer);
    const next = this.startOffset(streamStart(consumer.args ?? {}, this.describe()));
    this.readers.set(consumer, { next, page: [], at: 0 });
  }

  override removeConsumer(consumer: QueueConsumer): boolean {
    this.readers.delete(consumer);
    return super.removeConsumer(consumer);
  }

  /** Each consumer reads on from its own offset while it has credit. */
  override drain(): void {
    for (const consumer of this.consumers) {
      const reader = this.readers.get(consumer);
      if (reader === undefined) continue;
      while (consumer.canTake(this)) {
        const entry = this.read(reader);
        if (entry === undefined) break;
        consumer.deliver(this, entry);
      }
    }
  }

  /** The entry at the reader's offset (skipping offsets retention or a restart dropped). */
  private read(reader: Reader): QueueEntry | undefined {
    if (reader.next < this.firstOffset) reader.next = this.firstOffset;
    if (reader.next >= this.nextOffset) return undefined;
    if (reader.next >= this.tailStart) {
      const entry = this.tail[reader.next - this.tailStart];
      if (entry === undefined) return undefined;
      reader.next++;
      return entry;
    }
    while (reader.at < reader.page.length && reader.page[reader.at]!.seq - 1 < reader.next) reader.at++;
    if (reader.at >= reader.page.length) {
      reader.page = this.readStored(reader.next, this.tailStart);
      reader.at = 0;
      if (reader.page.length === 0) {
        reader.next = this.tailStart; // nothing stored below the tail from here on
        return this.read(reader);
      }
    }
    const entry = reader.page[reader.at++]!;
    reader.next = entry.seq; // seq = offset + 1
    return entry;
  }

  /** Stored entries from offset `from` up to (not including) `to`. */
  private readStored(from: number, to: number): QueueEntry[] {
    if (this.log === null || from >= to) return [];
    return this.log.readPage(this.storeId, from + 1, to + 1, PAGE_ROWS, PAGE_BYTES).map((row) => {
      const message = new Message(row.exchange, row.routingKey, row.properties, row.body);
      message.storeRef = row.ref;
      return { message, seq: row.seq, redelivered: false, persisted: true, expiresAt: row.expiresAt };
    });
  }

  /** The first offset appended at or after `ms` (the next offset when none was). */
  private offsetAt(ms: number): number {
    const inTail = this.tail.findIndex((e) => e.expiresAt >= ms);
    if (this.tail.length > 0 && this.tail[0]!.expiresAt < ms) return inTail < 0 ? this.nextOffset : this.tailStart + inTail;
    // Binary search over the stored part: the lowest offset whose first stored row is not older.
    let lo = this.firstOffset, hi = this.tail.length > 0 ? this.tailStart : this.nextOffset;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const row = this.readStored(mid, hi)[0];
      if (row === undefined || row.expiresAt >= ms) hi = mid;
      else lo = row.seq; // everything up to this row is older
    }
    return lo;
  }

  /** Delivered entries stay in the stream: an ack only frees prefetch credit. */
  override delivered(_entry: QueueEntry, _acked: boolean): void {}
  override discard(_entry: QueueEntry): void {}
  /** A nack or reject with requeue, or a closed channel, changes nothing (RabbitMQ does not redeliver). */
  override requeue(_entry: QueueEntry): void {}
  /** basic.get (AMQP 540; 400 over HTTP): a stream is read by consumers from an offset. */
  override take(): QueueEntry | undefined {
    throw notImplemented(`basic.get not supported by stream queues ${this.describe()}`);
  }
  /** queue.purge is refused the same way; the delete of a stream purges nothing (the store drops its rows). */
  override purge(): number {
    if (!this.deleted) throw notImplemented(`queue.purge not supported by stream queues ${this.describe()}`);
    return 0;
  }

  /** Every delivery says where it is in the stream (x-stream-offset, a long). */
  override deliveryProperties(entry: QueueEntry, _forGet: boolean): Uint8Array {
    return entry.message.propertiesWithHeader("x-stream-offset", new Typed("l", entry.seq - 1));
  }

  // ------------------------------------------------------------------ boot

  /** What the store holds: offsets continue after the last stored one; segments are rebuilt by size. */
  override recover(levels: readonly LevelStats[]): void {
    const stats = levels.find((l) => l.level === 0);
    const log = this.log;
    if (!stats || log === null) return;
    const first = log.readPage(this.storeId, 0, Number.MAX_SAFE_INTEGER, 1, 1)[0];
    if (!first) return;
    this.firstOffset = first.seq - 1;
    this.nextOffset = stats.maxSeq;
    this.tailStart = this.nextOffset;
    this.chunkStart = Math.max(this.firstOffset, this.nextOffset - 1);
    this.count = stats.count;
    this.bytes = stats.bytes;
    this.countPersistent(stats.count, stats.bytes);
    this.rebuildSegments();
  }

  /**
   * Segments of what the stream holds, cut by size from the store (a segment's age is its newest
   * message's append time), then an empty one to write; one segment of it all while no limit applies.
   */
  private rebuildSegments(): void {
    const log = this.log;
    const now = Date.now();
    const whole: Segment = { first: this.firstOffset, count: this.count, bytes: this.bytes, last: now };
    if (!this.tracking || log === null || log.diskRows === undefined || this.count === 0) {
      this.segments = [whole];
      return;
    }
    const segments: Segment[] = [];
    const end = this.nextOffset + 1;
    for (let from = this.firstOffset + 1; from < end;) {
      const s = log.diskRows(this.storeId, from, end, 1, this.segmentBytes, false);
      if (s.rows === 0) break;
      const last = log.readPage(this.storeId, s.edgeSeq, s.edgeSeq + 1, 1, 1)[0];
      segments.push({ first: from - 1, count: s.rows, bytes: s.bytes, last: last?.expiresAt ?? now });
      from = s.edgeSeq + 1;
    }
    segments.push({ first: this.nextOffset, count: 0, bytes: 0, last: now });
    this.segments = segments;
  }
}
