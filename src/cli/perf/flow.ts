// The message flow of a run: its producers and consumers, the closed-loop cap that holds
// producers back while too many messages are in flight, totals, window snapshots for rates and
// CPU per message, and the once-a-second progress line.
import { Consumer, type ConsumeSpec } from "./consumer.ts";
import { ExitCode, PerfError } from "./errors.ts";
import { Histogram } from "./histogram.ts";
import { Publisher, type PublishGate, type PublishSpec } from "./publisher.ts";
import { cpuMicros, group, us } from "./report.ts";
import type { PerfOptions } from "./options.ts";
import type { Run } from "./run.ts";
import { removeTopology, type Topology } from "./topology.ts";

/** Counters at one moment, for rates over a window. */
export interface Snapshot {
  at: number;
  cpu: number;
  published: number;
  confirmed: number;
  consumed: number;
  /** Deliveries of any message, this run's or not (the client's work either way). */
  received: number;
}

export class Flow implements PublishGate {
  readonly latency = new Histogram();
  readonly confirmLatency = new Histogram();
  readonly publishers: Publisher[] = [];
  readonly consumers: Consumer[] = [];
  stopped = false;
  private ticker: ReturnType<typeof setInterval> | undefined;

  readonly refill: number;

  /** `maxBacklog` 0: open loop. */
  constructor(private readonly run: Run, private readonly maxBacklog: number) {
    this.refill = Math.max(1, Math.floor(maxBacklog / 8));
  }

  /**
   * Published but not yet consumed or returned. Kept as a running count because every producer
   * asks room() on every wake: summing over all producers and consumers there made the cost per
   * message grow with producers × consumers (1.8 µs/msg at 20 × 20).
   */
  private flying = 0;

  room(): number {
    if (this.maxBacklog === 0 || this.consumers.length === 0) return Infinity;
    return this.maxBacklog - this.flying;
  }

  inFlight(delta: number): void {
    this.flying += delta;
  }

  private wakeScheduled = false;
  /**
   * Consumers call it after a chunk of deliveries: producers held back by the cap go on. The
   * publish happens on the next turn, not inside the consumer socket's data callback: publishing
   * from there (a write to another socket) gave a third of the rate with 5 or 20 consumers
   * against Warren. That was measured with the tool in the broker's session on a loaded machine,
   * which skews rates by itself (docs/perf.md, "Many connections on a shared machine").
   */
  readonly wake = (consumed: number): void => {
    this.flying -= consumed;
    this.run.poke();
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(this.wakeNow);
  };
  private readonly wakeNow = (): void => {
    this.wakeScheduled = false;
    for (const p of this.publishers) p.pump();
  };

  /** Publishers call it after a chunk of confirms. */
  progressed(): void {
    this.run.poke();
  }

  async addConsumers(count: number, spec: ConsumeSpec): Promise<void> {
    for (let i = 0; i < count; i++) {
      const consumer = new Consumer(await this.run.connect(`consumer ${i + 1}`), spec, this.latency);
      consumer.onProgress = this.wake;
      await this.run.rpc(`basic.consume on "${spec.queue}"`, consumer.start(`${this.run.prefix}-c${i + 1}`));
      this.consumers.push(consumer);
    }
  }

  async addPublishers(count: number, spec: PublishSpec): Promise<void> {
    for (let i = 0; i < count; i++) {
      const publisher = new Publisher(await this.run.connect(`producer ${i + 1}`), spec, this, this.confirmLatency);
      await this.run.rpc("confirm.select", publisher.prepare());
      this.publishers.push(publisher);
    }
  }

  start(): void {
    for (const p of this.publishers) p.start();
  }

  stopPublishing(): void {
    this.stopped = true;
    for (const p of this.publishers) p.stop();
  }

  /** Acks what consumers hold (so nothing is requeued on close). */
  ackAll(): void {
    for (const c of this.consumers) c.ackAll();
  }

  get published(): number {
    return sum(this.publishers, (p) => p.published);
  }
  get confirmed(): number {
    return sum(this.publishers, (p) => p.confirmed);
  }
  get nacked(): number {
    return sum(this.publishers, (p) => p.nacked);
  }
  get returned(): number {
    return sum(this.publishers, (p) => p.returned);
  }
  get outstanding(): number {
    return sum(this.publishers, (p) => p.outstanding);
  }
  get consumed(): number {
    return sum(this.consumers, (c) => c.consumed);
  }
  get foreign(): number {
    return sum(this.consumers, (c) => c.foreign);
  }
  get redelivered(): number {
    return sum(this.consumers, (c) => c.redelivered);
  }

  snapshot(): Snapshot {
    return {
      at: performance.now(),
      cpu: cpuMicros(),
      published: this.published,
      confirmed: this.confirmed,
      consumed: this.consumed,
      received: this.consumed + this.foreign,
    };
  }

  /** Every message published was consumed (or returned) and every confirm arrived. */
  settled(): boolean {
    if (this.outstanding > 0) return false;
    return this.consumers.length === 0 || this.consumed + this.returned >= this.published;
  }

  /** The failure to report for what the counters show, if any. */
  accountingProblem(expectDelivery: boolean): PerfError | undefined {
    const problems: string[] = [];
    if (this.nacked > 0) problems.push(`${group(this.nacked)} publishes were nacked by the broker`);
    if (this.outstanding > 0) problems.push(`${group(this.outstanding)} publishes were never confirmed`);
    const missing = this.published - this.returned - this.consumed;
    if (expectDelivery && this.consumers.length > 0 && missing > 0) {
      problems.push(`${group(missing)} of ${group(this.published)} published messages were not consumed`);
    }
    return problems.length ? new PerfError(ExitCode.MESSAGES, problems.join("; ")) : undefined;
  }

  /** One line per second on stderr: rates, latency percentiles of that second, unconfirmed. */
  startProgress(): void {
    if (this.run.opts.quiet) return;
    const started = performance.now();
    let last = this.snapshot();
    let latencyBefore = this.latency.snapshot();
    let confirmBefore = this.confirmLatency.snapshot();
    this.ticker = setInterval(() => {
      const now = this.snapshot();
      const secs = (now.at - last.at) / 1000;
      const rate = (a: number, b: number) => group(Math.round((b - a) / secs));
      const parts = [`${Math.round((now.at - started) / 1000)}s`];
      if (this.publishers.length) parts.push(`sent ${rate(last.published, now.published)}/s`);
      const confirms = this.run.opts.confirm > 0;
      if (confirms) parts.push(`confirmed ${rate(last.confirmed, now.confirmed)}/s`);
      if (this.consumers.length) parts.push(`received ${rate(last.consumed, now.consumed)}/s`);
      const p50 = this.latency.percentileSince(latencyBefore, 50);
      if (p50 !== undefined) parts.push(`latency p50 ${us(p50)} p99 ${us(this.latency.percentileSince(latencyBefore, 99))}`);
      const c50 = this.confirmLatency.percentileSince(confirmBefore, 50);
      if (c50 !== undefined) parts.push(`confirm p50 ${us(c50)} p99 ${us(this.confirmLatency.percentileSince(confirmBefore, 99))}`);
      if (confirms) parts.push(`unconfirmed ${group(this.outstanding)}`);
      if (this.publishers.some((p) => p.conn.brokerBlocked)) parts.push("BLOCKED by the broker");
      this.run.io.stderr(`perf ${this.run.opts.scenario}: ${parts.join("  ")}\n`);
      last = now;
      latencyBefore = this.latency.snapshot();
      confirmBefore = this.confirmLatency.snapshot();
    }, 1000);
  }

  stopProgress(): void {
    clearInterval(this.ticker);
  }

  /** The scenario is over (or failed): stop, close every connection, delete what the run made up. */
  async end(topology: Topology | undefined): Promise<string | undefined> {
    this.stopProgress();
    this.stopPublishing();
    await this.run.closeAll();
    return removeTopology(this.run, topology);
  }
}

/** What each producer of a message-flow scenario publishes: the options, to the topology's names. */
export function publishSpec(o: PerfOptions, topology: Topology, limit: number): PublishSpec {
  const { exchange, routingKeys } = topology;
  return {
    exchange,
    routingKeys,
    size: o.size,
    persistent: o.persistent,
    mandatory: o.mandatory,
    confirmWindow: o.confirm,
    rate: o.rate,
    limit,
  };
}

export function consumeSpec(o: PerfOptions, topology: Topology): ConsumeSpec {
  return { queue: topology.queue, autoAck: o.autoAck, prefetch: o.prefetch, ackEvery: o.multiAck };
}

function sum<T>(items: T[], f: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += f(item);
  return total;
}

/** Rates and client CPU over a window [a, b]. */
export function windowMetrics(a: Snapshot, b: Snapshot): Record<string, number> {
  const secs = (b.at - a.at) / 1000;
  const handled = b.published - a.published + (b.received - a.received);
  const cpu = b.cpu - a.cpu;
  return {
    duration_s: secs,
    publish_rate: Math.round((b.published - a.published) / secs),
    confirm_rate: Math.round((b.confirmed - a.confirmed) / secs),
    consume_rate: Math.round((b.received - a.received) / secs),
    client_cpu_pct: (cpu / 1e6 / secs) * 100,
    // As amqpload's gen_us_per_msg: CPU over messages handled (published + consumed).
    client_cpu_us_per_msg: handled > 0 ? cpu / handled : NaN,
  };
}
