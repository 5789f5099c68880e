// A length limit with a dead-letter exchange trimming a backlog on disk: the rows cut off the
// queue's head leave its counts at once (Backlog.cutOldest), and are read back and dead-lettered a
// page per turn, each page's rows deleted in the commit that stores their dead-lettered copies.
// Doing it in one go stopped the broker (1.67M × 1 KiB: 21.8 s). Rows not reached before a stop
// or a crash are still the queue's at the next boot, at its head, and the limit cuts them again
// once recovery is done.
import type { Store } from "../../storage/store.ts";
import { nextTurn } from "../runtime/timers.ts";
import type { CutRange } from "./backlog.ts";
import type { DeathReason } from "./dead_letter.ts";
import { Message } from "./message.ts";

/** Rows read and dead-lettered per turn (or fewer, up to PAGE_BYTES of bodies). */
const PAGE_ROWS = 1024;
const PAGE_BYTES = 1024 * 1024;

/** The queue whose rows these are, as the ranges use it. */
export interface DeadLetterOwner {
  readonly log: Store | null;
  readonly storeId: number;
  readonly deleted: boolean;
  /** Republishes a message that left the queue to its dead-letter exchange. */
  deadLetterStored(message: Message, reason: DeathReason): void;
}

/**
 * Queues with ranges to dead-letter, a page per turn for one of them in turn: many queues cut at
 * once cost no more per turn than one.
 */
const waiting: DeadLetterRanges[] = [];
let scheduled = false;

function schedule(): void {
  if (scheduled || waiting.length === 0) return;
  scheduled = true;
  nextTurn(stepOne);
}

function stepOne(): void {
  scheduled = false;
  const ranges = waiting.shift();
  // A dead-lettered message routed back into its own queue may have added (and queued) it again.
  if (ranges?.step() && !waiting.includes(ranges)) waiting.push(ranges);
  schedule();
}

export class DeadLetterRanges {
  private readonly ranges: CutRange[] = [];

  constructor(private readonly queue: DeadLetterOwner) {}

  add(range: CutRange): void {
    if (this.ranges.length === 0) waiting.push(this);
    this.ranges.push({ ...range });
    schedule();
  }

  /** The queue is deleted or the broker stops: what is left stays in the store (boot cuts it again). */
  stop(): void {
    this.ranges.length = 0;
    const at = waiting.indexOf(this);
    if (at >= 0) waiting.splice(at, 1);
  }

  /** Dead-letters one page; returns whether more is left. */
  step(): boolean {
    const queue = this.queue;
    const log = queue.log;
    const range = this.ranges[0];
    // A deleted queue's rows went with it.
    if (range === undefined || queue.deleted || log === null) return false;
    const from = range.from;
    const rows = log.readPage(queue.storeId, from, range.to, PAGE_ROWS, PAGE_BYTES);
    const last = rows[rows.length - 1];
    if (last === undefined || last.seq + 1 >= range.to) this.ranges.shift();
    else range.from = last.seq + 1;
    if (last !== undefined) log.purgeFrom(queue.storeId, from, last.seq + 1);
    const now = Date.now();
    for (const row of rows) {
      const message = new Message(row.exchange, row.routingKey, row.properties, row.body);
      queue.deadLetterStored(message, row.expiresAt !== 0 && row.expiresAt <= now ? "expired" : "maxlen");
    }
    return this.ranges.length > 0;
  }
}
