import type { FieldTable } from "../amqp/table.ts";
import { MemoryQueueStore } from "../../storage/memory_queue_store.ts";
import type { QueueEntry, QueueStore } from "../../storage/queue_store.ts";
import type { DurableLog } from "../../storage/durable_log.ts";
import { Message } from "./message.ts";
import { resourceName } from "./names.ts";

/** What a queue needs from a consumer (implemented by the connection layer). */
export interface QueueConsumer {
  readonly tag: string;
  readonly exclusive: boolean;
  /** Has prefetch credit and an output that is not backed up. */
  canTake(queue: Queue): boolean;
  deliver(queue: Queue, entry: QueueEntry): void;
  /** The queue went away: tell the client (basic.cancel) and forget the consumer. */
  cancelledByServer(queue: Queue): void;
}

/**
 * Bounded memory: past this many ready messages (or bytes) in memory, a queue's new messages
 * live only in the store, and are paged back in as consumers make room.
 */
const WINDOW_MESSAGES = 4096;
const WINDOW_BYTES = 4 * 1024 * 1024;
const PAGE_IN_BELOW = WINDOW_MESSAGES / 2;
/**
 * Transient messages (and every message of a non-durable queue) stay in memory up to this
 * larger window while memory is plentiful; under the memory alarm they page at the normal one.
 */
const TRANSIENT_WINDOW_MESSAGES = 65_536;
const TRANSIENT_WINDOW_BYTES = 64 * 1024 * 1024;

let memoryPressure = false;

/** Set by the broker while the memory alarm is on: transient messages page out early too. */
export function setMemoryPressure(on: boolean): void {
  memoryPressure = on;
}
const PAGE_SIZE = 2048;

/** The connection that owns an exclusive queue (compared by identity). */
export type QueueOwner = object;

export class Queue {
  readonly store: QueueStore = new MemoryQueueStore();
  readonly consumers: QueueConsumer[] = [];
  /** Round-robin position among consumers. */
  private cursor = 0;
  private nextSeq = 1;
  /** auto-delete applies only once a consumer has come and gone. */
  hadConsumer = false;
  deleted = false;
  /** Where persistent messages are written (durable queues of a broker with a store). */
  log: DurableLog | null = null;
  /** Row id in the durable store. */
  storeId = 0;
  /** Ready messages in the store but not in memory; they all come after those in memory. */
  private onDisk = 0;
  /** The seq of the first of them. */
  private diskFromSeq = 0;
  /** After a restart: messages up to this seq were delivered before it (redelivered=true). */
  private redeliveredUpTo = 0;

  constructor(
    readonly vhost: string,
    readonly name: string,
    readonly durable: boolean,
    readonly autoDelete: boolean,
    readonly owner: QueueOwner | null,
    readonly args: FieldTable,
  ) {}

  /** Ready messages (in memory and paged out). */
  get messageCount(): number {
    return this.store.length + this.onDisk;
  }

  get consumerCount(): number {
    return this.consumers.length;
  }

  describe(): string {
    return resourceName("queue", this.name, this.vhost);
  }

  /** Adds a message; returns true when it was written to the durable store (confirm after commit). */
  enqueue(message: Message): boolean {
    if (this.log !== null && (this.onDisk > 0 || this.windowFull(this.durable && message.persistent))) {
      return this.pageOut(message);
    }
    const persisted = this.log !== null && this.durable && message.persistent;
    const entry: QueueEntry = { message, seq: this.nextSeq++, redelivered: false, persisted };
    if (persisted) this.log!.persist(this, entry);
    this.store.push(entry);
    if (this.consumers.length > 0) this.drain();
    return persisted;
  }

  private windowFull(persistent: boolean): boolean {
    const store = this.store;
    if (persistent || memoryPressure) return store.length >= WINDOW_MESSAGES || store.bytes >= WINDOW_BYTES;
    return store.length >= TRANSIENT_WINDOW_MESSAGES || store.bytes >= TRANSIENT_WINDOW_BYTES;
  }

  /**
   * The window is full: the message goes to the store only — transient ones too, to keep order
   * and bound memory; they are dropped at boot. Returns whether its confirm waits for a commit.
   */
  private pageOut(message: Message): boolean {
    const stored = this.durable ? message : message.transientCopy();
    const entry: QueueEntry = { message: stored, seq: this.nextSeq++, redelivered: false, persisted: true };
    this.log!.persist(this, entry);
    if (this.onDisk === 0) this.diskFromSeq = entry.seq;
    this.onDisk++;
    return this.durable && message.persistent;
  }

  /** Refills the in-memory window from the store. */
  private pageIn(): void {
    const rows = this.log!.readPage(this, this.diskFromSeq, PAGE_SIZE, WINDOW_BYTES / 4);
    for (const row of rows) {
      const message = new Message(row.exchange, row.routing_key, row.properties, row.body);
      message.storeId = row.id;
      message.storeWritten = true;
      message.storeShared = row.refs > 1;
      this.store.push({ message, seq: row.seq, redelivered: row.seq <= this.redeliveredUpTo, persisted: true });
    }
    const last = rows[rows.length - 1];
    if (last) {
      this.onDisk -= rows.length;
      this.diskFromSeq = last.seq + 1;
    }
    if (!last || this.onDisk < 0) this.onDisk = 0;
  }

  private refill(): void {
    if (this.onDisk > 0 && this.store.length < PAGE_IN_BELOW && this.store.bytes < WINDOW_BYTES / 2) this.pageIn();
  }

  /** Boot: `count` stored messages, the last with seq `maxSeq`; the first window is read now. */
  recover(count: number, maxSeq: number, deliveredUpTo: number): void {
    this.onDisk = count;
    this.diskFromSeq = 0;
    this.nextSeq = maxSeq + 1;
    this.redeliveredUpTo = deliveredUpTo;
    this.refill();
  }

  /** An entry has been handed to a client: with no ack expected it is gone, else it is delivered. */
  delivered(entry: QueueEntry, acked: boolean): void {
    if (!entry.persisted || this.deleted) return;
    if (acked) this.log!.remove(this, entry);
    else this.log!.markDelivered(this, entry.seq);
  }

  /** A delivered entry was acked, or rejected without requeue: it leaves for good. */
  discard(entry: QueueEntry): void {
    if (entry.persisted && !this.deleted) this.log!.remove(this, entry);
  }

  /** Hands ready messages to consumers, round-robin, while any can take one. */
  drain(): void {
    const consumers = this.consumers;
    const store = this.store;
    for (;;) {
      this.refill();
      if (store.length === 0 || consumers.length === 0) return;
      const consumer = this.nextReadyConsumer();
      if (!consumer) return;
      consumer.deliver(this, store.shift()!);
    }
  }

  private nextReadyConsumer(): QueueConsumer | undefined {
    const consumers = this.consumers;
    const n = consumers.length;
    for (let i = 0; i < n; i++) {
      const index = (this.cursor + i) % n;
      const consumer = consumers[index]!;
      if (consumer.canTake(this)) {
        this.cursor = (index + 1) % n;
        return consumer;
      }
    }
    return undefined;
  }

  /** basic.get: the next ready message, if any. */
  take(): QueueEntry | undefined {
    this.refill();
    return this.store.shift();
  }

  /** Puts a delivered message back at its original position; call drain() after a batch. */
  requeue(entry: QueueEntry): void {
    if (this.deleted) return;
    entry.redelivered = true;
    this.store.requeue(entry);
  }

  addConsumer(consumer: QueueConsumer): void {
    this.consumers.push(consumer);
    this.hadConsumer = true;
  }

  /** Returns true when the consumer was there. */
  removeConsumer(consumer: QueueConsumer): boolean {
    const index = this.consumers.indexOf(consumer);
    if (index < 0) return false;
    this.consumers.splice(index, 1);
    if (this.cursor > index) this.cursor--;
    if (this.cursor >= this.consumers.length) this.cursor = 0;
    return true;
  }

  hasExclusiveConsumer(): boolean {
    return this.consumers.some((c) => c.exclusive);
  }

  purge(): number {
    const count = this.messageCount;
    if (!this.log || this.deleted) {
      this.store.purge();
    } else {
      for (let entry = this.store.shift(); entry; entry = this.store.shift()) this.discard(entry);
      if (this.onDisk > 0) this.log.purgeFrom(this, this.diskFromSeq);
    }
    this.onDisk = 0;
    return count;
  }
}
