// The store's disk space (issue 23, docs/storage.md). The disk-full state: the store says when a
// write (a commit, a reclaim step, the reserve) found the disk full; from then on the disk alarm
// is on and the listeners (the broker's alarms) are told. A check every second clears it once the
// disk has room for the disk reserve and the WAL again, and the reserve is back on disk. And the
// space report (StoreSpace) of the store's files.
import type { Logger } from "../src/log.ts";
import { freeDiskBytes } from "../src/runtime/system.ts";
import { every, type Timer } from "../src/runtime/timers.ts";
import { DiskReserve } from "./disk_reserve.ts";
import type { Reclaimer } from "./reclaim.ts";
import type { StoreSpace } from "./store.ts";

/** The WAL is cut back to this size after a checkpoint (PRAGMA journal_size_limit). */
export const WAL_LIMIT = 16 * 1024 * 1024;
/** How often a full store looks whether the disk has room again. */
const SPACE_CHECK_MS = 1000;

export class DiskSpace {
  /** A write found the disk full; cleared once the reserve is back on disk. */
  private isFull = false;
  readonly reserve: DiskReserve;
  private readonly listeners: ((full: boolean) => void)[] = [];
  private readonly timer: Timer;

  /**
   * Writes the reserve (`reserveBytes` in `dataDir`; the disk is full if it does not fit) and
   * starts the check. While `waiting()` (the store holds changes in memory, or is closed) the
   * disk-full state stays as it is.
   */
  constructor(
    private readonly dataDir: string,
    reserveBytes: number,
    private readonly log: Logger,
    private readonly waiting: () => boolean,
  ) {
    this.reserve = new DiskReserve(dataDir, reserveBytes);
    if (!this.reserve.fill()) this.found(new Error(`no room for the ${this.reserve.bytes}-byte disk reserve`));
    this.timer = every(SPACE_CHECK_MS, () => this.check());
  }

  get full(): boolean {
    return this.isFull;
  }

  /** A write found the disk full: the disk alarm goes on. */
  found(err: Error): void {
    if (this.isFull) return;
    this.isFull = true;
    this.log.warning(`Store: the disk is full (${err.message}); publishers are blocked until there is room again`);
    for (const listener of this.listeners) listener(true);
  }

  /** Every second: once the disk has room for the reserve and the WAL again, the alarm clears. */
  private check(): void {
    if (!this.isFull || this.waiting()) return;
    let free: number;
    try {
      free = freeDiskBytes(this.dataDir);
    } catch {
      return;
    }
    if (free < this.reserve.bytes - this.reserve.onDisk + WAL_LIMIT || !this.reserve.fill()) return;
    this.isFull = false;
    this.log.info(`Store: disk space is back (${free} bytes free), the disk reserve is in place again`);
    for (const listener of this.listeners) listener(false);
  }

  onFullChange(listener: (full: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** What the store's files take on disk now: `sizeBytes` in all, `segmentBytes` of it in segment files. */
  space(reclaimer: Reclaimer, sizeBytes: number, segmentBytes: number): StoreSpace {
    const live = (reclaimer.pageCount() - reclaimer.freePages()) * reclaimer.pageSize() + segmentBytes;
    return {
      sizeBytes,
      liveBytes: live,
      reclaimableBytes: Math.max(0, sizeBytes - live),
      headroomBytes: WAL_LIMIT + (this.reserve.bytes - this.reserve.onDisk),
      reserveBytes: this.reserve.onDisk,
      full: this.isFull,
      reclaimPasses: reclaimer.passes,
      reclaimedBytes: reclaimer.reclaimedBytes,
    };
  }

  stop(): void {
    this.timer.cancel();
  }
}
