// Kill -9 crash cycles against a spawned Warren, shared by tests/crash/crash.test.ts and
// scripts/crash_soak.ts.
//
// One cycle: on a running broker, publishers (confirms via amqplib, transactions via
// @cloudamqp/amqp-client) and consumers (acks, multiple acks, requeues, rejects, held
// deliveries) run at full speed against durable queues, some of whose messages are shared by two
// queues (fanout). At a seeded random moment the broker is SIGKILLed and restarted on the same
// data dir; everything left in the queues is consumed and compared with what the clients saw.
// The restarted broker carries the next cycle, so acks of one cycle's drain are checked by the
// next crash too.
//
// What the clients know, and therefore what is checked:
//   - confirmed: a publisher confirm (basic.ack) or tx.commit-ok arrived for the message;
//   - settled-sent: the consumer wrote basic.ack / basic.reject(requeue=false) covering it;
//   - settled-processed: a later synchronous method on the same channel returned
//     (queue.declare passive): the broker has processed the settlement;
//   - settled-committed: a persistent message published on the same channel afterwards, to a
//     durable queue, was confirmed. Confirms wait for the group commit, and the commit holds
//     everything the broker did before it, so the settlement is on disk;
//   - delivered-committed: the delivery reached the client before such a confirmed publish was
//     sent, so the queue's delivered watermark is on disk.
// Violations (each fails the test):
//   lost                  confirmed, never settled, not in the queue after the restart
//   resurrected           settled-committed, yet in the queue after the restart
//   earlier-cycle         a message of an earlier cycle (drained and committed) came back
//   unknown               a message nobody published
//   duplicate             the same message twice in one queue
//   transient-survived    a delivery_mode 1 message came back after the crash
//   order                 one publisher's messages out of publish order in a queue
//   corrupt               body or properties differ from what was published
//   redelivered-flag      delivered-committed and back, but redelivered=false
//   not-empty             a queue still had messages after it was drained and committed
// Reported, not failed (unless processedAcksMustStick): settled-processed but not committed acks
// that came back. A reply to a synchronous method does not wait for the group commit (nor does
// RabbitMQ make acks durable before replying), so after kill -9 such a message may legitimately
// be delivered again.
import amqp, { type ChannelModel, type ConfirmChannel, type ConsumeMessage } from "amqplib";
import { AMQPClient } from "@cloudamqp/amqp-client";
import { cpSync, rmSync } from "node:fs";
import { launchWarren, spawnWarren, type WarrenProcess } from "./warren_process.ts";
import {
  CRASH_QUEUES,
  declareTopology,
  DLQ,
  FANOUT,
  MARKERS,
  Q1,
  Q2,
  Q3,
  queueSpec,
  SPREAD_FANOUT,
  SPREAD_FANOUT_QUEUES,
  SPREAD_QUEUES,
  SPREAD_TARGETS,
} from "./crash_topology.ts";

export { CRASH_QUEUES };

// ---------------------------------------------------------------------------------- basics

/** A small seeded PRNG (mulberry32), so that a failing cycle can be replayed with its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Publishes message 0, 1, 2, … with `send` on a confirm channel until `stopped()` or the broker goes,
 * waiting for confirms every 50: a dead connection rejects at once, and without the wait the loop
 * would only ever yield to microtasks and starve the timers (the kill, the test's own timeout).
 */
export async function publishUntilStopped(
  ch: { waitForConfirms(): Promise<void> },
  send: (i: number) => void,
  stopped: () => boolean,
): Promise<void> {
  for (let i = 0; !stopped(); i++) {
    try {
      send(i);
    } catch {
      return; // the connection went with the broker
    }
    if (i % 50 === 49) {
      try {
        await ch.waitForConfirms();
      } catch {
        return;
      }
    }
  }
}

/** Rejects with `what` when `promise` takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Wakes waiters on notify(); wait() also returns after `ms` (a poll, never a deadline). */
class Signal {
  private waiters: (() => void)[] = [];
  notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

function connectWithin(url: string): Promise<ChannelModel> {
  return within(amqp.connect(url), 15_000, `connecting to ${url}`);
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** The body of message `id`: the id, then 0-1499 bytes derived from it. */
export function bodyFor(id: string): Buffer {
  const h = hash(id);
  const filler = Buffer.alloc(h % 1500);
  for (let i = 0; i < filler.length; i++) filler[i] = 33 + ((h >>> (i % 24)) + i * 7) % 90;
  return Buffer.concat([Buffer.from(`${id}|`), filler]);
}

function describeIds(ids: string[], max = 12): string {
  return ids.length <= max ? ids.join(", ") : `${ids.slice(0, max).join(", ")} … (${ids.length} in all)`;
}

// ---------------------------------------------------------------------------------- ledger

/** One published message, as its publisher knows it. */
interface Published {
  publisher: string;
  n: number;
  persistent: boolean;
  queues: readonly string[];
}

/** What clients know about the messages of one cycle. */
class Ledger {
  readonly published = new Map<string, Published>();
  readonly confirmed = new Set<string>();
  /** Per queue. */
  readonly delivered = new Map<string, Set<string>>();
  readonly settledSent = new Map<string, Set<string>>();
  readonly settledProcessed = new Map<string, Set<string>>();
  readonly settledCommitted = new Map<string, Set<string>>();
  readonly deliveredCommitted = new Map<string, Set<string>>();

  constructor(readonly queues: readonly string[]) {
    for (const q of queues) {
      for (const m of [this.delivered, this.settledSent, this.settledProcessed, this.settledCommitted, this.deliveredCommitted]) {
        m.set(q, new Set());
      }
    }
  }

  set(map: Map<string, Set<string>>, queue: string): Set<string> {
    return map.get(queue)!;
  }
}

/** Settlements and deliveries of one consumer channel, in the order the client saw them. */
interface ChannelEvent {
  kind: "deliver" | "settle";
  id: string;
  queue: string;
}

// ---------------------------------------------------------------------------------- topology
// (tests/helpers/crash_topology.ts)

/** A persistent message to the durable markers queue, confirmed: everything before it is committed. */
/**
 * A persistent message to a durable queue, confirmed: its commit holds everything the channel did
 * before it. `queue` must exist (an unroutable marker is confirmed at once and proves nothing).
 */
function commitMarker(ch: ConfirmChannel, queue = MARKERS): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      ch.publish("", queue, Buffer.from("marker"), { persistent: true }, (err) => (err ? reject(err) : resolve()));
    } catch (err) {
      reject(err);
    }
  });
}

// ---------------------------------------------------------------------------------- load

interface LoadContext {
  url: string;
  cycle: number;
  ledger: Ledger;
  stopped: () => boolean;
}

async function openAmqplib(ctx: LoadContext): Promise<{ conn: ChannelModel; closed: () => boolean; signal: Signal }> {
  const conn = await connectWithin(ctx.url);
  let closed = false;
  const signal = new Signal();
  conn.on("error", () => {});
  conn.on("close", () => {
    closed = true;
    signal.notify();
  });
  return { conn, closed: () => closed, signal };
}

interface PublisherSpec {
  name: string;
  exchange: string;
  routingKey: string;
  queues: readonly string[];
  priority?: number;
  /** Picks the queue (and priority) of each message instead of routingKey/queues. */
  choose?: () => { routingKey: string; queues: readonly string[]; priority: number };
  /** Every this-many-th message (n % k === k - 1) is transient. */
  transientEvery?: number;
}

function messageId(ctx: LoadContext, publisher: string, n: number): string {
  return `c${ctx.cycle}.${publisher}.${n}`;
}

/** amqplib, confirm mode, up to 500 unconfirmed messages in flight. */
async function confirmPublisher(ctx: LoadContext, spec: PublisherSpec): Promise<void> {
  const { conn, closed, signal } = await openAmqplib(ctx);
  try {
    const ch = await conn.createConfirmChannel();
    ch.on("error", () => {});
    ch.on("drain", () => signal.notify());
    let inFlight = 0;
    let writable = true;
    for (let n = 0; !ctx.stopped() && !closed(); n++) {
      while ((inFlight >= 500 || !writable) && !ctx.stopped() && !closed()) {
        await signal.wait(50);
        writable = true;
      }
      if (ctx.stopped() || closed()) break;
      const id = messageId(ctx, spec.name, n);
      const persistent = !(spec.transientEvery && n % spec.transientEvery === spec.transientEvery - 1);
      const route = spec.choose?.() ?? { routingKey: spec.routingKey, queues: spec.queues, priority: spec.priority };
      ctx.ledger.published.set(id, { publisher: spec.name, n, persistent, queues: route.queues });
      inFlight++;
      writable = ch.publish(spec.exchange, route.routingKey, bodyFor(id), {
        persistent,
        messageId: id,
        contentType: "application/x-crash-test",
        headers: { "x-publisher": spec.name, "x-n": n },
        ...(route.priority !== undefined ? { priority: route.priority } : {}),
      }, (err) => {
        inFlight--;
        if (!err) ctx.ledger.confirmed.add(id);
        signal.notify();
      });
      if (n % 64 === 63) await new Promise((r) => setImmediate(r)); // let the other clients run
    }
  } catch {
    // the broker was killed under us
  }
}

/** @cloudamqp/amqp-client, tx mode: batches of 1-20 persistent messages, confirmed by commit-ok. */
async function txPublisher(ctx: LoadContext, spec: PublisherSpec, rand: () => number): Promise<void> {
  const client = new AMQPClient(ctx.url, undefined, null);
  let conn;
  try {
    conn = await client.connect();
  } catch {
    return;
  }
  try {
    const ch = await conn.channel();
    await ch.txSelect();
    let n = 0;
    while (!ctx.stopped() && !conn.closed) {
      const ids: string[] = [];
      const writes: Promise<unknown>[] = [];
      const size = 1 + Math.floor(rand() * 20);
      for (let i = 0; i < size; i++, n++) {
        const id = messageId(ctx, spec.name, n);
        ctx.ledger.published.set(id, { publisher: spec.name, n, persistent: true, queues: spec.queues });
        ids.push(id);
        writes.push(ch.basicPublish(spec.exchange, spec.routingKey, bodyFor(id), {
          deliveryMode: 2,
          messageId: id,
          contentType: "application/x-crash-test",
          headers: { "x-publisher": spec.name, "x-n": n },
        }));
      }
      await Promise.all(writes);
      await ch.txCommit();
      for (const id of ids) ctx.ledger.confirmed.add(id);
    }
  } catch {
    // killed
  }
}

/**
 * amqplib consumer on a confirm channel. Per delivery, at random: ack; defer and later ack with
 * multiple=true; nack with requeue; reject without requeue; or hold (never settle). Every few ms
 * it records which settlements the broker has processed (a passive declare returned) and which
 * are committed (a persistent marker published after them was confirmed).
 */
async function consumer(
  ctx: LoadContext,
  queues: readonly string[],
  prefetch: number,
  startAfterMs: number,
  rand: () => number,
): Promise<void> {
  if (startAfterMs > 0) await sleep(startAfterMs);
  if (ctx.stopped()) return;
  const ledger = ctx.ledger;
  const events: ChannelEvent[] = [];
  let processedUpTo = 0;
  let committedUpTo = 0;
  const advance = (upTo: number, level: "processed" | "committed") => {
    const from = level === "processed" ? processedUpTo : committedUpTo;
    for (let i = from; i < upTo; i++) {
      const e = events[i]!;
      if (level === "processed") {
        if (e.kind === "settle") ledger.set(ledger.settledProcessed, e.queue).add(e.id);
      } else if (e.kind === "settle") ledger.set(ledger.settledCommitted, e.queue).add(e.id);
      else ledger.set(ledger.deliveredCommitted, e.queue).add(e.id);
    }
    if (level === "processed") processedUpTo = upTo;
    else committedUpTo = upTo;
  };
  let conn: ChannelModel;
  let closed: () => boolean;
  try {
    ({ conn, closed } = await openAmqplib(ctx));
  } catch {
    return;
  }
  try {
    const ch = await conn.createConfirmChannel();
    ch.on("error", () => {});
    await ch.prefetch(prefetch);
    /** Deliveries not settled on this channel, by delivery tag (in tag order), with their queue. */
    const outstanding = new Map<number, { id: string; queue: string }>();
    let deferredCount = 0;
    let held = 0;
    const settle = ({ id, queue }: { id: string; queue: string }) => {
      ledger.set(ledger.settledSent, queue).add(id);
      events.push({ kind: "settle", id, queue });
    };
    const onMessage = (queue: string, m: ConsumeMessage | null) => {
      if (!m) return;
      const id = m.properties.messageId as string;
      const tag = m.fields.deliveryTag;
      const delivery = { id, queue };
      ledger.set(ledger.delivered, queue).add(id);
      events.push({ kind: "deliver", id, queue });
      outstanding.set(tag, delivery);
      const r = rand();
      try {
        if (r < 0.76) {
          ch.ack(m);
          outstanding.delete(tag);
          settle(delivery);
        } else if (r < 0.86) {
          if (++deferredCount >= 6) {
            ch.ack(m, true); // covers every outstanding tag up to this one, held ones too
            for (const [t, other] of outstanding) {
              if (t > tag) break;
              outstanding.delete(t);
              settle(other);
            }
            deferredCount = 0;
          }
        } else if (r < 0.91) {
          ch.nack(m, false, true); // back to the queue: not settled
          outstanding.delete(tag);
        } else if (r < 0.96) {
          ch.reject(m, false); // dropped (or dead-lettered, which the check allows): settled
          outstanding.delete(tag);
          settle(delivery);
        } else if (held < 15) {
          held++; // never settled by this channel
        } else {
          ch.ack(m);
          outstanding.delete(tag);
          settle(delivery);
        }
      } catch {
        // the channel closed under us: the settlement was not sent
      }
    };
    for (const queue of queues) await ch.consume(queue, (m) => onMessage(queue, m));
    while (!ctx.stopped() && !closed()) {
      await sleep(5 + rand() * 20);
      const before = events.length;
      await ch.checkQueue(queues[0]!);
      advance(before, "processed");
      const beforeMarker = events.length;
      await commitMarker(ch);
      advance(beforeMarker, "committed");
    }
  } catch {
    // killed
  }
}

/** The spread publisher: a random queue of the spread per message, with a random priority. */
function spreadRoute(rand: () => number): () => { routingKey: string; queues: readonly string[]; priority: number } {
  return () => {
    const q = SPREAD_TARGETS[Math.floor(rand() * SPREAD_TARGETS.length)]!;
    return { routingKey: q.name, queues: [q.name], priority: Math.floor(rand() * 4) };
  };
}

// ---------------------------------------------------------------------------------- verification

export interface Recovered {
  id: string;
  redelivered: boolean;
  persistent: boolean;
  problem?: string;
}

/** What a recovered delivery should look like, or a description of how it differs. */
function checkMessage(m: ConsumeMessage, expected: Published | undefined): string | undefined {
  const id = m.properties.messageId as string | undefined;
  if (id === undefined) return "no message-id";
  if (!Buffer.from(m.content).equals(bodyFor(id))) return `body differs (${m.content.length} bytes, expected ${bodyFor(id).length})`;
  if (m.properties.contentType !== "application/x-crash-test") return `content-type ${String(m.properties.contentType)}`;
  const headers = m.properties.headers ?? {};
  if (expected && (headers["x-publisher"] !== expected.publisher || headers["x-n"] !== expected.n)) {
    return `headers ${JSON.stringify(headers)}`;
  }
  if (expected && (m.properties.deliveryMode ?? 1) !== (expected.persistent ? 2 : 1)) {
    return `delivery-mode ${String(m.properties.deliveryMode)}`;
  }
  return undefined;
}

/**
 * Consumes every message of `queue` (acking in batches), then commits the acks with a marker and
 * checks the queue is empty. Returns the messages in delivery order.
 */
async function drainQueue(
  ch: ConfirmChannel,
  queue: string,
  expected: (id: string) => Published | undefined,
  timeoutMs: number,
): Promise<{ got: Recovered[]; left: number }> {
  const { messageCount } = await ch.checkQueue(queue);
  const got: Recovered[] = [];
  if (messageCount > 0) {
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const { consumerTag } = await ch.consume(queue, (m) => {
      if (!m) return;
      const id = (m.properties.messageId as string | undefined) ?? `<no id: ${m.content.subarray(0, 40).toString()}>`;
      const problem = checkMessage(m, expected(id));
      got.push({ id, redelivered: m.fields.redelivered, persistent: m.properties.deliveryMode === 2, ...(problem ? { problem } : {}) });
      if (got.length % 200 === 0 || got.length >= messageCount) ch.ack(m, true);
      if (got.length >= messageCount) resolveDone();
    });
    await within(done, timeoutMs, `draining ${messageCount} messages of ${queue} (got ${got.length})`);
    await ch.cancel(consumerTag);
  }
  await commitMarker(ch);
  const left = (await ch.checkQueue(queue)).messageCount;
  return { got, left };
}

// ---------------------------------------------------------------------------------- the cycle

export interface Violation {
  kind: string;
  queue: string;
  ids: string[];
  detail?: string;
}

export interface CycleReport {
  cycle: number;
  seed: number;
  fsync: boolean;
  killAfterMs: number;
  published: number;
  confirmed: number;
  settledCommitted: number;
  recovered: number;
  /** Settled-processed (not known committed) messages that came back: allowed, counted. */
  processedAckReturned: number;
  /** Confirmed and settled-sent (not known processed) messages that came back: allowed. */
  inFlightAckReturned: number;
  /** Unconfirmed messages that were recovered: allowed. */
  unconfirmedRecovered: number;
  bootMs: number;
  violations: Violation[];
}

export function formatReport(r: CycleReport): string {
  const head = `cycle ${r.cycle} (seed ${r.seed}, ${r.fsync ? "fsync" : "--no-fsync"}, kill after ${r.killAfterMs} ms): ` +
    `${r.published} published, ${r.confirmed} confirmed, ${r.settledCommitted} acks committed, ${r.recovered} recovered ` +
    `(boot ${r.bootMs} ms; back after processed ack ${r.processedAckReturned}, after ack in flight ${r.inFlightAckReturned}, unconfirmed ${r.unconfirmedRecovered})`;
  if (r.violations.length === 0) return `${head}: ok`;
  return `${head}: ${r.violations.length} VIOLATION(S)\n` +
    r.violations.map((v) => `  ${v.kind} in ${v.queue}: ${describeIds(v.ids)}${v.detail ? ` — ${v.detail}` : ""}`).join("\n");
}

export interface CrashRigOptions {
  dataDir: string;
  /** Base seed; cycle c uses seed * 1000 + c. */
  seed: number;
  /** Which cycles' brokers run with --no-fsync (default: every fourth). */
  noFsync?: (cycle: number) => boolean;
  /** Which cycles' brokers commit on the store's writer thread, --writer-thread (default: every other). */
  writerThread?: (cycle: number) => boolean;
  /** Load runs this long (uniformly random, ms) before the kill. */
  killAfterMs?: [number, number];
  /**
   * Copy the data dir here right after each kill (replacing the previous copy), so that the store
   * a violating cycle recovered from can be inspected.
   */
  crashCopyDir?: string;
  /**
   * Also fail when an ack the broker is known to have processed (a later synchronous method on
   * the channel returned) but not known to have committed comes back. Off by default: replies do
   * not wait for the group commit, and RabbitMQ does not make acks durable before replying either.
   */
  processedAcksMustStick?: boolean;
}

/**
 * Runs crash cycles on one data dir. The broker restarted by a cycle's verification also carries
 * the next cycle's load. close() kills whatever is still running.
 */
export class CrashRig {
  private broker: WarrenProcess | undefined;
  private readonly noFsync: (cycle: number) => boolean;
  private readonly writerThread: (cycle: number) => boolean;
  private readonly killRange: [number, number];

  constructor(private readonly opts: CrashRigOptions) {
    this.noFsync = opts.noFsync ?? ((c) => c % 4 === 3);
    this.writerThread = opts.writerThread ?? ((c) => c % 2 === 0);
    this.killRange = opts.killAfterMs ?? [250, 900];
  }

  private spawn(cycle: number): Promise<WarrenProcess> {
    const args = [...(this.noFsync(cycle) ? ["--no-fsync"] : []), ...(this.writerThread(cycle) ? ["--writer-thread"] : [])];
    return spawnWarren({ dataDir: this.opts.dataDir, args });
  }

  async close(): Promise<void> {
    await this.broker?.kill9();
    this.broker = undefined;
  }

  /** Runs one cycle; rejects if it is not done within 4 minutes (the caller then calls close()). */
  cycle(cycle: number): Promise<CycleReport> {
    return within(this.runCycle(cycle), 240_000, `crash cycle ${cycle}`);
  }

  private async runCycle(cycle: number): Promise<CycleReport> {
    const seed = this.opts.seed * 1000 + cycle;
    const rand = seeded(seed);
    this.broker ??= await this.spawn(cycle);
    const broker = this.broker;
    const violations: Violation[] = [];

    // A clean start: the previous cycle drained every queue and committed the acks.
    {
      const conn = await connectWithin(broker.url);
      try {
        const ch = await conn.createConfirmChannel();
        await declareTopology(ch);
        await ch.purgeQueue(MARKERS);
        for (const { name } of CRASH_QUEUES) {
          const { messageCount } = await ch.checkQueue(name);
          if (messageCount !== 0) {
            violations.push({ kind: "not-empty", queue: name, ids: [], detail: `${messageCount} messages at the start of the cycle` });
          }
        }
      } finally {
        await conn.close().catch(() => {});
      }
    }

    const ledger = new Ledger(CRASH_QUEUES.map((q) => q.name));
    let stopped = false;
    const ctx: LoadContext = { url: broker.url, cycle, ledger, stopped: () => stopped };
    const killAfterMs = Math.round(this.killRange[0] + rand() * (this.killRange[1] - this.killRange[0]));
    const workers = [
      confirmPublisher(ctx, { name: "fan", exchange: FANOUT, routingKey: "", queues: [Q1, Q2] }),
      confirmPublisher(ctx, { name: "dir", exchange: "", routingKey: Q1, queues: [Q1] }),
      confirmPublisher(ctx, { name: "mix", exchange: "", routingKey: Q3, queues: [Q3], transientEvery: 4 }),
      txPublisher(ctx, { name: "tx", exchange: "", routingKey: Q2, queues: [Q2] }, seeded(seed + 1)),
      consumer(ctx, [Q1], 100, 0, seeded(seed + 2)),
      consumer(ctx, [Q1], 250, Math.round(rand() * killAfterMs * 0.5), seeded(seed + 3)),
      consumer(ctx, [Q2], 50, Math.round(rand() * killAfterMs * 0.6), seeded(seed + 4)),
      consumer(ctx, [Q3], 200, Math.round(rand() * killAfterMs * 0.3), seeded(seed + 5)),
      // The spread: many queues of every kind committing together.
      confirmPublisher(ctx, { name: "sfan", exchange: SPREAD_FANOUT, routingKey: "", queues: SPREAD_FANOUT_QUEUES, priority: 1 }),
      confirmPublisher(ctx, {
        name: "spread",
        exchange: "",
        routingKey: "",
        queues: [],
        transientEvery: 5,
        choose: spreadRoute(seeded(seed + 6)),
      }),
      consumer(
        ctx,
        SPREAD_QUEUES.filter((_, i) => i % 2 === 0).map((q) => q.name),
        20,
        Math.round(rand() * killAfterMs * 0.4),
        seeded(seed + 7),
      ),
      consumer(
        ctx,
        SPREAD_QUEUES.filter((_, i) => i % 2 === 1).map((q) => q.name),
        20,
        Math.round(rand() * killAfterMs * 0.7),
        seeded(seed + 8),
      ),
    ];
    await sleep(killAfterMs);
    await broker.kill9(); // mid-flight: publishes, confirms, commits, deliveries and acks
    this.broker = undefined;
    stopped = true;
    await within(Promise.all(workers), 20_000, "clients winding down after the kill");
    if (this.opts.crashCopyDir) {
      rmSync(this.opts.crashCopyDir, { recursive: true, force: true });
      cpSync(this.opts.dataDir, this.opts.crashCopyDir, { recursive: true });
    }

    const bootStarted = performance.now();
    this.broker = await this.spawn(cycle + 1);
    const bootMs = Math.round(performance.now() - bootStarted);

    let recovered = 0;
    let processedAckReturned = 0;
    let inFlightAckReturned = 0;
    let unconfirmedRecovered = 0;
    const conn = await connectWithin(this.broker.url);
    try {
      const ch = await conn.createConfirmChannel();
      await ch.purgeQueue(MARKERS);
      /** What the dead-letter queue held: messages other queues dropped. */
      const deadLettered = new Set<string>();
      for (const spec of CRASH_QUEUES) {
        const q = spec.name;
        const { got, left } = await drainQueue(ch, q, (id) => ledger.published.get(id), 60_000);
        if (q === DLQ) { for (const m of got) deadLettered.add(m.id); }
        recovered += got.length;
        const add = (kind: string, ids: string[], detail?: string) => {
          if (ids.length > 0) violations.push({ kind, queue: q, ids, ...(detail ? { detail } : {}) });
        };
        const inQueue = new Set<string>();
        const dup: string[] = [];
        for (const m of got) {
          if (inQueue.has(m.id)) dup.push(m.id);
          inQueue.add(m.id);
        }
        add("duplicate", dup);
        const mine = (id: string) => {
          const queues = ledger.published.get(id)?.queues;
          if (!queues) return false;
          return q === DLQ ? queues.some((other) => queueSpec.get(other)?.deadLettersTo === DLQ) : queues.includes(q);
        };
        const earlier = (id: string) => Number(/^c(\d+)\./.exec(id)?.[1] ?? cycle) < cycle;
        add("earlier-cycle", got.filter((m) => !mine(m.id) && earlier(m.id)).map((m) => m.id));
        add("unknown", got.filter((m) => !mine(m.id) && !earlier(m.id)).map((m) => m.id));
        add("corrupt", got.filter((m) => m.problem).map((m) => m.id), got.find((m) => m.problem)?.problem);
        add("transient-survived", got.filter((m) => ledger.published.get(m.id)?.persistent === false).map((m) => m.id));
        const committed = ledger.set(ledger.settledCommitted, q);
        add("resurrected", got.filter((m) => committed.has(m.id)).map((m) => m.id));
        const settledSent = ledger.set(ledger.settledSent, q);
        const lost: string[] = [];
        for (const [id, p] of ledger.published) {
          if (!p.persistent || !p.queues.includes(q) || !ledger.confirmed.has(id) || settledSent.has(id) || inQueue.has(id)) continue;
          // A length-limited queue may have dropped it into the dead-letter queue.
          if (spec.deadLettersTo && deadLettered.has(id)) continue;
          lost.push(id);
        }
        add("lost", lost);
        const deliveredCommitted = ledger.set(ledger.deliveredCommitted, q);
        add(
          "redelivered-flag",
          got.filter((m) => deliveredCommitted.has(m.id) && !m.redelivered && !committed.has(m.id)).map((m) => m.id),
          "delivered before a committed marker, yet redelivered=false after the restart",
        );
        // Per publisher, the queue keeps publish order (priorities and quorum returns reorder).
        const lastN = new Map<string, number>();
        const order: string[] = [];
        for (const m of spec.ordered ? got : []) {
          const p = ledger.published.get(m.id);
          if (!p) continue;
          const prev = lastN.get(p.publisher);
          if (prev !== undefined && p.n <= prev) order.push(`${m.id} after n=${prev}`);
          lastN.set(p.publisher, p.n);
        }
        add("order", order);
        if (left !== 0) add("not-empty", [], `${left} messages left after draining and committing`);
        const processed = ledger.set(ledger.settledProcessed, q);
        if (this.opts.processedAcksMustStick) {
          add(
            "processed-ack-returned",
            got.filter((m) => processed.has(m.id) && !committed.has(m.id)).map((m) => m.id),
            "settled, and a later queue.declare on the channel returned, yet back after the restart",
          );
        }
        for (const m of got) {
          if (committed.has(m.id)) continue;
          if (processed.has(m.id)) processedAckReturned++;
          else if (settledSent.has(m.id)) inFlightAckReturned++;
          if (!ledger.confirmed.has(m.id)) unconfirmedRecovered++;
        }
      }
      await ch.purgeQueue(MARKERS);
    } finally {
      await conn.close().catch(() => {});
    }

    let settledCommitted = 0;
    for (const q of CRASH_QUEUES) settledCommitted += ledger.set(ledger.settledCommitted, q.name).size;
    return {
      cycle,
      seed,
      fsync: !this.noFsync(cycle),
      killAfterMs,
      published: ledger.published.size,
      confirmed: ledger.confirmed.size,
      settledCommitted,
      recovered,
      processedAckReturned,
      inFlightAckReturned,
      unconfirmedRecovered,
      bootMs,
      violations,
    };
  }
}

// ---------------------------------------------------------------------------------- crash during recovery

export interface RecoveryCrashReport {
  messages: number;
  attempts: { trigger: string; killedBeforeReady: boolean; exit: number | string }[];
  recoveredCounts: Record<string, number>;
  violations: Violation[];
}

const R_FAN = "rc.fan";
const RA = "rc.a";
const RB = "rc.b";
const RC = "rc.c";
const R_MARKERS = "rc.markers";

/** Publishes `count` messages from one confirm channel, ids `${prefix}${n}`, `transient(n)` ones transient. */
async function publishConfirmed(
  ch: ConfirmChannel,
  exchange: string,
  routingKey: string,
  prefix: string,
  count: number,
  transient: (n: number) => boolean,
): Promise<void> {
  let inFlight = 0;
  let failed: Error | undefined;
  const signal = new Signal();
  ch.on("drain", () => signal.notify());
  for (let n = 0; n < count; n++) {
    while (inFlight >= 2000 && !failed) await signal.wait(50);
    if (failed) throw failed;
    const id = `${prefix}${n}`;
    inFlight++;
    const ok = ch.publish(exchange, routingKey, bodyFor(id), {
      persistent: !transient(n),
      messageId: id,
      contentType: "application/x-crash-test",
    }, (err) => {
      inFlight--;
      if (err) failed = err instanceof Error ? err : new Error(String(err));
      signal.notify();
    });
    if (!ok) await signal.wait(50);
  }
  await ch.waitForConfirms();
  if (failed) throw failed;
}

/**
 * Builds a store of `messages` persistent messages (3/5 of them shared by two queues), with some
 * delivered-unacked and some acked, kills the broker, then kills each of `attempts` restarts while
 * it boots (on its "data directory" line, on its first "recovery:" line, or after a seeded random
 * delay), and finally checks that a full boot has exactly the expected queues.
 */
export function crashDuringRecovery(dataDir: string, opts: RecoveryCrashOptions): Promise<RecoveryCrashReport> {
  return within(runCrashDuringRecovery(dataDir, opts), 300_000, "crash during recovery");
}

export interface RecoveryCrashOptions {
  messages: number;
  attempts: number;
  seed: number;
  log?: (line: string) => void;
}

async function runCrashDuringRecovery(dataDir: string, opts: RecoveryCrashOptions): Promise<RecoveryCrashReport> {
  if (opts.messages < 1000) throw new Error("crashDuringRecovery needs at least 1000 messages");
  const rand = seeded(opts.seed);
  const log = opts.log ?? (() => {});
  const shared = Math.round(opts.messages * 0.6);
  const own = opts.messages - shared;
  // r.c also gets one transient message after every 10 persistent ones (paged out and swept at boot).
  const rcTotal = own + Math.floor(own / 10);
  const rcTransient = (n: number) => n % 11 === 10;
  const unackedOnA = 300;
  const ackedOnB = 100;
  const violations: Violation[] = [];
  let broker: WarrenProcess | undefined;
  try {
    broker = await spawnWarren({ dataDir });
    const conn = await connectWithin(broker.url);
    conn.on("error", () => {});
    const ch = await conn.createConfirmChannel();
    ch.on("error", () => {});
    await ch.assertExchange(R_FAN, "fanout", { durable: true });
    for (const q of [RA, RB, RC, R_MARKERS]) await ch.assertQueue(q, { durable: true });
    await ch.bindQueue(RA, R_FAN, "");
    await ch.bindQueue(RB, R_FAN, "");
    const ch2 = await conn.createConfirmChannel();
    ch2.on("error", () => {});
    await Promise.all([
      publishConfirmed(ch, R_FAN, "", "a", shared, () => false),
      publishConfirmed(ch2, "", RC, "c", rcTotal, rcTransient),
    ]);
    // rc.a: the first `unackedOnA` delivered and never acked, the watermark committed.
    await ch.prefetch(unackedOnA);
    let received = 0;
    let gotAll!: () => void;
    const all = new Promise<void>((r) => (gotAll = r));
    await ch.consume(RA, () => {
      if (++received === unackedOnA) gotAll();
    });
    await within(all, 30_000, `receiving ${unackedOnA} messages from ${RA}`);
    // rc.b: the first `ackedOnB` fetched and acked.
    for (let i = 0; i < ackedOnB; i++) {
      const m = await ch2.get(RB);
      if (!m) throw new Error(`${RB} ran dry at ${i}`);
      ch2.ack(m);
    }
    await commitMarker(ch, R_MARKERS);
    await commitMarker(ch2, R_MARKERS);
    log(`store built: ${opts.messages} persistent messages (${shared} shared by ${RA} and ${RB}), ${Math.floor(own / 10)} transient`);
    await broker.kill9();
    broker = undefined;

    const attempts: RecoveryCrashReport["attempts"] = [];
    for (let i = 0; i < opts.attempts; i++) {
      const kind = i % 3;
      const proc = await launchWarren({ dataDir });
      broker = proc;
      let trigger: string;
      try {
        if (kind === 0) {
          trigger = "on 'data directory' line";
          await proc.waitForLine(/data directory:/, 30_000);
        } else if (kind === 1) {
          trigger = "on first 'recovery:' line";
          await proc.waitForLine(/recovery:/, 30_000);
        } else {
          const delay = Math.round(rand() * 400);
          trigger = `${delay} ms after spawn`;
          await sleep(delay);
        }
      } catch (err) {
        throw new Error(`attempt ${i}: ${(err as Error).message}`);
      }
      const killedBeforeReady = !proc.output().includes("Server startup complete");
      await proc.kill9();
      broker = undefined;
      const exit = await proc.exit;
      attempts.push({ trigger, killedBeforeReady, exit });
      log(
        `recovery attempt ${i + 1}/${opts.attempts}: killed ${trigger}${
          killedBeforeReady ? " (before startup completed)" : " (after startup completed)"
        }`,
      );
    }

    broker = await spawnWarren({ dataDir });
    const c = await connectWithin(broker.url);
    const recoveredCounts: Record<string, number> = {};
    try {
      const vch = await c.createConfirmChannel();
      const expectations: [string, string[], (i: number) => boolean][] = [
        [RA, Array.from({ length: shared }, (_, n) => `a${n}`), (i) => i < unackedOnA],
        [RB, Array.from({ length: shared - ackedOnB }, (_, n) => `a${n + ackedOnB}`), () => false],
        [RC, Array.from({ length: rcTotal }, (_, n) => n).filter((n) => !rcTransient(n)).map((n) => `c${n}`), () => false],
      ];
      for (const [q, ids, redelivered] of expectations) {
        const { got, left } = await drainQueue(vch, q, () => undefined, 120_000);
        recoveredCounts[q] = got.length;
        const add = (kind: string, bad: string[], detail?: string) => {
          if (bad.length > 0) violations.push({ kind, queue: q, ids: bad, ...(detail ? { detail } : {}) });
        };
        const gotIds = new Set(got.map((m) => m.id));
        add("lost", ids.filter((id) => !gotIds.has(id)));
        const expectedIds = new Set(ids);
        add("unexpected", got.filter((m) => !expectedIds.has(m.id)).map((m) => m.id), "acked, transient or unknown messages came back");
        add("duplicate", got.length > gotIds.size ? got.map((m) => m.id).filter((id, i, a) => a.indexOf(id) !== i) : []);
        add("corrupt", got.filter((m) => m.problem).map((m) => m.id), got.find((m) => m.problem)?.problem);
        const firstOutOfOrder = got.findIndex((m, i) => m.id !== ids[i]);
        if (firstOutOfOrder >= 0 && got.length === ids.length) {
          add("order", [got[firstOutOfOrder]!.id], `position ${firstOutOfOrder}: expected ${ids[firstOutOfOrder]}`);
        }
        add(
          "redelivered-flag",
          got.filter((m, i) => m.id === ids[i] && m.redelivered !== redelivered(i)).map((m) => `${m.id}=${m.redelivered}`),
        );
        if (left !== 0) add("not-empty", [], `${left} left after draining`);
      }
    } finally {
      await c.close().catch(() => {});
    }
    return { messages: opts.messages, attempts, recoveredCounts, violations };
  } finally {
    await broker?.kill9();
  }
}
