// How a queue keeps its messages. The messaging core uses only this interface, so the durable
// store (SQLite, paging to disk) can replace the in-memory one without touching queues.
import type { Message } from "../src/broker/message.ts";

/**
 * Priority level k's seqs start at k * LEVEL_SPAN + 1: the store reads one level's page by seq
 * range, and a stored row's level is floor(seq / LEVEL_SPAN). Level 0 (every plain queue)
 * starts at 1.
 */
export const LEVEL_SPAN = 2 ** 40;

/** One message's place in one queue. */
export interface QueueEntry {
  readonly message: Message;
  /** Position in the queue: requeued entries go back in front of everything with a higher seq. */
  readonly seq: number;
  /** Delivered before (and requeued): consumers see redelivered=true. */
  redelivered: boolean;
  /** Written to the durable store (a persistent message in a durable queue). */
  readonly persisted: boolean;
  /** When it expires (ms since the epoch; 0: never), from x-message-ttl or its expiration. */
  readonly expiresAt: number;
  /** Quorum queues: how often it was returned (x-delivery-count); absent until the first return. */
  deliveryCount?: number;
}

export interface QueueStore {
  /** Messages ready for delivery. */
  readonly length: number;
  /** Sum of the body sizes of ready messages. */
  readonly bytes: number;
  push(entry: QueueEntry): void;
  /** The next ready entry, removed from the store. */
  shift(): QueueEntry | undefined;
  /** The next ready entry, left in place. */
  peek(): QueueEntry | undefined;
  /** Puts a delivered entry back at its original position (by seq). */
  requeue(entry: QueueEntry): void;
  /** Removes every ready entry; returns how many. */
  purge(): number;
}
