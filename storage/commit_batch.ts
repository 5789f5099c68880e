// One commit's writes as data: what the store records during a turn is encoded here, in order,
// and applied by a BatchWriter (storage/batch_writer.ts) on the event loop's thread or on the
// store's writer thread (storage/commit_writer.ts). Numbers and bytes go into one growable
// buffer, which crosses to the thread without a copy; strings (names, SQL) ride beside it.
import type { SqlValue } from "../src/runtime/sqlite.ts";

/** The operations a batch holds. */
export const enum Op {
  /** A message row: id, exchange, routing key, properties, body, refs, transient, segment, offset, body size. */
  NewMessage = 1,
  /** The same fields: the message gains `refs` references, or is stored again if its row is gone. */
  AddRefs = 2,
  /** A queue's row: queue id, seq, message id, expires at, delivery count. */
  Row = 3,
  /** A run of a queue's rows deleted: queue id, first seq, count. */
  DeleteRows = 4,
  /** A shared message lost one row: id (deleted at zero references; its segment is released). */
  ReleaseShared = 5,
  /** A run of unshared messages deleted: first id, count. */
  DeleteMessages = 6,
  /** A queue's rows with from <= seq < to dropped with the messages they release: queue id, from, to. */
  DropRange = 7,
  /** A quorum queue row's delivery count: count, queue id, seq. */
  DeliveryCount = 8,
  /** Delivered up to seq: queue id, level, seq. */
  MarkDelivered = 9,
  /** Any other statement (metadata, plugins' tables): SQL, parameter count, parameters. */
  Statement = 10,
  /** The next chunk of the ranges dropped earlier and not deleted yet (storage/dropped_ranges.ts); no operands. */
  DropStep = 11,
}

const enum Tag {
  Null = 0,
  Number = 1,
  String = 2,
  Bytes = 3,
}

/** An encoded batch: `buffer` (the first `length` bytes of it) and the strings it refers to. */
export interface EncodedBatch {
  buffer: ArrayBuffer;
  length: number;
  strings: string[];
  /** Where its removals (the first operations) end: on a full disk they are written alone. */
  removalsEnd: number;
  /** Where applying starts (past removals already written alone). */
  start: number;
  /** Bytes referred to rather than copied (a batch applied on the encoder's thread). */
  blobs: Uint8Array[];
}

/** A blob's length field when the blob is referred to by index (blobs) instead of copied. */
const BY_REFERENCE = 0xffffffff;

const INITIAL_BYTES = 64 * 1024;
/** A buffer past this size is not kept for the next batch (the store sends batches of ~2 MiB at most). */
const MAX_REUSED_BYTES = 4 * 1024 * 1024;

export class BatchEncoder {
  private buffer = new ArrayBuffer(INITIAL_BYTES);
  private view = new DataView(this.buffer);
  private bytes = new Uint8Array(this.buffer);
  private at = 0;
  private strings: string[] = [];
  private removalsEnd = 0;
  private blobs: Uint8Array[] = [];
  /**
   * Bytes (bodies, properties) are referred to, not copied: set while encoding a batch that is
   * applied on this thread (the bytes are never changed once a message has them).
   */
  byReference = false;

  /**
   * The batch so far. `lend`: the batch is applied before the next one is encoded (on this
   * thread), so it may keep using the encoder's buffer (see BatchWriter.ownQueued); otherwise it
   * takes the buffer (it crosses to a thread) and the encoder starts a new one.
   */
  take(lend: boolean): EncodedBatch {
    const batch = {
      buffer: this.buffer,
      length: this.at,
      strings: this.strings,
      removalsEnd: this.removalsEnd,
      start: 0,
      blobs: this.blobs,
    };
    // A lent batch shares these arrays as well: emptied by reclaimLent() once it is applied.
    if (!lend) {
      this.strings = [];
      this.blobs = [];
    }
    this.removalsEnd = 0;
    // The next buffer is sized to what this batch needed, within reason (it grows if need be):
    // a buffer far larger than its batch would be carried to the writer, or kept, for nothing.
    const size = Math.max(INITIAL_BYTES, Math.min(this.at, MAX_REUSED_BYTES));
    if (!lend || this.buffer.byteLength > MAX_REUSED_BYTES) {
      this.buffer = new ArrayBuffer(size);
      this.view = new DataView(this.buffer);
      this.bytes = new Uint8Array(this.buffer);
    }
    this.at = 0;
    return batch;
  }

  /** The batches lent so far are applied (or copied, see BatchWriter.ownQueued): their arrays are reused. */
  reclaimLent(): void {
    this.strings.length = 0;
    this.blobs.length = 0;
  }

  /** The operations so far are removals (written alone when the disk is full). */
  markRemovalsEnd(): void {
    this.removalsEnd = this.at;
  }

  message(
    op: Op.NewMessage | Op.AddRefs,
    id: number,
    exchange: string,
    routingKey: string,
    properties: Uint8Array,
    body: Uint8Array,
    refs: number,
    transient: boolean,
    segment: number | null,
    offset: number | null,
    bodySize: number,
  ): void {
    this.reserve(1 + 8 * 6 + 4 * 6 + 1 + (this.byReference ? 0 : properties.length + body.length));
    this.op(op);
    this.number(id);
    this.string(exchange);
    this.string(routingKey);
    this.blob(properties);
    this.blob(body);
    this.number(refs);
    this.view.setUint8(this.at++, transient ? 1 : 0);
    this.number(segment ?? -1);
    this.number(offset ?? -1);
    this.number(bodySize);
  }

  row(queueId: number, seq: number, messageId: number, expiresAt: number, deliveryCount: number, bodySize: number): void {
    this.reserve(1 + 8 * 6);
    this.op(Op.Row);
    this.number(queueId);
    this.number(seq);
    this.number(messageId);
    this.number(expiresAt);
    this.number(deliveryCount);
    this.number(bodySize);
  }

  /** An operation of three numbers (DeleteRows, DropRange, DeliveryCount, MarkDelivered). */
  three(op: Op.DeleteRows | Op.DropRange | Op.DeliveryCount | Op.MarkDelivered, a: number, b: number, c: number): void {
    this.reserve(1 + 8 * 3);
    this.op(op);
    this.number(a);
    this.number(b);
    this.number(c);
  }

  /** An operation without operands (DropStep). */
  bare(op: Op.DropStep): void {
    this.reserve(1);
    this.op(op);
  }

  /** An operation of one or two numbers (ReleaseShared: id; DeleteMessages: first id, count). */
  ids(op: Op.ReleaseShared | Op.DeleteMessages, id: number, count = 1): void {
    this.reserve(1 + 8 * 2);
    this.op(op);
    this.number(id);
    this.number(count);
  }

  statement(sql: string, params: readonly SqlValue[]): void {
    this.reserve(1 + 4 + 4);
    this.op(Op.Statement);
    this.string(sql);
    this.view.setUint32(this.at, params.length, true);
    this.at += 4;
    for (const p of params) {
      if (p === null || p === undefined) {
        this.reserve(1);
        this.view.setUint8(this.at++, Tag.Null);
      } else if (typeof p === "number" || typeof p === "bigint" || typeof p === "boolean") {
        this.reserve(9);
        this.view.setUint8(this.at++, Tag.Number);
        this.number(Number(p));
      } else if (typeof p === "string") {
        this.reserve(5);
        this.view.setUint8(this.at++, Tag.String);
        this.string(p);
      } else {
        this.reserve(9 + p.length);
        this.view.setUint8(this.at++, Tag.Bytes);
        this.blob(p);
      }
    }
  }

  private op(op: Op): void {
    this.view.setUint8(this.at++, op);
  }

  private number(n: number): void {
    this.view.setFloat64(this.at, n, true);
    this.at += 8;
  }

  private string(s: string): void {
    this.view.setUint32(this.at, this.strings.length, true);
    this.at += 4;
    this.strings.push(s);
  }

  private blob(b: Uint8Array): void {
    if (this.byReference) {
      this.view.setUint32(this.at, BY_REFERENCE, true);
      this.view.setUint32(this.at + 4, this.blobs.length, true);
      this.at += 8;
      this.blobs.push(b);
      return;
    }
    this.view.setUint32(this.at, b.length, true);
    this.at += 4;
    this.bytes.set(b, this.at);
    this.at += b.length;
  }

  private reserve(n: number): void {
    if (this.at + n <= this.buffer.byteLength) return;
    let size = this.buffer.byteLength * 2;
    while (size < this.at + n) size *= 2;
    const next = new ArrayBuffer(size);
    new Uint8Array(next).set(this.bytes.subarray(0, this.at));
    this.buffer = next;
    this.view = new DataView(next);
    this.bytes = new Uint8Array(next);
  }
}

/** Reads a batch back, operation by operation (the writer's side). */
export class BatchReader {
  private readonly view: DataView;
  private readonly bytes: Uint8Array;
  private at: number;

  /** Reads operations from `from` up to `to` (the whole batch from where it starts by default). */
  constructor(private readonly batch: EncodedBatch, from = batch.start, private readonly to = batch.length) {
    this.view = new DataView(batch.buffer, 0, batch.length);
    this.bytes = new Uint8Array(batch.buffer, 0, batch.length);
    this.at = from;
  }

  get done(): boolean {
    return this.at >= this.to;
  }

  op(): Op {
    return this.view.getUint8(this.at++) as Op;
  }

  number(): number {
    const n = this.view.getFloat64(this.at, true);
    this.at += 8;
    return n;
  }

  /** A number that was null when encoded (-1). */
  nullable(): number | null {
    const n = this.number();
    return n === -1 ? null : n;
  }

  flag(): boolean {
    return this.view.getUint8(this.at++) !== 0;
  }

  string(): string {
    const index = this.view.getUint32(this.at, true);
    this.at += 4;
    return this.batch.strings[index]!;
  }

  /** Bytes as a view into the batch (valid while the batch is). */
  blob(): Uint8Array {
    const length = this.view.getUint32(this.at, true);
    this.at += 4;
    if (length === BY_REFERENCE) {
      const index = this.view.getUint32(this.at, true);
      this.at += 4;
      return this.batch.blobs[index]!;
    }
    const b = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    return b;
  }

  params(): SqlValue[] {
    const count = this.view.getUint32(this.at, true);
    this.at += 4;
    const params: SqlValue[] = [];
    for (let i = 0; i < count; i++) {
      const tag = this.view.getUint8(this.at++) as Tag;
      if (tag === Tag.Null) params.push(null);
      else if (tag === Tag.Number) params.push(this.number());
      else if (tag === Tag.String) params.push(this.string());
      else params.push(this.blob());
    }
    return params;
  }
}
