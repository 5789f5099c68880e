// What both stores share: changes recorded during one event-loop turn (new and removed rows,
// delivery counts, delivered marks, metadata operations) wait in memory and are written together
// on the next turn by the store's commit(); afterCommit callbacks run once it is durable: at
// once, or (SQLite with fsync) once an fsync off the event loop has covered it (commit_sync.ts).
import { nextTurn } from "../src/runtime/timers.ts";
import type { CommitSync } from "./commit_sync.ts";
import { PendingChanges } from "./pending_changes.ts";
import { StoreRef, type StoreRow } from "./store.ts";

export abstract class GroupCommit {
  /** MessageStore.heldInWindows (the queues keep it). */
  heldInWindows = 0;
  protected pending = new PendingChanges();
  /** Metadata operations, run inside the next commit after the row removals. */
  protected readonly metadata: (() => void)[] = [];
  protected callbacks: (() => void)[] = [];
  protected scheduled = false;
  protected closed = false;
  /** Set when commits are made durable by an fsync after them, off the event loop. */
  protected durability: CommitSync | undefined;
  /** Non-durable queues get negative ids: their rows are never recovered. */
  private nextTransientQueueId = 1;

  /** Writes everything recorded since the last commit, then runs the callbacks (takeCallbacks). */
  abstract commit(): void;
  /** A new stored message's id. */
  protected abstract newMessageId(): number;

  registerTransientQueue(): number {
    return -this.nextTransientQueueId++;
  }

  persist(queueId: number, row: StoreRow): void {
    const ref = (row.message.storeRef ??= new StoreRef());
    if (ref.id === 0) ref.id = this.newMessageId();
    this.pending.add(queueId, row);
    this.schedule();
  }

  remove(queueId: number, row: StoreRow): void {
    // Recorded and removed within one turn: the row is never written (nor the message, if no
    // other row of it is).
    if (this.pending.cancel(queueId, row)) return;
    this.pending.deleteRow(queueId, row);
    this.schedule();
  }

  updateDeliveryCount(queueId: number, row: StoreRow): void {
    if (this.pending.isPending(queueId, row.seq)) return; // written with its count
    this.pending.setDeliveryCount(queueId, row.seq, row.deliveryCount ?? 0);
    this.schedule();
  }

  markDelivered(queueId: number, level: number, seq: number): void {
    if (queueId < 0) return; // a non-durable queue's rows are never recovered
    this.pending.markDelivered(queueId, level, seq);
    this.schedule();
  }

  /** Runs `fn` once everything recorded before it is durable (in the order of the calls). */
  afterCommit(fn: () => void): void {
    if (this.scheduled) this.callbacks.push(fn);
    else if (this.durability) this.durability.wait(fn);
    else fn();
  }

  protected record(op: () => void): void {
    this.metadata.push(op);
    this.schedule();
  }

  protected schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    nextTurn(() => this.commitOnTurn());
  }

  /** The commit the next turn runs (a store may report its failure first). */
  protected commitOnTurn(): void {
    this.commit();
  }

  /** Start of a commit: false when there is nothing to write (or the store is closed). */
  protected beginCommit(): boolean {
    if (!this.scheduled || this.closed) return false;
    this.scheduled = false;
    return true;
  }

  /** End of a commit: clears what was written; the callbacks waiting for it run once it is durable. */
  protected endCommit(): void {
    this.metadata.length = 0;
    this.pending.clear();
    const callbacks = this.callbacks;
    this.callbacks = [];
    if (this.durability) return this.durability.committed(callbacks);
    for (const fn of callbacks) fn();
  }
}
