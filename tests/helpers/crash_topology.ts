// The queues and exchanges of the kill -9 crash cycles (tests/helpers/crash_harness.ts).
//
// Three queues carry most of the load (one shared with a second by a fanout). Beside them, the
// load is spread over 300 more durable queues of every kind whose messages commit together: every
// sixth a priority queue, then a quorum queue, a drop-head length-limited queue that dead-letters
// into crash.dlq, a reject-publish length-limited queue, and plain queues. Queue 0 (priority) and
// queue 256 (plain) get only the messages of one fanout, at priority 1, so their index rows are
// recorded in the same turns with equal seqs in different id and level ranges: the shape in which
// a packed (queue, seq) key once lost confirmed messages (issue 12).
import type { ConfirmChannel } from "amqplib";

export const FANOUT = "crash.fan";
export const Q1 = "crash.q1";
export const Q2 = "crash.q2";
export const Q3 = "crash.q3";
export const MARKERS = "crash.markers";
export const DLQ = "crash.dlq";
export const SPREAD_FANOUT = "crash.spread.fan";

export interface CrashQueue {
  name: string;
  args: Record<string, unknown>;
  /** One publisher's messages keep their order (not so with priorities or quorum returns). */
  ordered: boolean;
  /** Messages it drops go to this queue (dead-lettering). */
  deadLettersTo?: string;
  /** Gets messages only through the spread fanout. */
  fanoutOnly: boolean;
  priority: boolean;
}

const SPREAD_COUNT = 300;
const FANOUT_ONLY = new Set([0, 256, 97, 133]);

function spreadQueue(i: number): CrashQueue {
  const name = `crash.s${String(i).padStart(3, "0")}`;
  const fanoutOnly = FANOUT_ONLY.has(i);
  switch (i % 6) {
    case 0:
      return { name, args: { "x-max-priority": 3 }, ordered: false, fanoutOnly, priority: true };
    case 1:
      return { name, args: { "x-queue-type": "quorum" }, ordered: false, fanoutOnly, priority: false };
    case 2:
      return {
        name,
        args: { "x-max-length": 25, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": DLQ },
        ordered: true,
        deadLettersTo: DLQ,
        fanoutOnly,
        priority: false,
      };
    case 3:
      return { name, args: { "x-max-length": 15, "x-overflow": "reject-publish" }, ordered: true, fanoutOnly, priority: false };
    default:
      return { name, args: {}, ordered: true, fanoutOnly, priority: false };
  }
}

export const SPREAD_QUEUES: readonly CrashQueue[] = Array.from({ length: SPREAD_COUNT }, (_, i) => spreadQueue(i));
/** Queues the random spread publisher picks from. */
export const SPREAD_TARGETS = SPREAD_QUEUES.filter((q) => !q.fanoutOnly);
export const SPREAD_FANOUT_QUEUES = SPREAD_QUEUES.filter((q) => q.fanoutOnly).map((q) => q.name);

const plain = (name: string): CrashQueue => ({ name, args: {}, ordered: true, fanoutOnly: false, priority: false });

/** Every queue checked after a crash; the dead-letter queue first (others' drops may be there). */
export const CRASH_QUEUES: readonly CrashQueue[] = [
  { ...plain(DLQ), ordered: false },
  plain(Q1),
  plain(Q2),
  plain(Q3),
  ...SPREAD_QUEUES,
];

export const queueSpec = new Map(CRASH_QUEUES.map((q) => [q.name, q]));

/** Declares everything in this order, so that store ids follow it on a fresh data dir. */
export async function declareTopology(ch: ConfirmChannel): Promise<void> {
  await ch.assertExchange(FANOUT, "fanout", { durable: true });
  await ch.assertExchange(SPREAD_FANOUT, "fanout", { durable: true });
  for (const q of [Q1, Q2, Q3, MARKERS, DLQ]) await ch.assertQueue(q, { durable: true });
  for (const q of SPREAD_QUEUES) await ch.assertQueue(q.name, { durable: true, arguments: q.args });
  await ch.bindQueue(Q1, FANOUT, "");
  await ch.bindQueue(Q2, FANOUT, "");
  for (const q of SPREAD_FANOUT_QUEUES) await ch.bindQueue(q, SPREAD_FANOUT, "");
}
