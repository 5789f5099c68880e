import { levelOf, type LevelStats, type Store } from "../../storage/store.ts";
import type { QueueEntry } from "./queue_entry.ts";
import type { Message } from "./message.ts";
import { Backlog, HELD_IN_WINDOWS_BYTES, WINDOW_BYTES, WINDOW_MESSAGES } from "./backlog.ts";
import { DeadLetterRanges } from "./dead_letter_ranges.ts";
import type { DeathReason } from "./dead_letter.ts";
import { type FieldTable, numberField, Typed } from "../amqp/table.ts";
import { effectiveDefinition, type Policy, type PolicyDefinition, policyNumber, policyString } from "./policy.ts";
import { after, type Timer } from "../runtime/timers.ts";
import { resourceName } from "./names.ts";
import { QueueCounters } from "./stats.ts";
import { TurnBudget } from "./turn_budget.ts";

/**
 * Expired messages dropped or dead-lettered per turn. After a boot (messages expired while the
 * broker was down) or a long pause, a whole backlog can be due at once: 300,000 took one 2.4 s turn.
 */
const EXPIRED_PER_TURN = 1_024;

/** What a queue needs from a consumer (implemented by the connection layer). */
export interface QueueConsumer {
  readonly tag: string;
  readonly exclusive: boolean;
  /** x-priority on basic.consume (0 by default). */
  readonly priority: number;
  readonly args?: FieldTable; // basic.consume's (a stream reads x-stream-offset)
  /** Has prefetch credit and an output that is not backed up. */
  canTake(queue: Queue): boolean;
  deliver(queue: Queue, entry: QueueEntry): void;
  /** The queue went away: tell the client (basic.cancel) and forget the consumer. */
  cancelledByServer(queue: Queue): void;
  /** A consumer of another protocol (a plugin's): its consumer_details entry in the management API. */
  describe?(): Record<string, unknown>;
}

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

/** What happened to an enqueued message (a bit set: routing adds them up over queues). */
export const Enqueued = { memory: 0, persisted: 1, rejected: 2 } as const;

export type Overflow = "drop-head" | "reject-publish" | "reject-publish-dlx";

/** What a queue asks of its vhost: one object per vhost, not closures per queue (memory.md). */
export interface QueueHost {
  /** Republishes to the queue's dead-letter exchange (and counts, as countDropped does). */
  deadLetter(queue: Queue, message: Message, reason: DeathReason): void;
  countDropped(queue: Queue, reason: DeathReason, count: number): void;
  /** x-expires: the queue was unused that long. */
  deleteUnused(queue: Queue): void;
}

/** The connection that owns an exclusive queue (compared by identity). */
export type QueueOwner = object;

export class Queue {
  /** Ready messages, one backlog per priority level (index = priority); plain queues have one. */
  private readonly levels: Backlog[] = [];
  /** Message counters for the management API (bumped by the connection layer too). */
  readonly counters = new QueueCounters();
  readonly consumers: QueueConsumer[] = [];
  /** Round-robin position among consumers. */
  private cursor = 0;
  /** auto-delete applies only once a consumer has come and gone. */
  hadConsumer = false;
  deleted = false;
  /** Where persistent messages are written (durable queues of a broker with a store). */
  log: Store | null = null;
  /** Row id in the durable store. */
  storeId = 0;

  // Settings from arguments and policies (see configure()): length limits, dead-lettering, TTLs.
  maxLength: number | undefined;
  maxLengthBytes: number | undefined;
  overflow: Overflow = "drop-head";
  deadLetterExchange: string | undefined;
  deadLetterRoutingKey: string | undefined;
  /** Dead-lettering, drop counts and x-expires deletes (set by the vhost). */
  host: QueueHost | null = null;
  /** Rows cut off the head by a length limit, waiting to be dead-lettered. */
  private deadLetterRanges: DeadLetterRanges | undefined;
  /** x-single-active-consumer: only the first consumer gets messages; the next takes over. */
  readonly singleActiveConsumer: boolean;
  /** x-queue-type: quorum counts returns and requeues at the tail; a stream is a StreamQueue. */
  readonly type: "classic" | "quorum" | "stream";
  /** Quorum queues: a message returned more often than this is dead-lettered (delivery_limit). */
  deliveryLimit: number | undefined;
  /** The policy and operator policy in effect, and the definition they make together. */
  policy: Policy | undefined;
  operatorPolicy: Policy | undefined;
  effectivePolicy: PolicyDefinition = {};
  /** x-message-ttl in ms. */
  messageTtl: number | undefined;
  /** One timer per queue, for its head's expiry: nothing runs per message while nothing expires. */
  private expiryTimer: Timer | undefined;
  private expiryTimerAt = 0;
  /** Messages this turn may still expire, shared by expireHead and drain (made when first needed). */
  private expiryBudget: TurnBudget | undefined;
  /** x-expires in ms: the queue is deleted after being unused this long. */
  expires: number | undefined;
  private unusedTimer: Timer | undefined;

  constructor(
    readonly vhost: string,
    readonly name: string,
    readonly durable: boolean,
    readonly autoDelete: boolean,
    readonly owner: QueueOwner | null,
    readonly args: FieldTable,
  ) {
    this.singleActiveConsumer = args["x-single-active-consumer"] === true;
    this.type = args["x-queue-type"] === "quorum" ? "quorum" : args["x-queue-type"] === "stream" ? "stream" : "classic";
    this.applySettings(undefined, undefined);
    // RabbitMQ caps x-max-priority at 255; priorities above the maximum count as the maximum.
    const maxPriority = Math.min(numberField(args, "x-max-priority") ?? 0, 255);
    for (let level = 0; level <= maxPriority; level++) this.levels.push(new Backlog(this, level, maxPriority + 1));
  }

  /** Where a new message goes: its priority's level (0 without one). */
  private levelFor(message: Message): Backlog {
    const levels = this.levels;
    if (levels.length === 1) return levels[0]!;
    return levels[Math.min(message.priority, levels.length - 1)]!;
  }

  /** The level whose head is delivered next: the highest priority with ready messages. */
  private head(): Backlog {
    const levels = this.levels;
    for (let i = levels.length - 1; i > 0; i--) if (levels[i]!.length > 0) return levels[i]!;
    return levels[0]!;
  }

  /**
   * Applies the matching policy and operator policy (or none). A limit set both ways is the
   * lower of the two; for overflow and the dead-letter settings the argument wins
   * (rabbit_amqqueue_process's res_min / res_arg). A lower length limit applies at once.
   */
  configure(policy: Policy | undefined, operator: Policy | undefined): void {
    const expires = this.expires;
    this.applySettings(policy, operator);
    if (this.expires !== expires) this.touch();
    this.applyLimits();
  }

  /** Computes the settings from the arguments and policies (no side effects: the constructor uses it too). */
  private applySettings(policy: Policy | undefined, operator: Policy | undefined): void {
    const definition = effectiveDefinition(policy, operator);
    const args = this.args;
    const lower = (key: string) => {
      const arg = numberField(args, `x-${key}`);
      const set = policyNumber(definition, key);
      return arg === undefined ? set : set === undefined ? arg : Math.min(arg, set);
    };
    const argFirst = (key: string) => {
      const arg = args[`x-${key}`];
      return typeof arg === "string" ? arg : policyString(definition, key);
    };
    this.maxLength = lower("max-length");
    this.maxLengthBytes = lower("max-length-bytes");
    const overflow = argFirst("overflow");
    this.overflow = overflow === "reject-publish" || overflow === "reject-publish-dlx" ? overflow : "drop-head";
    this.deadLetterExchange = argFirst("dead-letter-exchange");
    this.deadLetterRoutingKey = argFirst("dead-letter-routing-key");
    this.messageTtl = lower("message-ttl");
    this.deliveryLimit = this.type === "quorum" ? lower("delivery-limit") : undefined;
    this.expires = lower("expires");
    this.policy = policy;
    this.operatorPolicy = operator;
    this.effectivePolicy = definition;
  }

  /** The queue was used (declared, consumed from, got from): x-expires counts again, while it has no consumers. */
  touch(): void {
    this.unusedTimer?.cancel();
    this.unusedTimer = undefined;
    if (this.expires === undefined || this.deleted || this.consumers.length > 0) return;
    this.unusedTimer = after(this.expires, () => {
      this.unusedTimer = undefined;
      if (this.consumers.length === 0) this.host?.deleteUnused(this);
    });
  }

  /** The lower of the queue's and the message's TTL decides; 0 means no expiry. */
  private expiresAtFor(message: Message): number {
    const perMessage = message.expirationMs;
    const ttl = this.messageTtl === undefined
      ? perMessage
      : perMessage === undefined
      ? this.messageTtl
      : Math.min(this.messageTtl, perMessage);
    return ttl === undefined ? 0 : Date.now() + ttl;
  }

  /** An expired entry leaves (dead-lettered with reason expired, or dropped). */
  private expire(entry: QueueEntry): void {
    this.discard(entry);
    this.host?.deadLetter(this, entry.message, "expired");
  }

  /**
   * Drops expired messages from the head, as RabbitMQ does (a message behind a longer-lived
   * head waits for it), then sets the timer for the new head. At most EXPIRED_PER_TURN go per
   * call; with more due, the timer comes back at once (next turn).
   */
  expireHead(): void {
    if (this.deleted) return;
    const now = Date.now();
    let next = 0; // the earliest expiry among the levels' heads
    for (const level of this.levels) {
      for (let head = level.peek(); head && head.expiresAt !== 0; head = level.peek()) {
        if (head.expiresAt > now) {
          if (next === 0 || head.expiresAt < next) next = head.expiresAt;
          break;
        }
        if (!(this.expiryBudget ??= new TurnBudget(EXPIRED_PER_TURN)).take()) {
          next = now;
          break;
        }
        this.expire(level.shift()!);
      }
    }
    if (next !== 0) this.expireAt(next, now);
  }

  /** Sets the expiry timer for `at` (unless one comes sooner); consumers get what follows the expired. */
  private expireAt(at: number, now: number): void {
    if (this.expiryTimer && this.expiryTimerAt <= at) return;
    this.expiryTimer?.cancel();
    this.expiryTimerAt = at;
    this.expiryTimer = after(Math.max(0, at - now), () => {
      this.expiryTimer = undefined;
      this.expireHead();
      this.drain();
    });
  }

  /** The queue is gone or the broker stops: no more expiry checks or background dead-lettering. */
  stopTimers(): void {
    this.deadLetterRanges?.stop();
    this.expiryTimer?.cancel();
    this.expiryTimer = undefined;
    this.unusedTimer?.cancel();
    this.unusedTimer = undefined;
  }

  /** Body bytes of the ready messages (in memory and paged out). */
  get readyBytes(): number {
    const levels = this.levels;
    if (levels.length === 1) return levels[0]!.bytes;
    let bytes = 0;
    for (const level of levels) bytes += level.bytes;
    return bytes;
  }

  private get limited(): boolean {
    return this.maxLength !== undefined || this.maxLengthBytes !== undefined;
  }

  /** Ready messages paged out to the store (not in memory), and their body bytes. */
  get pagedOut(): number {
    let n = 0;
    for (const level of this.levels) n += level.length - level.memory.length;
    return n;
  }

  get pagedOutBytes(): number {
    let n = 0;
    for (const level of this.levels) n += level.bytes - level.memory.bytes;
    return n;
  }

  /** Ready messages (in memory and paged out). */
  get messageCount(): number {
    const levels = this.levels;
    if (levels.length === 1) return levels[0]!.length;
    let length = 0;
    for (const level of levels) length += level.length;
    return length;
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
      if (this.overflow === "reject-publish-dlx") this.host?.deadLetter(this, message, "maxlen");
      return Enqueued.rejected;
    }
    this.counters.publish++;
    const expiresAt = this.expiresAtFor(message);
    const windowFull = this.log !== null && this.windowFull(this.durable && message.persistent);
    const persisted = this.levelFor(message).add(message, expiresAt, windowFull);
    if (this.limited && this.overflow === "drop-head") this.dropHeadOverLimit();
    if (this.consumers.length > 0) this.drain();
    // TTL 0: what no consumer took at once has expired.
    if (expiresAt !== 0) this.expireHead();
    return persisted ? Enqueued.persisted : Enqueued.memory;
  }

  /** Length limits (drop-head) trim the head now; a stream applies its retention instead (stream_queue.ts). */
  protected applyLimits(): void {
    if (this.limited && this.overflow === "drop-head") this.dropHeadOverLimit();
  }

  /** reject-publish: the queue is at its limit (a message that would pass the byte limit counts). */
  private isFullFor(message: Message): boolean {
    // A quorum queue refuses only once over a limit: the message that crosses it gets in.
    if (this.type === "quorum") {
      return (this.maxLength !== undefined && this.messageCount > this.maxLength) ||
        (this.maxLengthBytes !== undefined && this.readyBytes > this.maxLengthBytes);
    }
    if (this.maxLength !== undefined && this.messageCount >= this.maxLength) return true;
    return this.maxLengthBytes !== undefined && this.readyBytes + message.bodySize > this.maxLengthBytes;
  }

  /** drop-head: the oldest ready messages go (dead-lettered with reason maxlen) until within limits. */
  private dropHeadOverLimit(): void {
    // A backlog on disk leaves without being read now (Backlog.cutOldest), level by level from the
    // highest priority (the head); what is left over (within a window and a page) goes one by one.
    let count = this.maxLength === undefined ? 0 : this.messageCount - this.maxLength;
    let bytes = this.maxLengthBytes === undefined ? 0 : this.readyBytes - this.maxLengthBytes;
    for (let i = this.levels.length - 1; i >= 0 && (count > 0 || bytes > 0); i--) {
      const level = this.levels[i]!;
      const length = level.length;
      const levelBytes = level.bytes;
      if (length === 0) continue;
      const whole = count >= length || (bytes > 0 && bytes >= levelBytes);
      this.cutHead(level, whole ? length : count, whole ? levelBytes : bytes);
      if (whole) this.dropRestOf(level);
      count -= length - level.length;
      bytes -= levelBytes - level.bytes;
      if (!whole) break;
    }
    while (
      (this.maxLength !== undefined && this.messageCount > this.maxLength) ||
      (this.maxLengthBytes !== undefined && this.readyBytes > this.maxLengthBytes)
    ) {
      const head = this.take();
      if (!head) return;
      this.dropForLength(head);
    }
  }

  /** A ready entry a length limit drops: dead-lettered with reason maxlen (or only counted). */
  private dropForLength(entry: QueueEntry): void {
    this.discard(entry);
    this.host?.deadLetter(this, entry.message, "maxlen");
  }

  /** What a cut left of a level (a window and a page at most) goes one by one, oldest first. */
  private dropRestOf(level: Backlog): void {
    for (let entry = level.shift(); entry; entry = level.shift()) {
      if (entry.expiresAt !== 0 && entry.expiresAt <= Date.now()) this.expire(entry);
      else this.dropForLength(entry);
    }
  }

  /**
   * The head of a backlog over the limit leaves in bulk: dropped in the background like a purge, or
   * with a dead-letter exchange, read back and dead-lettered a page per turn (DeadLetterRanges).
   */
  private cutHead(level: Backlog, count: number, bytes: number): void {
    const range = level.cutOldest(count, bytes, (entry) => this.dropForLength(entry));
    if (range === undefined || range.from >= range.to) return;
    if (this.deadLetterExchange === undefined) {
      this.log!.purgeFrom(this.storeId, range.from, range.to);
      this.host?.countDropped(this, "maxlen", range.rows);
    } else (this.deadLetterRanges ??= new DeadLetterRanges(this)).add(range);
  }

  /** Whether the in-memory window (shared by all priority levels) is full. */
  private windowFull(persistent: boolean): boolean {
    let length = 0, bytes = 0;
    for (const level of this.levels) {
      length += level.memory.length;
      bytes += level.memory.bytes;
    }
    if (persistent && this.log!.heldInWindows >= HELD_IN_WINDOWS_BYTES) return true; // all queues' windows together
    if (persistent || memoryPressure) return length >= WINDOW_MESSAGES || bytes >= WINDOW_BYTES;
    return length >= TRANSIENT_WINDOW_MESSAGES || bytes >= TRANSIENT_WINDOW_BYTES;
  }

  /**
   * Boot: what the store holds for each priority level (seq ranges of levelRange); nothing is
   * read until the queue's head is (recovered() peeks it, a small page, if stored rows expire).
   */
  recover(levels: readonly LevelStats[]): void {
    for (const s of levels) this.levels[s.level]?.recover(s.count, s.bytes, s.maxSeq, s.deliveredUpTo, s.expiring);
  }

  /**
   * Boot, once every queue and binding is back: what expired or is over a length limit leaves now,
   * when its dead-letter exchange can route it (rabbit_amqqueue_process trims on init too).
   */
  recovered(): void {
    if (this.levels.some((level) => level.expiringAtBoot)) this.expireHead(); // else no head is read
    this.applyLimits();
  }

  /** A message that left the queue goes to its dead-letter exchange, if it has one. */
  deadLetterStored(message: Message, reason: DeathReason): void {
    this.host?.deadLetter(this, message, reason);
  }

  /** The number of priority levels (1 for a plain queue). */
  get levelCount(): number {
    return this.levels.length;
  }

  /** An entry has been handed to a client: with no ack expected it is gone, else it is delivered. */
  delivered(entry: QueueEntry, acked: boolean): void {
    if (!entry.persisted || this.deleted) return;
    if (acked) this.removeStored(entry);
    else this.log!.markDelivered(this.storeId, levelOf(entry.seq, this.levels.length), entry.seq);
  }

  /** A delivered entry was acked, or rejected without requeue: it leaves for good. */
  discard(entry: QueueEntry): void {
    if (entry.persisted && !this.deleted) this.removeStored(entry);
  }

  private removeStored(entry: QueueEntry): void {
    this.log!.remove(this.storeId, entry);
    const message = entry.message;
    if (this.durable && message.persistent) this.countPersistent(-1, -message.bodySize);
  }

  /** Persistent messages in the store for this queue (ready and unacked): RabbitMQ's messages_persistent. */
  persistentCount = 0;
  persistentBytes = 0;

  countPersistent(delta: number, bytes: number): void {
    this.persistentCount += delta;
    this.persistentBytes += bytes;
  }

  /** Hands ready messages to consumers, round-robin, while any can take one. */
  drain(): void {
    const consumers = this.consumers;
    let now = 0;
    for (;;) {
      if (consumers.length === 0) return;
      const level = this.head();
      const head = level.peek();
      if (!head) return;
      // Expired messages are never delivered; one whose TTL ends this very moment (TTL 0) still
      // goes to a consumer that is ready, as in RabbitMQ.
      if (head.expiresAt !== 0 && head.expiresAt + 1 < (now ||= Date.now())) { // 1 ms: the clock may tick mid-publish
        // A backlog due at once goes a slice per turn: the expiry timer takes the rest, then drains.
        if (!(this.expiryBudget ??= new TurnBudget(EXPIRED_PER_TURN)).take()) return this.expireAt(now, now);
        this.expire(level.shift()!);
        continue;
      }
      const consumer = this.nextReadyConsumer();
      if (!consumer) return;
      consumer.deliver(this, level.shift()!);
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
    if (n > 1 && consumers[0]!.priority !== consumers[n - 1]!.priority) return this.nextByPriority();
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

  /**
   * Consumer priorities (consumers are sorted by priority, highest first): the first ready
   * consumer of the highest group that has one; round-robin inside a group, by moving the
   * chosen consumer to its group's end.
   */
  private nextByPriority(): QueueConsumer | undefined {
    const consumers = this.consumers;
    for (let start = 0; start < consumers.length;) {
      const priority = consumers[start]!.priority;
      let end = start + 1;
      while (end < consumers.length && consumers[end]!.priority === priority) end++;
      for (let i = start; i < end; i++) {
        const consumer = consumers[i]!;
        if (!consumer.canTake(this)) continue;
        if (i < end - 1) {
          consumers.splice(i, 1);
          consumers.splice(end - 1, 0, consumer);
        }
        return consumer;
      }
      start = end;
    }
    return undefined;
  }

  /** basic.get: the next ready message, if any. */
  take(): QueueEntry | undefined {
    for (;;) {
      const entry = this.head().shift();
      if (!entry || entry.expiresAt === 0 || entry.expiresAt > Date.now()) return entry;
      this.expire(entry);
    }
  }

  /**
   * Puts a delivered message back: at its original position, or for a quorum queue at the tail
   * with its return counted (rabbit_fifo), dead-lettered once past x-delivery-limit. Call
   * drain() after a batch.
   */
  requeue(entry: QueueEntry): void {
    if (this.deleted) return;
    entry.redelivered = true;
    const levels = this.levels;
    const level = levels[levelOf(entry.seq, levels.length)]!;
    if (this.type === "quorum") {
      const count = (entry.deliveryCount = (entry.deliveryCount ?? 0) + 1);
      if (this.deliveryLimit !== undefined && count > this.deliveryLimit) {
        this.discard(entry);
        this.host?.deadLetter(this, entry.message, "delivery_limit");
        return;
      }
      // The count survives a restart: a poison message stays limited.
      if (entry.persisted) this.log!.updateDeliveryCount(this.storeId, entry);
      level.requeue(entry, true);
    } else level.requeue(entry, false);
    if (entry.expiresAt !== 0) this.expireHead();
  }

  /** What a client receives: a quorum queue adds x-delivery-count (on get always, else once returned). */
  deliveryProperties(entry: QueueEntry, forGet: boolean): Uint8Array {
    const count = entry.deliveryCount;
    if (this.type !== "quorum" || (!forGet && count === undefined)) return entry.message.properties;
    return entry.message.propertiesWithHeader("x-delivery-count", new Typed("l", count ?? 0));
  }

  addConsumer(consumer: QueueConsumer): void {
    const consumers = this.consumers;
    // Sorted by priority, registration order within one; a single active consumer goes by
    // registration order alone.
    let at = consumers.length;
    if (!this.singleActiveConsumer) { while (at > 0 && consumers[at - 1]!.priority < consumer.priority) at--; }
    consumers.splice(at, 0, consumer);
    if (at < consumers.length - 1 && at <= this.cursor) this.cursor++;
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
    for (const level of this.levels) level.purge();
    return count;
  }
}
