// What the SQLite store writes at its next commit: new index rows, deleted rows, released
// messages, delivery counts and delivered watermarks. Every map is keyed by queue id first and
// seq (or level) second, so no two (queue, seq) pairs can ever share an entry, whatever the ids,
// priority levels or message counts (issue 12: packing both into one number lost messages).
import type { StoreRef, StoreRow } from "./store.ts";

export class PendingChanges {
  /**
   * New rows per queue id, by seq. This and the other maps are replaced after a commit, not
   * cleared: JavaScriptCore's Map.clear() on a long-lived map makes the next collection a full
   * one (docs/performance.md, "Other Maps and Sets on the message path"), and commits come
   * thousands a second.
   */
  private byQueue = new Map<number, Map<number, StoreRow>>();
  rowCount = 0;
  /** Body bytes of the new rows. */
  bytes = 0;
  /** Committed rows to delete: deletedQueueIds[i], deletedSeqs[i]. */
  readonly deletedQueueIds: number[] = [];
  readonly deletedSeqs: number[] = [];
  /** Messages that lost a committed row (deleted, or their reference count lowered). */
  readonly releasedMessages: StoreRef[] = [];
  private counts = new Map<number, Map<number, number>>();
  private lastQueueId = 0;
  private lastRows: Map<number, StoreRow> | undefined;
  private watermarks = new Map<number, Map<number, number>>();

  /** New rows per queue id, by seq (read by the stores' commits). */
  get rows(): ReadonlyMap<number, ReadonlyMap<number, StoreRow>> {
    return this.byQueue;
  }

  add(queueId: number, row: StoreRow): void {
    // Publishes come in runs to one queue: the last queue's rows are at hand.
    let queueRows = queueId === this.lastQueueId ? this.lastRows : this.byQueue.get(queueId);
    if (queueRows === undefined) this.byQueue.set(queueId, queueRows = new Map());
    this.lastQueueId = queueId;
    this.lastRows = queueRows;
    const before = queueRows.size;
    queueRows.set(row.seq, row);
    if (queueRows.size === before) throw new Error(`store: row ${row.seq} of queue ${queueId} recorded twice`);
    row.message.storeRef!.pendingRows++;
    this.rowCount++;
    this.bytes += row.message.body.length;
  }

  isPending(queueId: number, seq: number): boolean {
    return this.byQueue.get(queueId)?.has(seq) === true;
  }

  /** The row recorded for (queueId, seq) since the last commit. */
  pendingRow(queueId: number, seq: number): StoreRow | undefined {
    return (queueId === this.lastQueueId ? this.lastRows : this.byQueue.get(queueId))?.get(seq);
  }

  /**
   * Moves a row to `next` (the commit after this one), as recorded: its message's count of
   * pending rows is unchanged (every row of a held message moves).
   */
  moveTo(next: PendingChanges, queueId: number, row: StoreRow): void {
    this.byQueue.get(queueId)?.delete(row.seq);
    this.rowCount--;
    this.bytes -= row.message.body.length;
    let queueRows = next.byQueue.get(queueId);
    if (queueRows === undefined) next.byQueue.set(queueId, queueRows = new Map());
    queueRows.set(row.seq, row);
    next.rowCount++;
    next.bytes += row.message.body.length;
  }

  /** Forgets a row recorded since the last commit; false if it was not pending. */
  cancel(queueId: number, row: StoreRow): boolean {
    const queueRows = this.byQueue.get(queueId);
    const pending = queueRows?.get(row.seq);
    // The same row, or one read back from it while the disk was full (same StoreRef).
    if (pending === undefined || (pending !== row && pending.message.storeRef !== row.message.storeRef)) return false;
    queueRows!.delete(row.seq);
    this.forget(pending);
    return true;
  }

  /** A queue's rows not yet written with fromSeq <= seq < toSeq, in order, up to `limit`. */
  pendingRows(queueId: number, fromSeq: number, toSeq: number, limit: number): StoreRow[] {
    const queueRows = this.byQueue.get(queueId);
    if (queueRows === undefined) return [];
    const rows = [...queueRows.values()].filter((r) => r.seq >= fromSeq && r.seq < toSeq).sort((a, b) => a.seq - b.seq);
    return rows.slice(0, limit);
  }

  get hasRemovals(): boolean {
    return this.releasedMessages.length > 0;
  }

  /** The removals were written on their own (the disk was full; the rest waits). */
  clearRemovals(): void {
    this.deletedQueueIds.length = 0;
    this.deletedSeqs.length = 0;
    this.releasedMessages.length = 0;
  }

  /** A committed row goes, and its message loses a reference. */
  deleteRow(queueId: number, row: StoreRow): void {
    this.deletedQueueIds.push(queueId);
    this.deletedSeqs.push(row.seq);
    this.releasedMessages.push(row.message.storeRef!);
  }

  setDeliveryCount(queueId: number, seq: number, count: number): void {
    let queueCounts = this.counts.get(queueId);
    if (queueCounts === undefined) this.counts.set(queueId, queueCounts = new Map());
    queueCounts.set(seq, count);
  }

  *deliveryCounts(): Generator<{ queueId: number; seq: number; count: number }> {
    for (const [queueId, queueCounts] of this.counts) {
      for (const [seq, count] of queueCounts) yield { queueId, seq, count };
    }
  }

  markDelivered(queueId: number, level: number, seq: number): void {
    let levels = this.watermarks.get(queueId);
    if (levels === undefined) this.watermarks.set(queueId, levels = new Map());
    if ((levels.get(level) ?? 0) < seq) levels.set(level, seq);
  }

  *delivered(): Generator<{ queueId: number; level: number; seq: number }> {
    for (const [queueId, levels] of this.watermarks) {
      for (const [level, seq] of levels) yield { queueId, level, seq };
    }
  }

  /** The queue is deleted: its pending rows, counts and watermarks need not be written. */
  dropQueue(queueId: number): void {
    const queueRows = this.byQueue.get(queueId);
    if (queueRows !== undefined) {
      for (const row of queueRows.values()) this.forget(row);
      this.byQueue.delete(queueId);
      if (this.lastRows === queueRows) this.lastRows = undefined;
    }
    this.counts.delete(queueId);
    this.watermarks.delete(queueId);
  }

  /** A queue's pending rows with fromSeq <= seq < toSeq need not be written. */
  dropRange(queueId: number, fromSeq: number, toSeq: number): void {
    const queueRows = this.byQueue.get(queueId);
    if (queueRows === undefined) return;
    for (const [seq, row] of queueRows) {
      if (seq >= fromSeq && seq < toSeq) {
        queueRows.delete(seq);
        this.forget(row);
      }
    }
  }

  clear(): void {
    if (this.byQueue.size !== 0) this.byQueue = new Map();
    this.lastQueueId = 0;
    this.lastRows = undefined;
    this.rowCount = 0;
    this.bytes = 0;
    this.deletedQueueIds.length = 0;
    this.deletedSeqs.length = 0;
    this.releasedMessages.length = 0;
    if (this.counts.size !== 0) this.counts = new Map();
    if (this.watermarks.size !== 0) this.watermarks = new Map();
  }

  private forget(row: StoreRow): void {
    row.message.storeRef!.pendingRows--;
    this.rowCount--;
    this.bytes -= row.message.body.length;
  }
}
