// The messages between the store (event loop) and its writer thread, and the shared counters
// the store waits on when it must read what it sent (storage/commit_writer.ts, writer_worker.ts).
import type { EncodedBatch } from "./commit_batch.ts";

/** Slots of the shared Int32Array. */
export const enum Shared {
  /** Batches applied (committed: reads on another connection see them). */
  Applied = 0,
  /** 1 while a batch waits for room on the disk. */
  Held = 1,
  /** WriterState. */
  State = 2,
  /** Requests (exec) completed. */
  Done = 3,
  /** Batch and retry messages handled (applied, or found the disk full). */
  Handled = 4,
  /** Batches durable (committed with synchronous=FULL, or fsync is off). */
  Durable = 5,
}

export const enum WriterState {
  Opening = 0,
  Open = 1,
  Closed = 2,
  Failed = 3,
}

export const SHARED_SLOTS = 6;

export interface OpenRequest {
  type: "open";
  path: string;
  fsync: boolean;
  /** PRAGMAs the writer's connection runs after opening (checkpoint size, WAL limit). */
  pragmas: string[];
  retryMs: number;
  shared: SharedArrayBuffer;
}

export type ToWriter =
  | OpenRequest
  | { type: "batch"; id: number; batch: EncodedBatch }
  | { type: "retry" }
  | { type: "exec"; sql: string }
  | { type: "close" };

export type FromWriter =
  /** Batch `id` is durable; `released`: segments whose last message it deleted; `moreToDrop`: see BatchEvents. */
  | { type: "durable"; id: number; released: number[]; moreToDrop: boolean }
  | { type: "full"; message: string }
  | { type: "fatal"; message: string };
