// What a SQLite commit writes for messages: new index rows and the message rows they point at,
// and deleted rows with the messages they release. Rows go many per statement (batched_writes.ts)
// and deletes in runs of consecutive seqs and ids, one statement per run.
import type { SqlDatabase } from "../src/runtime/sqlite.ts";
import { BatchedInsert, consecutiveRuns } from "./batched_writes.ts";
import type { PendingChanges } from "./pending_changes.ts";
import type { RefUndo } from "./ref_undo.ts";
import { MESSAGE_COLUMNS, ROW_COLUMNS, type Statements } from "./sqlite_statements.ts";
import type { StorableMessage, StoreRef } from "./store.ts";

export class MessageRows {
  /** Segments of messages deleted by the current commit (including bulk deletes). */
  private releasedSegments: number[] = [];
  private readonly messageInserts: BatchedInsert;
  private readonly rowInserts: BatchedInsert;
  /** The ids of unshared messages a commit deletes (reused: deleted in runs of consecutive ids). */
  private readonly deletedMessageIds: number[] = [];

  constructor(db: SqlDatabase, private readonly sql: Statements, private readonly undo: RefUndo) {
    this.messageInserts = new BatchedInsert(db, "messages", MESSAGE_COLUMNS);
    this.rowInserts = new BatchedInsert(db, "queue_messages", ROW_COLUMNS);
  }

  /** Deleted rows and the messages they release (inside the commit's transaction). */
  writeRemovals(pending: PendingChanges): void {
    const sql = this.sql;
    const released = this.releasedSegments;
    const deletedQueues = pending.deletedQueueIds;
    // Acks come in delivery order: a queue's deleted seqs are mostly runs, one statement each.
    consecutiveRuns(pending.deletedSeqs, (seq, count, at) => {
      if (count === 1) sql.deleteRow.run(deletedQueues[at]!, seq);
      else sql.deleteRowsFrom.run(deletedQueues[at]!, seq, seq + count);
    }, (i) => deletedQueues[i] === deletedQueues[i - 1]);
    const deletedIds = this.deletedMessageIds;
    for (const ref of pending.releasedMessages) {
      if (ref.shared) {
        sql.releaseMessage.run(ref.id);
        for (const r of sql.deleteIfUnreferenced.all<{ segment: number | null }>(ref.id)) if (r.segment !== null) released.push(r.segment);
      } else {
        deletedIds.push(ref.id);
        if (ref.segment !== 0) released.push(ref.segment);
        // Gone: stored again only as a new message, with its body rewritten.
        this.undo.save(ref);
        ref.written = false;
        ref.segment = 0;
      }
    }
    // Ids are given in publish order, so a queue's acked messages are mostly runs of ids too.
    consecutiveRuns(deletedIds, (id, count) => {
      if (count === 1) sql.deleteMessage.run(id);
      else sql.deleteMessagesFrom.run(id, id + count);
    });
    deletedIds.length = 0;
  }

  /** Deletes a queue's rows with fromSeq <= seq < toSeq, releasing their messages (purge, queue delete). */
  dropRange(queueId: number, fromSeq: number, toSeq: number): void {
    const sql = this.sql;
    sql.releaseRowsFrom.run(queueId, fromSeq, toSeq);
    for (const r of sql.deleteReleasedFrom.all<{ segment: number | null }>(queueId, fromSeq, toSeq)) {
      if (r.segment !== null) this.releasedSegments.push(r.segment);
    }
    sql.deleteRowsFrom.run(queueId, fromSeq, toSeq);
  }

  /** The new rows, and the messages they are the first rows of (inside the commit's transaction). */
  writeNew(pending: PendingChanges): void {
    const rowInserts = this.rowInserts;
    for (const [queueId, queueRows] of pending.rows) {
      for (const row of queueRows.values()) {
        const message = row.message;
        const ref = message.storeRef!;
        if (ref.pendingRows > 0) {
          this.undo.save(ref);
          // The first pending row of this message in this commit accounts for all of them; a
          // message stored before gains references, or is stored again if its row is gone.
          if (!ref.written || this.sql.addRefs.get(ref.pendingRows, ref.id) === undefined) this.insertMessage(queueId, message, ref);
          else ref.shared = true;
          ref.pendingRows = 0;
        }
        rowInserts.values.push(queueId, row.seq, ref.id, row.expiresAt, row.deliveryCount ?? 0);
        rowInserts.added();
      }
    }
    this.messageInserts.flush();
    rowInserts.flush();
  }

  /** The segments the commit released, once it is written for good (and forgotten here). */
  takeReleasedSegments(): number[] {
    const released = this.releasedSegments;
    this.releasedSegments = [];
    return released;
  }

  /** The commit failed: nothing it buffered or released counts. */
  discard(): void {
    this.releasedSegments = [];
    this.deletedMessageIds.length = 0;
    this.messageInserts.discard();
    this.rowInserts.discard();
  }

  /** A message row with the references recorded for it. */
  private insertMessage(queueId: number, message: StorableMessage, ref: StoreRef): void {
    // A message stored again after its row was deleted keeps its id (the id is free again).
    const inSegment = ref.segment !== 0 && !ref.written;
    // Stored only to bound memory (not persistent, or a non-durable queue's copy): dropped at boot.
    const transient = !message.persistent || queueId < 0;
    this.messageInserts.values.push(
      ref.id,
      message.exchange,
      message.routingKey,
      message.properties,
      inSegment ? EMPTY : message.body,
      ref.pendingRows,
      transient ? 1 : 0,
      inSegment ? ref.segment : null,
      inSegment ? ref.offset : null,
      message.body.length,
    );
    this.messageInserts.added();
    if (!inSegment) ref.segment = 0;
    ref.written = true;
    ref.shared = ref.pendingRows > 1;
  }
}

const EMPTY = new Uint8Array(0);
