import type { FieldTable } from "../amqp/table.ts";
import { MemoryQueueStore } from "../../storage/memory_queue_store.ts";
import type { QueueEntry, QueueStore } from "../../storage/queue_store.ts";
import type { DurableLog } from "../../storage/durable_log.ts";
import { Message } from "./message.ts";
import type { DeathReason } from "./dead_letter.ts";
import { numberField } from "../amqp/table.ts";
import { after, type Timer } from "../runtime/timers.ts";
import { resourceName } from "./names.ts";
import { QueueCounters } from "./stats.ts";

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

/** What happened to an enqueued message (a bit set: routing adds them up over queues). */
export const Enqueued = { memory: 0, persisted: 1, rejected: 2 } as const;

export type Overflow = "drop-head" | "reject-publish" | "reject-publish-dlx";

/** Called to dead-letter a message leaving a queue (set by the vhost when x-dead-letter-exchange is). */
export type DeadLetterer = (queue: Queue, message: Message, reason: DeathReason) => void;

/** The connection that owns an exclusive queue (compared by identity). */
export type QueueOwner = object;

export class Queue {
  readonly store: QueueStore = new MemoryQueueStore();
  /** Message counters for the management API (bumped by the connection layer too). */
  readonly counters = new QueueCounters();
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
  /** Body bytes of the messages on disk only. */
  private onDiskBytes = 0;

  // Length limits (x-max-length, x-max-length-bytes, x-overflow) and dead-lettering.
  readonly maxLength: number | undefined;
  readonly maxLengthBytes: number | undefined;
  readonly overflow: Overflow;
  readonly deadLetterExchange: string | undefined;
  readonly deadLetterRoutingKey: string | undefined;
  deadLetter: DeadLetterer | null = null;
  /** x-single-active-consumer: only the first consumer gets messages; the next takes over. */
  readonly singleActiveConsumer: boolean;
  /** x-message-ttl in ms. */
  readonly messageTtl: number | undefined;
  /** One timer per queue, for its head's expiry: nothing runs per message while nothing expires. */
  private expiryTimer: Timer | undefined;
  private expiryTimerAt = 0;
  /** x-expires in ms: the queue is deleted after being unused this long. */
  readonly expires: number | undefined;
  /** Deletes this queue (set by the vhost when x-expires is). */
  onUnused: (() => void) | null = null;
  private unusedTimer: Timer | undefined;

  constructor(
    readonly vhost: string,
    readonly name: string,
    readonly durable: boolean,
    readonly autoDelete: boolean,
    readonly owner: QueueOwner | null,
    readonly args: FieldTable,
  ) {
    this.maxLength = numberField(args, "x-max-length");
    this.maxLengthBytes = numberField(args, "x-max-length-bytes");
    const overflow = args["x-overflow"];
    this.overflow = overflow === "reject-publish" || overflow === "reject-publish-dlx" ? overflow : "drop-head";
    const dlx = args["x-dead-letter-exchange"];
    this.deadLetterExchange = typeof dlx === "string" ? dlx : undefined;
    const dlk = args["x-dead-letter-routing-key"];
    this.deadLetterRoutingKey = typeof dlk === "string" ? dlk : undefined;
    this.messageTtl = numberField(args, "x-message-ttl");
    this.expires = numberField(args, "x-expires");
    this.singleActiveConsumer = args["x-single-active-consumer"] === true;
  }

  /**
   * The queue was used (declared, consumed from, read with basic.get): x-expires counts again
   * from now, and only while it has no consumers.
   */
  touch(): void {
    if (this.expires === undefined || this.deleted) return;
    this.unusedTimer?.cancel();
    this.unusedTimer = undefined;
    if (this.consumers.length > 0) return;
    this.unusedTimer = after(this.expires, () => {
      this.unusedTimer = undefined;
      if (this.consumers.length === 0) this.onUnused?.();
    });
  }

  /** The lower of the queue's and the message's TTL decides; 0 means no expiry. */
  private expiresAtFor(message: Message): number {
    const perMessage = message.expirationMs;
    const ttl = this.messageTtl === undefined ? perMessage : perMessage === undefined ? this.messageTtl : Math.min(this.messageTtl, perMessage);
    return ttl === undefined ? 0 : Date.now() + ttl;
  }

  /** An expired entry leaves (dead-lettered with reason expired, or dropped). */
  private expire(entry: QueueEntry): void {
    this.discard(entry);
    this.deadLetter?.(this, entry.message, "expired");
  }

  /**
   * Drops expired messages from the head, as RabbitMQ does (a message behind a longer-lived
   * head waits for it), then sets the timer for the new head.
   */
  expireHead(): void {
    if (this.deleted) return;
    const now = Date.now();
    for (;;) {
      this.refill();
      const head = this.store.peek();
      if (!head || head.expiresAt === 0 || head.expiresAt > now) break;
      this.expire(this.store.shift()!);
    }
    const head = this.store.peek();
    if (!head || head.expiresAt === 0) return;
    if (this.expiryTimer && this.expiryTimerAt <= head.expiresAt) return;
    this.expiryTimer?.cancel();
    this.expiryTimerAt = head.expiresAt;
    this.expiryTimer = after(Math.max(0, head.expiresAt - now), () => {
      this.expiryTimer = undefined;
      this.expireHead();
    });
  }

  /** The queue is gone: no more expiry checks. */
  stopTimers(): void {
    this.expiryTimer?.cancel();
    this.expiryTimer = undefined;
    this.unusedTimer?.cancel();
    this.unusedTimer = undefined;
  }

  /** Body bytes of the ready messages (in memory and paged out). */
  get readyBytes(): number {
    return this.store.bytes + this.onDiskBytes;
  }

  private get limited(): boolean {
    return this.maxLength !== undefined || this.maxLengthBytes !== undefined;
  }

  /** Ready messages paged out to the store (not in memory), and their body bytes. */
  get pagedOut(): number {
    return this.onDisk;
  }

  get pagedOutBytes(): number {
    return this.onDiskBytes;
  }

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

  /**
   * Adds a message. Returns Enqueued.persisted when it was written to the durable store (its
   * confirm waits for the commit), Enqueued.rejected when a full queue refused it.
   */
  enqueue(message: Message): number {
    if (this.limited && this.overflow !== "drop-head" && this.isFullFor(message)) {
      if (this.overflow === "reject-publish-dlx") this.deadLetter?.(this, message, "maxlen");
      return Enqueued.rejected;
    }
    this.counters.publish++;
    let persisted: boolean;
    const expiresAt = this.expiresAtFor(message);
    if (this.log !== null && (this.onDisk > 0 || this.windowFull(this.durable && message.persistent))) {
      persisted = this.pageOut(message, expiresAt);
    } else {
      persisted = this.log !== null && this.durable && message.persistent;
      const entry: QueueEntry = { message, seq: this.nextSeq++, redelivered: false, persisted, expiresAt };
      if (persisted) this.log!.persist(this, entry);
      this.store.push(entry);
    }
    if (this.limited) this.dropHeadOverLimit();
    if (this.consumers.length > 0) this.drain();
    // TTL 0: what no consumer took at once has expired.
    if (expiresAt !== 0) this.expireHead();
    return persisted ? Enqueued.persisted : Enqueued.memory;
  }

  /** reject-publish: the queue is at its limit (a message that would pass the byte limit counts). */
  private isFullFor(message: Message): boolean {
    if (this.maxLength !== undefined && this.messageCount >= this.maxLength) return true;
    return this.maxLengthBytes !== undefined && this.readyBytes + message.bodySize > this.maxLengthBytes;
  }

  /** drop-head: the oldest ready messages go (dead-lettered with reason maxlen) until within limits. */
  private dropHeadOverLimit(): void {
    while (
      (this.maxLength !== undefined && this.messageCount > this.maxLength) ||
      (this.maxLengthBytes !== undefined && this.readyBytes > this.maxLengthBytes)
    ) {
      const head = this.take();
      if (!head) return;
      this.discard(head);
      this.deadLetter?.(this, head.message, "maxlen");
    }
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
  private pageOut(message: Message, expiresAt: number): boolean {
    const stored = this.durable ? message : message.transientCopy();
    const entry: QueueEntry = { message: stored, seq: this.nextSeq++, redelivered: false, persisted: true, expiresAt };
    this.log!.persist(this, entry);
    if (this.onDisk === 0) this.diskFromSeq = entry.seq;
    this.onDisk++;
    this.onDiskBytes += message.bodySize;
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
      this.store.push({ message, seq: row.seq, redelivered: row.seq <= this.redeliveredUpTo, persisted: true, expiresAt: row.expires_at });
      this.onDiskBytes -= row.body_size;
    }
    const last = rows[rows.length - 1];
    if (last) {
      this.onDisk -= rows.length;
      this.diskFromSeq = last.seq + 1;
    }
    if (!last || this.onDisk <= 0) {
      this.onDisk = 0;
      this.onDiskBytes = 0;
    }
  }

  private refill(): void {
    if (this.onDisk > 0 && this.store.length < PAGE_IN_BELOW && this.store.bytes < WINDOW_BYTES / 2) this.pageIn();
  }

  /** Boot: `count` stored messages, the last with seq `maxSeq`; the first window is read now. */
  recover(count: number, bytes: number, maxSeq: number, deliveredUpTo: number): void {
    this.onDisk = count;
    this.onDiskBytes = bytes;
    this.diskFromSeq = 0;
    this.nextSeq = maxSeq + 1;
    this.redeliveredUpTo = deliveredUpTo;
    this.refill();
    this.expireHead();
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
    let now = 0;
    for (;;) {
      this.refill();
      if (store.length === 0 || consumers.length === 0) return;
      const head = store.peek()!;
      // Expired messages are never delivered; one whose TTL ends this very moment (TTL 0) still
      // goes to a consumer that is ready, as in RabbitMQ.
      if (head.expiresAt !== 0 && head.expiresAt + 1 < (now ||= Date.now())) { // 1 ms: the clock may tick mid-publish
        this.expire(store.shift()!);
        continue;
      }
      const consumer = this.nextReadyConsumer();
      if (!consumer) return;
      consumer.deliver(this, store.shift()!);
    }
  }

  private nextReadyConsumer(): QueueConsumer | undefined {
    const consumers = this.consumers;
    if (this.singleActiveConsumer) {
      // Registration order: the oldest consumer is the active one.
      const active = consumers[0];
      return active && active.canTake(this) ? active : undefined;
    }
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
    for (;;) {
      this.refill();
      const entry = this.store.shift();
      if (!entry || entry.expiresAt === 0 || entry.expiresAt > Date.now()) return entry;
      this.expire(entry);
    }
  }

  /** Puts a delivered message back at its original position; call drain() after a batch. */
  requeue(entry: QueueEntry): void {
    if (this.deleted) return;
    entry.redelivered = true;
    this.store.requeue(entry);
    if (entry.expiresAt !== 0) this.expireHead();
  }

  addConsumer(consumer: QueueConsumer): void {
    this.consumers.push(consumer);
    this.hadConsumer = true;
    this.touch();
  }

  /** Returns true when the consumer was there. */
  removeConsumer(consumer: QueueConsumer): boolean {
    const index = this.consumers.indexOf(consumer);
    if (index < 0) return false;
    this.consumers.splice(index, 1);
    if (this.cursor > index) this.cursor--;
    if (this.cursor >= this.consumers.length) this.cursor = 0;
    this.touch();
    // With a single active consumer, the next one takes over what is waiting.
    if (index === 0 && this.singleActiveConsumer && this.consumers.length > 0) this.drain();
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
    this.onDiskBytes = 0;
    return count;
  }
}
