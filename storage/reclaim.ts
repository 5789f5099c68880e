// Gives disk space back while the broker runs (issue 23). The database is in
// auto_vacuum=INCREMENTAL mode, so pages freed by acks go to SQLite's freelist; a reclaim pass
// returns them to the file system in small `incremental_vacuum` steps (each one short, adapted
// to a time budget, spread over event-loop turns so the broker keeps serving), then checkpoints
// and truncates the WAL so the file really shrinks. Why this mechanism: docs/storage.md.
import type { Logger } from "../src/log.ts";
import type { SqlDatabase, SqlStatement } from "../src/runtime/sqlite.ts";
import { after, every, nextTurn, type Timer } from "../src/runtime/timers.ts";

export interface ReclaimOptions {
  /** A pass starts once the file holds more free bytes than this… */
  startAboveBytes: number;
  /** …and stops when at most this many are left (reused by the next publishes without growing). */
  keepBytes: number;
  /** What one step may take; the pages per step follow it. */
  stepBudgetMs: number;
  /** How often the free space is looked at when no pass runs. */
  checkEveryMs: number;
  /** The pause between steps while the store is committing (busy); idle, steps run turn after turn. */
  busyPauseMs: number;
  /**
   * Free space grown by more than this since the last look means a drain is under way: no pass
   * starts and a running one pauses, because a step would move the live tail of the file that the
   * drain is about to free (unless the disk alarm is on: then space goes back at once).
   */
  drainingAboveBytes: number;
}

export const RECLAIM_DEFAULTS: ReclaimOptions = {
  startAboveBytes: 32 * 1024 * 1024,
  keepBytes: 8 * 1024 * 1024,
  stepBudgetMs: 2,
  checkEveryMs: 1000,
  busyPauseMs: 20,
  drainingAboveBytes: 4 * 1024 * 1024,
};

// A step that only cuts free pages off the end of the file is cheap (about 2 GB/s here); one that
// moves live pages into the holes costs about 70 MB/s. The cap keeps the first step into live
// pages, before the budget has shrunk the count, at a few tens of ms (docs/storage.md). In bytes,
// so that a store's page size (4 KiB before, 16 KiB now: schema.ts) does not change a step.
const MIN_STEP_BYTES = 32 * 1024;
const START_STEP_BYTES = 256 * 1024;
const MAX_STEP_BYTES = 2 * 1024 * 1024;

/** One pass, for its log line. */
interface Pass {
  started: number;
  freedPages: number;
  steps: number;
  longestStepMs: number;
  /** Nothing more to give back: finished on the next idle look (a checkpoint cannot run inside a commit). */
  done: boolean;
}

export class Reclaimer {
  /** Pages per step, adapted so that a step takes about the budget, between these bounds. */
  private pages: number;
  private readonly minPages: number;
  private readonly maxPages: number;
  private pass: Pass | undefined;
  private timer: Timer | undefined;
  private pauseTimer: Timer | undefined;
  private stopped = false;
  private commitsAtLastLook = 0;
  private lastStepAt = 0;
  /** Free pages at the last look (-1: none yet), and whether they grew past drainingAboveBytes. */
  private freeAtLastLook = -1;
  private draining = false;
  /** auto_vacuum=INCREMENTAL (an old store whose upgrade could not run is not). */
  private readonly incremental: boolean;
  private readonly pragmas: { pageSize: SqlStatement; freePages: SqlStatement; pageCount: SqlStatement };
  /**
   * The store calls stepInCommit() inside its commits (they run on this connection); false once
   * another connection makes them (the writer thread): steps then run on their own.
   */
  stepsRideOnCommits = true;
  /** Reclaim passes finished since the store opened (tests, metrics). */
  passes = 0;
  /** Bytes given back to the file system since the store opened. */
  reclaimedBytes = 0;

  /**
   * `commits()` counts the store's commits (a change means the store is busy); `sizeBytes()` is
   * what the store's files take now (for the log line); `onFull` is told when a step found the
   * disk full (the store handles it like a failed commit); `urgent` says space must go back even
   * during a drain (the disk alarm is on, or a write found the disk full).
   */
  constructor(
    private readonly db: SqlDatabase,
    private readonly log: Logger,
    private readonly commits: () => number,
    private readonly sizeBytes: () => number,
    private readonly onFull: (err: Error) => void,
    readonly options: ReclaimOptions = RECLAIM_DEFAULTS,
    private readonly urgent: () => boolean = () => false,
  ) {
    this.incremental = db.prepare("PRAGMA auto_vacuum").get<{ auto_vacuum: number }>()?.auto_vacuum === 2;
    this.pragmas = {
      pageSize: db.prepare("PRAGMA page_size"),
      freePages: db.prepare("PRAGMA freelist_count"),
      pageCount: db.prepare("PRAGMA page_count"),
    };
    const pageSize = this.pageSize();
    this.minPages = Math.max(1, Math.floor(MIN_STEP_BYTES / pageSize));
    this.maxPages = Math.max(this.minPages, Math.floor(MAX_STEP_BYTES / pageSize));
    this.pages = Math.max(this.minPages, Math.floor(START_STEP_BYTES / pageSize));
  }

  start(): void {
    this.timer = every(this.options.checkEveryMs, () => this.check());
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.pauseTimer?.cancel();
  }

  get running(): boolean {
    return this.pass !== undefined;
  }

  pageSize(): number {
    return this.pragmas.pageSize.get<{ page_size: number }>()?.page_size ?? 4096;
  }

  freePages(): number {
    return this.pragmas.freePages.get<{ freelist_count: number }>()?.freelist_count ?? 0;
  }

  pageCount(): number {
    return this.pragmas.pageCount.get<{ page_count: number }>()?.page_count ?? 0;
  }

  /**
   * The look every checkEveryMs: notes whether a drain is under way, and starts a pass if enough
   * space is free and none is. `force` (tests) starts one even during a drain.
   */
  check(force = false): void {
    if (this.stopped || !this.incremental) return;
    const freePages = this.freePages();
    this.noteGrowth(freePages, force);
    if (this.pass !== undefined || this.draining) return;
    if (freePages * this.pageSize() <= this.options.startAboveBytes) return;
    this.pass = { started: performance.now(), freedPages: 0, steps: 0, longestStepMs: 0, done: false };
    this.log.debug(`Store reclaim pass started: ${mb(freePages * this.pageSize())} free in the database file`);
    this.commitsAtLastLook = this.commits();
    this.idleStep();
  }

  private noteGrowth(freePages: number, force: boolean): void {
    const grown = this.freeAtLastLook < 0 ? 0 : (freePages - this.freeAtLastLook) * this.pageSize();
    this.freeAtLastLook = freePages;
    const draining = !force && grown > this.options.drainingAboveBytes && !this.urgent();
    if (draining && !this.draining) {
      this.log.debug(`Store reclaim waits: ${mb(grown)} freed since the last look (a drain is under way)`);
    }
    this.draining = draining;
  }

  /**
   * Called by the store inside each commit's transaction: while the store is busy, steps ride
   * on its commits (at most one per pause), so a step costs no fsync of its own. A failure
   * fails the commit, which the store handles as any failed commit.
   */
  stepInCommit(): void {
    const pass = this.pass;
    if (pass === undefined || pass.done || this.stopped || this.draining) return;
    if (performance.now() - this.lastStepAt < this.options.busyPauseMs) return;
    this.step(pass);
  }

  /**
   * Runs on timers and turns while a pass is on: when the store has committed since the last
   * look it is busy and its commits carry the steps; idle, steps run here, turn after turn.
   */
  private idleStep(): void {
    this.pauseTimer = undefined;
    const pass = this.pass;
    if (this.stopped || pass === undefined) return;
    if (!pass.done && this.draining) {
      this.pauseTimer = after(this.options.busyPauseMs, () => this.idleStep());
      return;
    }
    const commits = this.commits();
    if (!pass.done && commits !== this.commitsAtLastLook) {
      this.commitsAtLastLook = commits;
      // Busy: steps ride on the commits, or (commits made on the writer thread) run here after
      // a pause, each in a transaction of its own.
      if (this.stepsRideOnCommits || performance.now() - this.lastStepAt < this.options.busyPauseMs) {
        this.pauseTimer = after(this.options.busyPauseMs, () => this.idleStep());
        return;
      }
    }
    if (!pass.done) {
      try {
        this.db.transaction(() => this.step(pass));
      } catch (err) {
        this.pass = undefined;
        this.log.warning(`Store reclaim pass stopped after ${pass.steps} steps: ${(err as Error).message}`);
        this.onFull(err as Error);
        return;
      }
    }
    if (pass.done) return this.finish(pass);
    nextTurn(() => this.idleStep());
  }

  /** One step (inside a transaction): gives up to `pages` free pages back. */
  private step(pass: Pass): void {
    const keepPages = Math.floor(this.options.keepBytes / this.pageSize());
    const free = this.freePages();
    const left = free - keepPages;
    if (left <= 0) {
      pass.done = true;
      return;
    }
    const started = performance.now();
    this.db.exec(`PRAGMA incremental_vacuum(${Math.min(this.pages, left)})`);
    const elapsed = performance.now() - started;
    this.lastStepAt = performance.now();
    pass.steps++;
    const freed = free - this.freePages();
    // Nothing given back: the store is not in INCREMENTAL mode (an upgrade that could not run).
    if (freed <= 0) pass.done = true;
    else pass.freedPages += freed;
    if (elapsed > pass.longestStepMs) pass.longestStepMs = elapsed;
    // Steps that move live pages cost far more than steps that only cut free pages off the end.
    const budget = this.options.stepBudgetMs;
    if (elapsed > budget) this.pages = Math.max(this.minPages, Math.floor((this.pages * budget) / elapsed));
    else if (elapsed < budget / 2) this.pages = Math.min(this.maxPages, this.pages * 2);
  }

  private finish(pass: Pass): void {
    this.pass = undefined;
    const before = this.sizeBytes();
    try {
      // The file is cut to its new end by the checkpoint; TRUNCATE empties the WAL as well.
      this.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch (err) {
      this.log.warning(`Store reclaim: WAL checkpoint failed: ${(err as Error).message}`);
    }
    const freed = pass.freedPages * this.pageSize();
    this.passes++;
    this.reclaimedBytes += freed;
    const after = this.sizeBytes();
    this.log.info(
      `Store reclaim pass: returned ${mb(freed)} to the file system in ${((performance.now() - pass.started) / 1000).toFixed(1)} s ` +
        `(${pass.steps} steps, longest ${pass.longestStepMs.toFixed(1)} ms); store files ${mb(before)} before the checkpoint, ${
          mb(after)
        } now`,
    );
  }
}

export function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
