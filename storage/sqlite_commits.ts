// The SQLite store's commit pipeline (issue 22): what a turn recorded is encoded into one batch
// (storage/commit_batch.ts) and applied by the store's writer, first on the event loop through
// its connection and, once there are messages to write, on a thread of its own with its own
// connection (storage/commit_writer.ts), so the commit's SQL runs on the second core. Batches are
// applied in order and never dropped; a full disk holds them (and what follows) until they fit.
// A busy commit holds back the rows of messages already delivered, for their acks
// (storage/hold_back.ts). docs/storage.md, "The writer thread" and "Holding back delivered rows".
import { join } from "node:path";
import type { Logger } from "../src/log.ts";
import { openSyncFile, syncDir } from "../src/runtime/fs.ts";
import type { SqlDatabase } from "../src/runtime/sqlite.ts";
import { THREADS_SUPPORTED } from "../src/runtime/thread.ts";
import { after, nextTurn, type Timer } from "../src/runtime/timers.ts";
import { BatchEncoder, Op } from "./commit_batch.ts";
import { CommitSync, type SyncTarget } from "./commit_sync.ts";
import { type CommitWriter, LocalWriter, ThreadWriter, type WriterEvents } from "./commit_writer.ts";
import { type DiskSpace, WAL_LIMIT } from "./disk_space.ts";
import { GroupCommit } from "./group_commit.ts";
import { HoldBack } from "./hold_back.ts";
import { MessageRows } from "./message_rows.ts";
import { PendingChanges } from "./pending_changes.ts";
import type { Reclaimer } from "./reclaim.ts";
import type { SegmentFiles } from "./segments.ts";
import { isDiskFull } from "./sqlite_open.ts";
import { prepareStatements, type Statements } from "./sqlite_statements.ts";
import type { StoreRef, StoreRow } from "./store.ts";
import { writeRecorder } from "./write_recorder.ts";

/**
 * Bodies of at least this many bytes go to segment files instead of SQLite blobs
 * (chosen by benchmark: docs/storage.md).
 */
export const SEGMENT_THRESHOLD = 256 * 1024;
/** WAL bytes that start a checkpoint (SQLite's default is 1,000 pages, about 4 MiB). */
const CHECKPOINT_BYTES = 8 * 1024 * 1024;
/** How often a full store retries its held commit. */
const FULL_RETRY_MS = 250;
/**
 * Batches the writer thread may have at once: the next one is queued while the last one is
 * written (and joins what else queued meanwhile in one transaction).
 */
const MAX_IN_FLIGHT = 2;
/**
 * Body bytes recorded and not sent that make a batch on their own, mid-turn, and make the loop
 * wait for the writer thread when it is behind: what the broker holds of unwritten messages
 * (and their copies in batches) stays bounded however fast publishers send.
 */
const MAX_UNSENT_BYTES = 2 * 1024 * 1024;

/** How the store's writing starts. */
export interface WriterOptions {
  /** With fsync: what syncs the WAL off the event loop (tests drive their own; the loop's writer only). */
  syncFile?: (path: string) => SyncTarget;
  /**
   * Commits move to a writer thread once there are messages to write (default false; ignored
   * where the runtime has no threads for it).
   */
  writerThread?: boolean;
}

export abstract class SqliteCommits extends GroupCommit {
  /** The next commit's batch, and the statements recorded into it. */
  protected readonly encoder = new BatchEncoder();
  protected readonly recorder: SqlDatabase;
  /** The store's statements, recorded into the next batch (metadata writes run these). */
  protected readonly sql: Statements;
  /** The message and index rows a commit writes and deletes. */
  protected readonly rows: MessageRows;
  /** A DropStep is recorded for the next commit. */
  private dropStepRecorded = false;
  /** Commits applied so far: the reclaimer pauses between steps while this moves. */
  protected commits = 0;
  /** A batch waits for room on the disk; changes wait in memory. */
  protected held = false;
  /** Retries changes whose large bodies met a full disk. */
  protected retryTimer: Timer | undefined;
  /** The log said changes wait in memory (and says so again when they are written). */
  private holdAnnounced = false;
  protected writer!: CommitWriter;
  private threadWanted = false;
  private readonly writerEvents: WriterEvents;
  /** The writing connection's PRAGMAs (the loop's until the writer thread starts). */
  private writerPragmas: string[] = [];
  /** Changes sent to the writer and not applied yet, oldest first (read from while the disk is full). */
  private readonly unapplied: PendingChanges[] = [];
  /** The callbacks of the last batch sent, while it is not applied: afterCommit joins them. */
  private lastSent: (() => void)[] | undefined;
  /** The number (from the store's start) of the first callback in `callbacks` (StoreRef.mark counts the same way). */
  private callbacksBase = 0;
  /** Batches sent so far (StoreRef.holdAt names one). */
  private sends = 0;
  /** Whether commits hold back the rows of delivered messages, for their acks (storage/hold_back.ts). */
  private readonly holdBack = new HoldBack();
  /** The changes of the last batch applied, emptied, to record the next turn's in. */
  private sparePending: PendingChanges | undefined;
  protected abstract readonly segments: SegmentFiles;
  protected abstract readonly disk: DiskSpace;
  protected abstract readonly reclaimer: Reclaimer;

  /** The database file. */
  protected readonly path: string;

  constructor(
    readonly db: SqlDatabase,
    protected readonly log: Logger,
    protected readonly dataDir: string,
    protected readonly fsync: boolean,
  ) {
    super();
    this.path = join(dataDir, "warren.sqlite");
    this.recorder = writeRecorder(this.encoder);
    this.sql = prepareStatements(this.recorder);
    this.rows = new MessageRows(this.encoder);
    this.writerEvents = {
      released: (segments) => {
        for (const segment of segments) this.segments.release(segment);
      },
      moreToDrop: () => this.dropNextChunk(),
      full: (err) => this.writeFull(err),
      fatal: (err) => {
        this.log.error(`store commit failed, stopping: ${err.message}`);
        throw err;
      },
    };
  }

  /**
   * A purge or queue delete left rows to delete (storage/dropped_ranges.ts): the next chunk goes
   * with the next commit, one chunk per commit, so the loop serves clients between chunks.
   */
  private dropNextChunk(): void {
    if (this.dropStepRecorded || this.closed) return;
    this.dropStepRecorded = true;
    // Recorded on the next turn: recorded now, a commit applied on this thread without fsync
    // would send it at once from its own applied callback, and every chunk would run in one go.
    nextTurn(() => {
      if (this.closed) return;
      this.record(() => {
        this.dropStepRecorded = false;
        this.rows.dropStep();
      });
    });
  }

  /**
   * Commits start on the loop, through its connection; the writer thread starts with the first
   * messages to write (startWriterThread), so a broker that stores none does not pay for it.
   * Called once by the store's constructor.
   */
  protected startWriting(options: WriterOptions): void {
    const db = this.db;
    this.threadWanted = (options.writerThread ?? false) && THREADS_SUPPORTED;
    const pageSize = db.prepare("PRAGMA page_size").get<{ page_size: number }>()?.page_size ?? 4096;
    // Checkpoint at 8 MiB of WAL, not SQLite's 1,000 pages: each checkpoint fsyncs twice; fewer
    // of them carry more throughput, longer ones a longer confirm tail during a fill
    // (docs/storage.md, "Rows per statement, and when the WAL is checkpointed").
    this.writerPragmas = [
      `PRAGMA journal_size_limit = ${WAL_LIMIT}`,
      `PRAGMA wal_autocheckpoint = ${Math.floor(CHECKPOINT_BYTES / pageSize)}`,
    ];
    for (const pragma of this.writerPragmas) db.exec(pragma);
    if (this.fsync) syncDir(this.dataDir); // the WAL's directory entry, made when the store was opened
    this.writer = new LocalWriter(db, this.writerEvents, FULL_RETRY_MS, () => {
      if (!this.disk.full) this.reclaimer.stepInCommit();
    });
    if (this.fsync) {
      // Commits are synchronous=NORMAL; the WAL is fsynced off the event loop before callbacks run.
      const wal = (options.syncFile ?? openSyncFile)(this.path + "-wal");
      this.durability = new CommitSync(wal, () => this.commitOnTurn(), (err) => {
        this.log.error(`store fsync failed, stopping (nothing it covered is confirmed): ${err.message}`);
        throw err;
      });
    }
  }

  override persist(queueId: number, row: StoreRow): void {
    super.persist(queueId, row);
    const ref = row.message.storeRef!;
    if (ref.pendingRows === 1) ref.mark = this.callbacksBase + this.callbacks.length;
    if (this.pending.bytes >= MAX_UNSENT_BYTES) this.commitOnTurn();
  }

  override markDelivered(queueId: number, level: number, seq: number): void {
    super.markDelivered(queueId, level, seq);
    // Delivered before it was written: the next commit may hold it back once (storage/hold_back.ts).
    // Not a large body: it would be in a segment file by then, and a row never written frees none.
    const row = this.pending.pendingRow(queueId, seq);
    const ref = row?.message.storeRef;
    if (ref === undefined || ref.holdAt !== 0 || row!.message.body.length >= SEGMENT_THRESHOLD) return;
    ref.holdAt = this.sends + 1;
  }

  /**
   * Writes everything recorded so far now, and returns once it is committed (not necessarily
   * synced: afterCommit callbacks wait for that). With the disk full it returns at once; the
   * changes wait (see writeFull()).
   */
  commit(): void {
    this.send();
    this.writer.waitApplied();
  }

  /**
   * Sends everything recorded since the last commit to the writer as one batch; its callbacks
   * run once it is applied (and durable). When the disk is full the batch waits, with every one
   * after it, and is retried: see writeFull().
   */
  private send(mayHold = false): void {
    if (this.writer.held) this.writer.retry(); // a batch the disk had no room for goes first
    if (!this.beginCommit()) return;
    this.sends++;
    const pending = this.pending;
    if (pending.rowCount > 0 && this.threadWanted && this.writer instanceof LocalWriter) this.startWriterThread();
    const started = performance.now();
    if (!this.appendLargeBodies(pending)) return;
    // A batch applied on this thread refers to bodies instead of copying them.
    const local = this.writer instanceof LocalWriter;
    this.encoder.byReference = local;
    // Removals first, then metadata (queue deletes and purges drop the rows still there, so no
    // message is released twice), then the new rows: a row recorded after a purge in the same
    // turn lies in the purged range and must not be dropped with it.
    const released: number[] = [];
    this.rows.encodeRemovals(pending, released);
    this.encoder.markRemovalsEnd();
    for (const op of this.metadata) op();
    // Another set for the next turn: this one stays readable until it is applied (readPage).
    const next = this.sparePending ?? new PendingChanges();
    this.sparePending = undefined;
    const hold = mayHold && this.holdBack.wanted(pending.rowCount) ? { next, commit: this.sends, refs: [] } : undefined;
    const firstWaiting = this.rows.encodeNew(pending, hold);
    const paused = this.holdBack.record(this.rows.held, this.rows.late);
    if (paused !== undefined) this.log.debug(paused);
    for (const { queueId, seq, count } of pending.deliveryCounts()) this.encoder.three(Op.DeliveryCount, count, queueId, seq);
    for (const { queueId, level, seq } of pending.delivered()) this.encoder.three(Op.MarkDelivered, queueId, level, seq);
    const batch = this.encoder.take(local);
    this.metadata.length = 0;
    this.pending = next;
    this.unapplied.push(pending);
    let callbacks = this.callbacks;
    this.callbacks = [];
    if (firstWaiting === -1) this.callbacksBase += callbacks.length;
    else {
      // Held rows go with the next commit, and so does every callback registered after them.
      const carried = callbacks.slice(firstWaiting - this.callbacksBase);
      callbacks = callbacks.slice(0, firstWaiting - this.callbacksBase);
      this.callbacks = carried;
      this.callbacksBase = firstWaiting;
      const refs = hold!.refs;
      const count = carried.length;
      callbacks.push(() => this.releaseCarried(carried, count, refs));
      this.schedule();
    }
    this.lastSent = callbacks;
    const rows = pending.rowCount;
    this.writer.send(batch, () => this.applied(callbacks, released, rows, started));
    if (local) this.encoder.reclaimLent(); // applied by now, or copied to wait for room on the disk
  }

  /**
   * The commit that held rows back is durable: the first `count` callbacks it carried over to the
   * next commit run now, up to the first one that follows a held row still pending (the rows
   * acked meanwhile are never written: nothing is left to wait for). Unless the next commit was
   * sent already: they run with it.
   */
  private releaseCarried(carried: (() => void)[], count: number, refs: readonly StoreRef[]): void {
    if (this.callbacks !== carried) return;
    let firstPending = Number.POSITIVE_INFINITY;
    for (const ref of refs) if (ref.pendingRows > 0 && ref.mark < firstPending) firstPending = ref.mark;
    const ready = Math.min(count, firstPending - this.callbacksBase);
    if (ready <= 0) return;
    this.callbacksBase += ready;
    for (const fn of carried.splice(0, ready)) fn();
  }

  /**
   * Moves the commits to the writer thread, once nothing is in flight on the loop's writer (an
   * fsync in flight would otherwise confirm after commits the thread made durable since).
   */
  private startWriterThread(): void {
    if (this.writer.inFlight > 0 || this.writer.held || this.durability?.pending) return;
    this.durability?.drain(); // nothing is waiting: this closes the WAL it synced
    this.durability = undefined;
    this.writer.close();
    // The loop's connection now only reads and runs reclaim steps: it never checkpoints.
    this.db.exec("PRAGMA wal_autocheckpoint = 0");
    this.reclaimer.stepsRideOnCommits = false;
    this.writer = new ThreadWriter(this.path, this.fsync, this.writerPragmas, FULL_RETRY_MS, this.writerEvents);
    this.log.debug("Store: commits run on the writer thread from now on");
  }

  /**
   * Large bodies go to the segment file first, made durable before the rows that point at them.
   * False when the disk is full: the changes stay pending and are retried (bodies appended
   * before the failure keep their place).
   */
  private appendLargeBodies(pending: PendingChanges): boolean {
    try {
      for (const queueRows of pending.rows.values()) {
        for (const row of queueRows.values()) {
          const message = row.message;
          const ref = message.storeRef!;
          if (!ref.written && ref.segment === 0 && message.body.length >= SEGMENT_THRESHOLD) {
            const at = this.segments.append(message.body);
            ref.segment = at.segment;
            ref.offset = at.offset;
          }
        }
      }
      if (this.fsync) this.segments.sync();
      return true;
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      this.scheduled = true; // still pending
      this.writeFull(err as Error);
      this.retryTimer?.cancel();
      this.retryTimer = after(FULL_RETRY_MS, () => this.commitOnTurn());
      return false;
    }
  }

  /** A batch is applied: what it released is given back, and its callbacks run once it is durable. */
  private applied(callbacks: (() => void)[], released: number[], rows: number, started: number): void {
    // Its changes are kept for the next turn's, emptied (fewer allocations per commit).
    this.sparePending = this.unapplied.shift();
    this.sparePending?.clear();
    if (this.lastSent === callbacks) this.lastSent = undefined;
    // Segment space is given back only once the rows that used it are gone for good.
    for (const segment of released) this.segments.release(segment);
    this.held = false;
    if (this.holdAnnounced) {
      this.holdAnnounced = false;
      this.log.info("Store: held changes written, commits go on");
    }
    this.commits++;
    const elapsed = performance.now() - started;
    if (elapsed > 500) this.log.warning(`store commit of ${rows} messages took ${elapsed.toFixed(0)} ms`);
    if (this.durability) this.durability.committed(callbacks);
    else for (const fn of callbacks) fn();
    // What was recorded while this batch was applied goes next.
    if (this.scheduled && this.writer.inFlight < MAX_IN_FLIGHT && !this.durability) this.commitOnTurn();
  }

  override afterCommit(fn: () => void): void {
    if (this.scheduled) this.callbacks.push(fn);
    else if (this.lastSent) this.lastSent.push(fn);
    else if (this.durability) this.durability.wait(fn);
    else fn();
  }

  /**
   * Commits, and waits until the writer has applied everything, so that a read on the loop's
   * connection sees it; false while the disk is full (the read sees what is written).
   */
  protected commitForRead(): boolean {
    this.send();
    return this.writer.waitApplied();
  }

  /** A queue's rows not yet written with fromSeq <= seq < toSeq, in order, up to `limit`. */
  protected unwrittenRows(queueId: number, fromSeq: number, toSeq: number, limit: number): StoreRow[] {
    const rows: StoreRow[] = [];
    for (const changes of [...this.unapplied, this.pending]) rows.push(...changes.pendingRows(queueId, fromSeq, toSeq, limit));
    return rows.sort((a, b) => a.seq - b.seq).slice(0, limit);
  }

  /**
   * A batch met a full disk: the disk alarm goes on, the disk reserve is given back once to let
   * it through, and otherwise it waits (the writer retries it) with everything after it in
   * memory, while the alarm blocks publishers.
   */
  private writeFull(err: Error): void {
    this.disk.found(err);
    this.held = true;
    if (this.disk.reserve.release()) {
      this.log.warning(`Store: released the ${this.disk.reserve.bytes}-byte disk reserve to finish a commit`);
      this.commit(); // tries the held batch again first (tests count the attempts)
      return;
    }
    if (this.holdAnnounced) return;
    this.holdAnnounced = true;
    this.log.warning("Store: the disk is full; changes wait in memory and are retried");
  }

  protected override commitOnTurn(): void {
    // While the loop's writer has an fsync in flight, or the writer thread has MAX_IN_FLIGHT
    // batches, changes gather in memory and are sent when one completes: commits stay large,
    // one per fsync, as when the fsync blocked the loop.
    this.writer.poll();
    // Past a bound of bytes not yet sent, they go now: a batch stays small enough to encode
    // into a reused buffer, and (writer thread behind) the loop waits for the writer, reading
    // no more from publishers meanwhile, so memory stays bounded.
    const over = this.pending.bytes >= MAX_UNSENT_BYTES;
    if (this.durability?.syncing && !over) return;
    if (this.writer.inFlight >= MAX_IN_FLIGHT) {
      if (!over) return;
      this.writer.waitApplied();
    }
    this.send(!over);
  }

  /** Runs SQL on the connection that writes (per-connection PRAGMAs such as max_page_count; tests). */
  writerExec(sql: string): void {
    this.writer.exec(sql);
  }
}
