// What a SQLite commit writes for messages, encoded for the writer (storage/commit_batch.ts): new
// index rows and the message rows they point at, and deleted rows with the messages they
// release, deletes in runs of consecutive seqs and ids. The StoreRef bookkeeping changes here,
// as the batch is encoded: batches are applied in order and never dropped (a full disk holds
// them until they fit), so what is decided now is what the database will hold.
import { consecutiveRuns } from "./batched_writes.ts";
import { type BatchEncoder, Op } from "./commit_batch.ts";
import type { PendingChanges } from "./pending_changes.ts";
import type { StorableMessage, StoreRef } from "./store.ts";

export class MessageRows {
  /** The ids of unshared messages a commit deletes (reused: deleted in runs of consecutive ids). */
  private readonly deletedMessageIds: number[] = [];

  /** Rows the last encodeNew held back, and rows it wrote that the commit before had held. */
  held = 0;
  late = 0;

  constructor(private readonly encoder: BatchEncoder) {}

  /** Deleted rows and the messages they release; segments freed by unshared messages go to `released`. */
  encodeRemovals(pending: PendingChanges, released: number[]): void {
    const encoder = this.encoder;
    const deletedQueues = pending.deletedQueueIds;
    // Acks come in delivery order: a queue's deleted seqs are mostly runs, one statement each.
    consecutiveRuns(
      pending.deletedSeqs,
      (seq, count, at) => encoder.three(Op.DeleteRows, deletedQueues[at]!, seq, count),
      (i) => deletedQueues[i] === deletedQueues[i - 1],
    );
    const deletedIds = this.deletedMessageIds;
    for (const ref of pending.releasedMessages) {
      if (ref.shared) {
        encoder.ids(Op.ReleaseShared, ref.id);
      } else {
        deletedIds.push(ref.id);
        if (ref.segment !== 0) released.push(ref.segment);
        // Gone: stored again only as a new message, with its body rewritten.
        ref.written = false;
        ref.segment = 0;
      }
    }
    // Ids are given in publish order, so a queue's acked messages are mostly runs of ids too.
    consecutiveRuns(deletedIds, (id, count) => encoder.ids(Op.DeleteMessages, id, count));
    deletedIds.length = 0;
  }

  /**
   * Deletes a queue's rows with fromSeq <= seq < toSeq, releasing their messages (purge, queue
   * delete): a chunk with this commit, the rest by DropSteps (storage/dropped_ranges.ts).
   */
  dropRange(queueId: number, fromSeq: number, toSeq: number): void {
    this.encoder.three(Op.DropRange, queueId, fromSeq, toSeq);
  }

  /** The next chunk of the dropped ranges left. */
  dropStep(): void {
    this.encoder.bare(Op.DropStep);
  }

  /**
   * The new rows, and the messages they are the first rows of. With `hold`, the rows of messages
   * held at this commit (StoreRef.holdAt) move to the next one instead (their refs go to
   * `hold.refs`); returns the lowest callback mark among them (callbacks from there on wait for
   * them), or -1 if none moved.
   */
  encodeNew(pending: PendingChanges, hold?: { next: PendingChanges; commit: number; refs: StoreRef[] }): number {
    const encoder = this.encoder;
    let firstWaiting = -1;
    this.held = 0;
    this.late = 0;
    for (const [queueId, queueRows] of pending.rows) {
      for (const row of queueRows.values()) {
        const message = row.message;
        const ref = message.storeRef!;
        if (ref.holdAt !== 0 && hold !== undefined) {
          if (ref.holdAt === hold.commit) {
            pending.moveTo(hold.next, queueId, row);
            hold.refs.push(ref);
            if (firstWaiting === -1 || ref.mark < firstWaiting) firstWaiting = ref.mark;
            this.held++;
            continue;
          }
          if (ref.holdAt === hold.commit - 1) this.late++;
        }
        if (ref.pendingRows > 0) {
          // The first pending row of this message in this commit accounts for all of them; a
          // message stored before gains references, or is stored again if its row is gone.
          if (!ref.written) this.encodeMessage(Op.NewMessage, queueId, message, ref);
          else {
            this.encodeMessage(Op.AddRefs, queueId, message, ref);
            ref.shared = true;
          }
          ref.pendingRows = 0;
        }
        encoder.row(queueId, row.seq, ref.id, row.expiresAt, row.deliveryCount ?? 0, message.body.length);
      }
    }
    return firstWaiting;
  }

  /** A message row with the references recorded for it. */
  private encodeMessage(op: Op.NewMessage | Op.AddRefs, queueId: number, message: StorableMessage, ref: StoreRef): void {
    // A message stored again after its row was deleted keeps its id (the id is free again).
    const inSegment = op === Op.NewMessage && ref.segment !== 0;
    // Stored only to bound memory (not persistent, or a non-durable queue's copy): dropped at boot.
    const transient = !message.persistent || queueId < 0;
    this.encoder.message(
      op,
      ref.id,
      message.exchange,
      message.routingKey,
      message.properties,
      inSegment ? EMPTY : message.body,
      ref.pendingRows,
      transient,
      inSegment ? ref.segment : null,
      inSegment ? ref.offset : null,
      message.body.length,
    );
    if (op === Op.NewMessage) {
      if (!inSegment) ref.segment = 0;
      ref.written = true;
      ref.shared = ref.pendingRows > 1;
    }
  }
}

const EMPTY = new Uint8Array(0);
