// Durability off the event loop (issue 22). With fsync on, SQLite commits with
// synchronous=NORMAL (WAL frames are written, not synced) and this class fsyncs the WAL on
// node:fs's thread pool. A commit's afterCommit callbacks run only once an fsync that started
// after that commit ended has completed; the next commits go on while one is in flight, and one
// fsync covers every commit that ended before it started. docs/storage.md argues why this is as
// durable as synchronous=FULL.

/** What is synced: an fsync on a worker thread, and one on the caller's (at close). */
export interface SyncTarget {
  sync(done: (err: Error | null) => void): void;
  syncNow(): void;
  close(): void;
}

export class CommitSync {
  /** Callbacks of commits that ended after the fsync in flight started (or with none in flight). */
  private waiting: (() => void)[] = [];
  /** A commit ended that no fsync started after it yet. */
  private dirty = false;
  /** Callbacks the fsync in flight releases; undefined when none is in flight. */
  private inFlight: (() => void)[] | undefined;
  private closed = false;
  private failed: Error | undefined;

  /**
   * `flush`: an fsync completed; the store commits what it recorded meanwhile (it does not commit
   * while one is in flight), so the next fsync covers it. `fatal`: an fsync failed; its commits'
   * callbacks never run (the store cannot go on).
   */
  constructor(
    private readonly target: SyncTarget,
    private readonly flush: () => void,
    private readonly fatal: (err: Error) => void,
  ) {}

  /** True while a commit is not yet known durable. */
  get pending(): boolean {
    return this.dirty || this.inFlight !== undefined;
  }

  /** An fsync is in flight: the store's next commit waits for it (one commit per fsync). */
  get syncing(): boolean {
    return this.inFlight !== undefined;
  }

  /** A commit ended: its callbacks run once an fsync that starts from now has completed. */
  committed(callbacks: (() => void)[]): void {
    if (this.failed) return; // never confirmed: the store has stopped
    if (this.waiting.length === 0) this.waiting = callbacks;
    else for (const fn of callbacks) this.waiting.push(fn);
    this.dirty = true;
    if (!this.inFlight) this.start();
  }

  /**
   * Runs `fn` after everything committed so far is durable, in order with the callbacks already
   * waiting; at once when nothing is waiting.
   */
  wait(fn: () => void): void {
    if (this.failed) return;
    if (this.dirty) this.waiting.push(fn);
    else if (this.inFlight) this.inFlight.push(fn);
    else fn();
  }

  /** Shutdown: makes every commit durable now (on this thread) and runs the callbacks waiting for it. */
  drain(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.failed) return this.closeTargetWhenIdle();
    if (this.pending) {
      try {
        this.target.syncNow();
      } catch (err) {
        this.closeTargetWhenIdle();
        this.fail(err as Error);
        return;
      }
    }
    const callbacks = [...(this.inFlight ?? []), ...this.waiting];
    this.inFlight = this.inFlight && [];
    this.waiting = [];
    this.dirty = false;
    this.closeTargetWhenIdle();
    for (const fn of callbacks) fn();
  }

  /** A crash, as tests simulate it: nothing waiting is released. */
  abandon(): void {
    if (this.closed) return; // drained already
    this.closed = true;
    this.waiting = [];
    this.dirty = false;
    if (this.inFlight) this.inFlight = [];
    this.closeTargetWhenIdle();
  }

  private start(): void {
    const covered = this.waiting;
    this.waiting = [];
    this.dirty = false;
    this.inFlight = covered;
    this.target.sync((err) => this.synced(err));
  }

  private synced(err: Error | null): void {
    const covered = this.inFlight ?? [];
    this.inFlight = undefined;
    if (this.closed) {
      // drain() or abandon() settled these already; the file can be closed now.
      this.target.close();
      return;
    }
    if (err) return this.fail(err);
    // The covered callbacks first: their confirms are queued for the socket (a microtask) ahead
    // of the commit of what was recorded during that fsync, which comes next in a microtask of
    // its own, so a confirm does not wait for the next commit's writes (docs/storage.md).
    for (const fn of covered) fn();
    queueMicrotask(this.commitAfterSync);
  }

  /** Commits what was recorded during the fsync that just completed: committed() starts the next. */
  private readonly commitAfterSync = (): void => {
    if (this.closed || this.failed) return;
    this.flush();
    if (this.dirty && !this.inFlight) this.start();
  };

  private fail(err: Error): void {
    this.failed = err;
    this.waiting = [];
    this.dirty = false;
    this.fatal(err);
  }

  /** The target's fd may be in use by the fsync in flight: closed when that one completes. */
  private closeTargetWhenIdle(): void {
    if (!this.inFlight) this.target.close();
  }
}
