// Applies encoded commits (storage/commit_batch.ts) to the SQLite database in the order they were
// submitted, everything queued in one transaction. A batch that meets a full disk is held, with
// every batch after it, and retried until it fits: batches are never dropped or reordered, so what
// the store decided when it encoded them stays true. The same class runs on the event loop's
// thread (the default writer) and inside the store's writer thread (storage/writer_worker.ts).
import type { SqlDatabase, SqlStatement, SqlValue } from "../src/runtime/sqlite.ts";
import { BatchedInsert } from "./batched_writes.ts";
import { BatchReader, type EncodedBatch, Op } from "./commit_batch.ts";
import { DroppedRanges } from "./dropped_ranges.ts";
import { isDiskFull } from "./sqlite_open.ts";
import { MESSAGE_COLUMNS, prepareStatements, ROW_COLUMNS, type Statements } from "./sqlite_statements.ts";

/** What a BatchWriter tells its owner. */
export interface BatchEvents {
  /**
   * Batch `id` is committed; `released` are segments whose messages it deleted; `moreToDrop`: its
   * transaction dropped rows and some dropped range is not deleted yet (the store sends a DropStep).
   */
  applied(id: number, released: number[], moreToDrop: boolean): void;
  /** A batch met a full disk: it and those after it wait, retried every `retryMs`. */
  full(err: Error): void;
  /** A write failed for another reason: the writer stops (nothing after it is applied). */
  fatal(err: Error): void;
}

/** Batches applied in one transaction at most (what queued while the last one was written). */
const MAX_GROUP = 64;

export class BatchWriter {
  private readonly sql: Statements;
  private readonly messageInserts: BatchedInsert;
  private readonly rowInserts: BatchedInsert;
  private readonly upsert: SqlStatement;
  private readonly statements = new Map<string, SqlStatement>();
  private readonly drops: DroppedRanges;
  /** The transaction being written dropped rows (DropRange, DropStep). */
  private dropped = false;
  private readonly queue: { id: number; batch: EncodedBatch; owned: boolean }[] = [];
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Segments released by removals written alone (a full disk), reported with their batch. */
  private readonly releasedEarly = new WeakMap<EncodedBatch, number[]>();
  private stopped = false;
  /** A batch is waiting for room on the disk. */
  held = false;

  /**
   * `inTransaction` runs at the end of each batch's transaction (the reclaimer's steps ride on
   * commits when the writer is on the loop's thread).
   */
  constructor(
    private readonly db: SqlDatabase,
    private readonly events: BatchEvents,
    private readonly retryMs: number,
    private readonly inTransaction?: () => void,
  ) {
    this.sql = prepareStatements(db);
    this.messageInserts = new BatchedInsert(db, "messages", MESSAGE_COLUMNS);
    this.rowInserts = new BatchedInsert(db, "queue_messages", ROW_COLUMNS);
    this.drops = new DroppedRanges(db, this.sql);
    this.upsert = db.prepare(
      `INSERT INTO messages (${MESSAGE_COLUMNS.join(", ")}) VALUES (${MESSAGE_COLUMNS.map(() => "?").join(", ")})
       ON CONFLICT (id) DO UPDATE SET refs = refs + excluded.refs`,
    );
  }

  /**
   * Applies `batch` after those submitted before it (now; a held one is tried again first). Its
   * buffer may be lent: what stays queued gets its own copy.
   */
  submit(id: number, batch: EncodedBatch, owned = true): void {
    this.enqueue(id, batch, owned);
    this.drain();
    this.ownQueued();
  }

  /**
   * Queues `batch`; drain() applies it with everything queued (one transaction for them all).
   * `owned`: false when its buffer is lent by the encoder (see ownQueued).
   */
  enqueue(id: number, batch: EncodedBatch, owned = true): void {
    if (!this.stopped) this.queue.push({ id, batch, owned });
  }

  /** Batches still queued (the disk is full) get buffers of their own: the lent one is reused. */
  ownQueued(): void {
    for (const entry of this.queue) {
      if (entry.owned) continue;
      entry.batch.buffer = entry.batch.buffer.slice(0, entry.batch.length);
      entry.batch.strings = [...entry.batch.strings];
      entry.batch.blobs = [...entry.batch.blobs];
      entry.owned = true;
    }
  }

  /** Tries the held batch again now (the disk may have room). */
  retry(): void {
    if (this.held && !this.stopped) this.drain();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.queue.length = 0;
  }

  /**
   * Applies what is queued: every queued batch in one transaction (one commit, one fsync), or,
   * once the disk was found full, the oldest alone until it fits.
   */
  drain(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    while (this.queue.length > 0 && !this.stopped) {
      const group = this.held ? this.queue.slice(0, 1) : this.queue.slice(0, MAX_GROUP);
      let released: number[][];
      try {
        released = this.apply(group);
      } catch (err) {
        if (!isDiskFull(err)) {
          this.stop();
          this.events.fatal(err as Error);
          return;
        }
        if (!this.held && group.length > 1) {
          this.held = true; // the oldest alone from now on, until it fits
          continue;
        }
        this.held = true;
        this.writeRemovalsAlone(group[0]!.batch);
        this.events.full(err as Error);
        if (!this.stopped) {
          this.retryTimer = setTimeout(() => this.retry(), this.retryMs);
          (this.retryTimer as { unref?: () => void }).unref?.();
        }
        return;
      }
      this.queue.splice(0, group.length);
      this.held = false;
      const moreToDrop = this.dropped && this.drops.any();
      for (let i = 0; i < group.length; i++) this.events.applied(group[i]!.id, released[i]!, moreToDrop);
    }
  }

  /**
   * A batch that did not fit: its removals (acks) are written on their own, as they free space,
   * and the batch is retried from past them. Their released segments are reported with the batch.
   */
  private writeRemovalsAlone(batch: EncodedBatch): void {
    if (batch.removalsEnd <= batch.start) return;
    const released: number[] = [];
    try {
      this.db.transaction(() => this.write(new BatchReader(batch, batch.start, batch.removalsEnd), released));
    } catch (err) {
      this.messageInserts.discard();
      this.rowInserts.discard();
      if (!isDiskFull(err)) throw err;
      return;
    }
    batch.start = batch.removalsEnd;
    this.releasedEarly.set(batch, released);
  }

  /** Batches in one transaction, in order; returns the segments each released. */
  private apply(group: readonly { batch: EncodedBatch }[]): number[][] {
    // Copies: a failed attempt's releases must not count (its transaction is rolled back).
    const released = group.map(({ batch }) => [...(this.releasedEarly.get(batch) ?? [])]);
    this.dropped = false;
    try {
      this.db.transaction(() => {
        for (let i = 0; i < group.length; i++) this.write(new BatchReader(group[i]!.batch), released[i]!);
        this.inTransaction?.();
      });
    } catch (err) {
      this.messageInserts.discard();
      this.rowInserts.discard();
      throw err;
    }
    return released;
  }

  private write(r: BatchReader, released: number[]): void {
    const sql = this.sql;
    const messages = this.messageInserts;
    const rows = this.rowInserts;
    while (!r.done) {
      const op = r.op();
      if (op === Op.NewMessage) {
        readMessage(r, messages.values);
        messages.added();
        continue;
      }
      if (op === Op.Row) {
        rows.values.push(r.number(), r.number(), r.number(), r.number(), r.number(), r.number());
        rows.added();
        continue;
      }
      // Everything else is ordered against the rows buffered so far.
      messages.flush();
      rows.flush();
      switch (op) {
        case Op.AddRefs: {
          const values: SqlValue[] = [];
          readMessage(r, values);
          this.upsert.run(...values);
          break;
        }
        case Op.DeleteRows: {
          const queueId = r.number(), seq = r.number(), count = r.number();
          if (count === 1) sql.deleteRow.run(queueId, seq);
          else sql.deleteRowsFrom.run(queueId, seq, seq + count);
          break;
        }
        case Op.ReleaseShared: {
          const id = r.number();
          r.number();
          sql.releaseMessage.run(id);
          for (const row of sql.deleteIfUnreferenced.all<{ segment: number | null }>(id)) {
            if (row.segment !== null) released.push(row.segment);
          }
          break;
        }
        case Op.DeleteMessages: {
          const id = r.number(), count = r.number();
          if (count === 1) sql.deleteMessage.run(id);
          else sql.deleteMessagesFrom.run(id, id + count);
          break;
        }
        case Op.DropRange:
          this.drops.drop(r.number(), r.number(), r.number(), released);
          this.dropped = true;
          break;
        case Op.DropStep:
          this.drops.step(released);
          this.dropped = true;
          break;
        case Op.DeliveryCount:
          sql.setDeliveryCount.run(r.number(), r.number(), r.number());
          break;
        case Op.MarkDelivered: {
          const queueId = r.number(), level = r.number(), seq = r.number();
          if (level === 0) sql.markDelivered.run(seq, queueId);
          else sql.markLevelDelivered.run(queueId, level, seq);
          break;
        }
        case Op.Statement: {
          const text = r.string();
          let statement = this.statements.get(text);
          if (statement === undefined) this.statements.set(text, statement = this.db.prepare(text));
          statement.run(...r.params());
          break;
        }
        default:
          throw new Error(`store writer: unknown operation ${op} in a batch`);
      }
    }
    messages.flush();
    rows.flush();
  }
}

/** A NewMessage/AddRefs operation's fields, in MESSAGE_COLUMNS order. */
function readMessage(r: BatchReader, values: SqlValue[]): void {
  values.push(
    r.number(), // id
    r.string(), // exchange
    r.string(), // routing_key
    r.blob(), // properties
    r.blob(), // body
    r.number(), // refs
    r.flag() ? 1 : 0, // transient
    r.nullable(), // segment
    r.nullable(), // segment_offset
    r.number(), // body_size
  );
}
