// What the broker asks of durable storage while it runs. Every call only records the change;
// the changes of one event-loop turn are written in one transaction (group commit), and
// afterCommit callbacks run once that transaction is on disk.
import type { FieldTable } from "../src/amqp/table.ts";
import type { Exchange } from "../src/broker/exchange.ts";
import type { Queue } from "../src/broker/queue.ts";
import type { QueueEntry } from "./queue_store.ts";

export type DestinationKind = "queue" | "exchange";

/** A message read back from the store. */
export interface StoredMessage {
  seq: number;
  id: number;
  exchange: string;
  routing_key: string;
  properties: Uint8Array;
  body: Uint8Array;
  refs: number;
  expires_at: number;
  segment: number | null;
  segment_offset: number | null;
  body_size: number;
}

export interface DurableLog {
  saveExchange(exchange: Exchange): void;
  saveRuntimeParameter(vhost: string, component: string, name: string, value: unknown): void;
  deleteRuntimeParameter(vhost: string, component: string, name: string): void;
  deleteExchange(vhost: string, name: string): void;
  saveQueue(queue: Queue): void;
  /** A non-durable queue that may page its backlog out (its rows are dropped at boot). */
  registerTransientQueue(queue: Queue): void;
  /** Drops the queue, its bindings as a destination and its messages (ready and unacked). */
  deleteQueue(queue: Queue): void;
  saveBinding(vhost: string, source: string, kind: DestinationKind, destination: string, routingKey: string, args: FieldTable): void;
  deleteBinding(vhost: string, source: string, kind: DestinationKind, destination: string, routingKey: string, args: FieldTable): void;
  /** Drops every binding to a destination (it was deleted). */
  deleteBindingsTo(vhost: string, kind: DestinationKind, destination: string): void;
  /** Drops every binding from a source (it was deleted). */
  deleteBindingsFrom(vhost: string, source: string): void;

  /** A message entered a durable queue's store (persistent, or any message while it pages). */
  persist(queue: Queue, entry: QueueEntry): void;
  /** It left for good (acked, dropped, purged). */
  remove(queue: Queue, entry: QueueEntry): void;
  /** Entries up to `seq` have been delivered at least once (redelivered=true after a crash). */
  markDelivered(queue: Queue, seq: number): void;

  /** Runs `fn` once everything recorded so far is committed (at once if nothing is pending). */
  afterCommit(fn: () => void): void;

  /**
   * A queue's stored messages with fromSeq <= seq < toSeq, in order, up to `limit` messages or until
   * their bodies reach `maxBytes` (at least one). Commits pending writes first.
   */
  readPage(queue: Queue, fromSeq: number, toSeq: number, limit: number, maxBytes: number): StoredMessage[];
  /** Drops a queue's stored messages with fromSeq <= seq < toSeq (purge of the part on disk only). */
  purgeFrom(queue: Queue, fromSeq: number, toSeq: number): void;
}
