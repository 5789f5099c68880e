// Where the store's encoded commits are applied: on the event loop's thread (LocalWriter), or on a
// thread of its own with its own SQLite connection (ThreadWriter, issue 22: the commit's SQL was
// 58–69 % of the loop's work in the persistent rows, and the machine's second core sat idle).
// Either way batches are applied in the order sent and never dropped; what queued while the last
// ones were written goes in one transaction.
import type { SqlDatabase } from "../src/runtime/sqlite.ts";
import { startThread } from "../src/runtime/thread.ts";
import { BatchWriter } from "./batch_writer.ts";
import type { EncodedBatch } from "./commit_batch.ts";
import { type FromWriter, Shared, SHARED_SLOTS, type ToWriter, WriterState } from "./writer_protocol.ts";

/** What a writer tells the store. */
export interface WriterEvents {
  /** Segments whose last message an applied batch deleted (told before or after its done). */
  released(segments: number[]): void;
  /** An applied batch dropped rows and a dropped range is left: the next chunk wants a commit. */
  moreToDrop(): void;
  /** A batch met a full disk; it and every batch after it wait (retried). */
  full(err: Error): void;
  /** The writer cannot go on. */
  fatal(err: Error): void;
}

export interface CommitWriter {
  /** Applies `batch` after those sent before it; `done` runs on the loop once it is. */
  send(batch: EncodedBatch, done: () => void): void;
  /** Batches sent whose done has not run yet. */
  readonly inFlight: number;
  /** A batch waits for room on the disk (as the writer knows it now). */
  readonly held: boolean;
  /**
   * Blocks until every batch sent is applied, so that reads on the loop's connection see them,
   * and runs the done callbacks of those durable; false when one waits for room on the disk (it
   * may never come while the loop waits).
   */
  waitApplied(): boolean;
  /** Tries a batch held by a full disk again now. */
  retry(): void;
  /** Runs the done callbacks of batches known durable (cheap; the store calls it every turn). */
  poll(): void;
  /** Runs SQL on the writer's connection (PRAGMAs that are per connection; tests). */
  exec(sql: string): void;
  /** Applies what was sent, runs the done callbacks, and closes. */
  close(): void;
  /** As a crash leaves it: what was sent is applied, nothing after; done callbacks never run. */
  abandon(): void;
}

/** Applies batches on the event loop's thread, through the store's own connection. */
export class LocalWriter implements CommitWriter {
  private readonly writer: BatchWriter;
  private readonly dones: (() => void)[] = [];
  private nextId = 1;

  constructor(private readonly db: SqlDatabase, events: WriterEvents, retryMs: number, inTransaction?: () => void) {
    this.writer = new BatchWriter(
      db,
      {
        applied: (_id, released, moreToDrop) => {
          events.released(released);
          if (moreToDrop) events.moreToDrop();
          this.dones.shift()!();
        },
        full: (err) => events.full(err),
        fatal: (err) => events.fatal(err),
      },
      retryMs,
      inTransaction,
    );
  }

  get inFlight(): number {
    return this.dones.length;
  }

  get held(): boolean {
    return this.writer.held;
  }

  send(batch: EncodedBatch, done: () => void): void {
    this.dones.push(done);
    this.writer.submit(this.nextId++, batch, false); // the encoder's buffer, lent (applied now)
  }

  waitApplied(): boolean {
    return this.dones.length === 0;
  }

  retry(): void {
    this.writer.retry();
  }

  poll(): void {}

  exec(sql: string): void {
    this.db.exec(sql);
  }

  close(): void {
    this.writer.stop();
  }

  abandon(): void {
    this.writer.stop();
  }
}

/** How long the loop waits for the writer thread to open or close before giving up. */
const START_TIMEOUT_MS = 30_000;
/** A wait for the writer thread that sees nothing handled for this long gives up (it died). */
const STALL_MS = 120_000;

/** Applies batches on a writer thread (storage/writer_worker.ts) with its own connection. */
export class ThreadWriter implements CommitWriter {
  private readonly worker: Worker;
  private readonly shared: Int32Array;
  private readonly dones: (() => void)[] = [];
  /** Batches whose done ran, and how many of them ran early (poll) before their message came. */
  private completed = 0;
  private early = 0;
  private sent = 0;
  /** Batch and retry messages posted (the writer counts those it handled). */
  private posted = 0;
  private nextId = 1;
  private closed = false;

  constructor(
    path: string,
    fsync: boolean,
    pragmas: string[],
    retryMs: number,
    private readonly events: WriterEvents,
  ) {
    const buffer = new SharedArrayBuffer(SHARED_SLOTS * 4);
    this.shared = new Int32Array(buffer);
    this.worker = startThread(new URL("./writer_worker.ts", import.meta.url), "./storage/writer_worker.ts");
    this.worker.onmessage = (event: MessageEvent<FromWriter>) => this.received(event.data);
    this.worker.onerror = (event: ErrorEvent) => {
      if (this.closed) return;
      this.closed = true;
      this.events.fatal(new Error(`the store's writer thread failed: ${event.message}`));
    };
    this.post({ type: "open", path, fsync, pragmas, retryMs, shared: buffer });
    const state = this.waitState(WriterState.Opening);
    if (state !== WriterState.Open) {
      this.worker.terminate();
      throw new Error(`the store's writer thread did not open ${path} (state ${state})`);
    }
  }

  get inFlight(): number {
    return this.dones.length;
  }

  get held(): boolean {
    return Atomics.load(this.shared, Shared.Held) !== 0;
  }

  send(batch: EncodedBatch, done: () => void): void {
    this.dones.push(done);
    this.sent++;
    this.posted++;
    this.worker.postMessage({ type: "batch", id: this.nextId++, batch } satisfies ToWriter, [batch.buffer]);
  }

  waitApplied(): boolean {
    const shared = this.shared;
    let progressAt = performance.now();
    let last = Atomics.load(shared, Shared.Handled);
    for (;;) {
      const applied = Atomics.load(shared, Shared.Applied);
      if (applied >= this.sent) break;
      if (this.closed || Atomics.load(shared, Shared.State) !== WriterState.Open) return false;
      // Held by a full disk, once the writer has tried everything posted: it may stay so.
      const handled = Atomics.load(shared, Shared.Handled);
      if (Atomics.load(shared, Shared.Held) !== 0 && handled >= this.posted) return false;
      if (handled !== last) {
        last = handled;
        progressAt = performance.now();
      } else if (performance.now() - progressAt > STALL_MS) {
        // A thread that died (its error event cannot arrive while the loop waits here).
        this.closed = true;
        throw new Error(`the store's writer thread made no progress for ${STALL_MS / 1000} s`);
      }
      Atomics.wait(shared, Shared.Applied, applied, 100);
    }
    this.poll();
    return true;
  }

  poll(): void {
    // Durable, though their messages are not read yet: they complete now, in order.
    const durable = Atomics.load(this.shared, Shared.Durable);
    while (this.completed < durable) {
      this.completed++;
      this.early++;
      this.dones.shift()!();
    }
  }

  retry(): void {
    this.posted++;
    this.post({ type: "retry" });
  }

  exec(sql: string): void {
    const before = Atomics.load(this.shared, Shared.Done);
    this.post({ type: "exec", sql });
    while (Atomics.load(this.shared, Shared.Done) === before) Atomics.wait(this.shared, Shared.Done, before, 100);
  }

  close(): void {
    if (this.closed) return;
    this.waitApplied(); // a batch the disk had no room for is lost
    this.shutDown(); // the writer syncs what it applied before it says closed
    this.poll();
  }

  abandon(): void {
    if (this.closed) return;
    this.waitApplied();
    this.dones.length = 0;
    this.shutDown();
  }

  private shutDown(): void {
    this.closed = true;
    this.post({ type: "close" });
    this.waitState(WriterState.Open);
    this.worker.terminate();
  }

  /** Waits until the state is no longer `from` (or the timeout passes); returns the state. */
  private waitState(from: WriterState): number {
    const deadline = performance.now() + START_TIMEOUT_MS;
    for (;;) {
      const state = Atomics.load(this.shared, Shared.State);
      if (state !== from || performance.now() > deadline) return state;
      Atomics.wait(this.shared, Shared.State, state, 100);
    }
  }

  private received(message: FromWriter): void {
    if (this.closed) return;
    switch (message.type) {
      case "durable":
        this.events.released(message.released);
        if (message.moreToDrop) this.events.moreToDrop();
        if (this.early > 0) this.early--;
        else {
          this.completed++;
          this.dones.shift()!();
        }
        return;
      case "full":
        this.events.full(new Error(message.message));
        return;
      case "fatal":
        this.closed = true;
        this.events.fatal(new Error(message.message));
        return;
    }
  }

  private post(message: ToWriter): void {
    this.worker.postMessage(message);
  }
}
