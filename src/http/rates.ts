// Rates for the management API's *_details fields: counters and gauges are sampled every 5 s by
// an unref'd timer, and a rate is the change between the last two samples per second.
import type { AmqpBroker } from "../connection/channel.ts";
import { every, type Timer } from "../runtime/timers.ts";
import { unackedByQueue } from "./unacked.ts";
import { freeDiskBytes, openFileDescriptors, residentMemory } from "../runtime/system.ts";

export const SAMPLE_INTERVAL_MS = 5000;

/** One reading of an object's series. */
export interface Point {
  at: number;
  values: number[];
}

interface Sample extends Point {
  rates: number[];
  /** Older points, oldest first, once history is kept (see keepHistory). */
  history?: Point[];
}

/** Points kept per object once history is on: 10 minutes at 5 s, RabbitMQ's first retention tier. */
export const HISTORY_POINTS = 121;

/** What is sampled for each kind of object (the order is the rates' order). */
export const QUEUE_SERIES = [
  "publish",
  "deliver",
  "deliver_no_ack",
  "get",
  "get_no_ack",
  "get_empty",
  "ack",
  "redeliver",
  "messages",
  "messages_ready",
  "messages_unacknowledged",
] as const;
export const EXCHANGE_SERIES = ["publish_in", "publish_out"] as const;
export const GLOBAL_SERIES = [
  "publish",
  "deliver",
  "deliver_no_ack",
  "get",
  "get_no_ack",
  "get_empty",
  "ack",
  "redeliver",
  "confirm",
  "return_unroutable",
  "drop_unroutable",
  "messages",
  "messages_ready",
  "messages_unacknowledged",
  "connection_created",
  "connection_closed",
  "channel_created",
  "channel_closed",
  "queue_declared",
  "queue_created",
  "queue_deleted",
] as const;
export const CONNECTION_SERIES = ["recv_oct", "send_oct"] as const;
/** Node readings, sampled under the key broker.alarms. */
export const NODE_SERIES = ["mem_used", "disk_free", "fd_used", "sockets_used"] as const;
export const CHANNEL_SERIES = [
  "publish",
  "confirm",
  "return_unroutable",
  "drop_unroutable",
  "deliver",
  "deliver_no_ack",
  "get",
  "get_no_ack",
  "get_empty",
  "ack",
  "redeliver",
] as const;

export class RateSampler {
  private readonly samples = new WeakMap<object, Sample>();
  private timer: Timer | undefined;
  private history = false;

  constructor(private readonly broker: AmqpBroker) {}

  start(): void {
    this.sampleAll();
    this.timer ??= every(SAMPLE_INTERVAL_MS, () => this.sampleAll());
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Per-second rates of `key`'s series (zeros before two samples exist). */
  rates(key: object, length: number): number[] {
    return this.samples.get(key)?.rates ?? new Array<number>(length).fill(0);
  }

  /**
   * Keeps the last HISTORY_POINTS points of every object from now on: turned on by the first
   * request that asks for samples (`lengths_age` …), so a broker nobody asks keeps none.
   */
  keepHistory(): void {
    this.history = true;
  }

  /** `key`'s points, newest first (the last sample, then its history). */
  points(key: object): Point[] {
    const s = this.samples.get(key);
    if (!s) return [];
    const out: Point[] = [{ at: s.at, values: s.values }];
    for (let i = (s.history?.length ?? 0) - 1; i >= 0; i--) out.push(s.history![i]!);
    return out;
  }

  private record(key: object, values: number[], now: number): void {
    const last = this.samples.get(key);
    if (!last) {
      this.samples.set(key, { at: now, values, rates: values.map(() => 0) });
      return;
    }
    const seconds = (now - last.at) / 1000;
    const rates = values.map((v, i) => (seconds > 0 ? round((v - last.values[i]!) / seconds) : 0));
    const history = last.history ?? (this.history ? [] : undefined);
    if (history) {
      history.push({ at: last.at, values: last.values });
      if (history.length > HISTORY_POINTS - 1) history.shift();
    }
    this.samples.set(key, history ? { at: now, values, rates, history } : { at: now, values, rates });
  }

  sampleAll(now = Date.now()): void {
    const broker = this.broker;
    const unacked = unackedByQueue(broker);
    let ready = 0, unackedTotal = 0;
    for (const vhost of broker.vhosts.values()) {
      for (const queue of vhost.queues.values()) {
        const c = queue.counters;
        const u = unacked.get(queue)?.count ?? 0;
        ready += queue.messageCount;
        unackedTotal += u;
        this.record(queue, [
          c.publish,
          c.deliver,
          c.deliverNoAck,
          c.get,
          c.getNoAck,
          c.getEmpty,
          c.ack,
          c.redeliver,
          queue.messageCount + u,
          queue.messageCount,
          u,
        ], now);
      }
      for (const exchange of vhost.exchanges.values()) {
        this.record(exchange, [exchange.counters.publishIn, exchange.counters.publishOut], now);
      }
    }
    for (const connection of broker.connections) {
      this.record(connection, [connection.bytesReceived, connection.output.bytesSent], now);
      for (const channel of connection.channels.values()) {
        const c = channel.counters;
        this.record(channel, [
          c.publish,
          c.confirm,
          c.returnUnroutable,
          c.dropUnroutable,
          c.deliver,
          c.deliverNoAck,
          c.get,
          c.getNoAck,
          c.getEmpty,
          c.ack,
          c.redeliver,
        ], now);
      }
    }
    this.record(broker.alarms, nodeReadings(broker), now);
    const s = broker.stats;
    const churn = queueChurn(broker);
    this.record(broker, [
      s.received,
      s.deliveredConsumeManualAck,
      s.deliveredConsumeAutoAck,
      s.deliveredGetManualAck,
      s.deliveredGetAutoAck,
      s.getEmpty,
      s.acknowledged,
      s.redelivered,
      s.confirmed,
      s.unroutableReturned,
      s.unroutableDropped,
      ready + unackedTotal,
      ready,
      unackedTotal,
      s.connectionsOpened,
      s.connectionsClosed,
      s.channelsOpened,
      s.channelsClosed,
      churn.declared,
      churn.created,
      churn.deleted,
    ], now);
  }
}

/** Memory, free disk, open fds and sockets now (free disk 0 when unreadable). */
export function nodeReadings(broker: AmqpBroker): number[] {
  let disk = 0;
  try {
    disk = freeDiskBytes(broker.options.dataDir);
  } catch {
    // unreadable: 0, and the disk alarm keeps its last state
  }
  return [residentMemory(), disk, openFileDescriptors(), broker.connections.size + broker.protocolConnections.size];
}

/** Queue churn over every vhost. */
export function queueChurn(broker: AmqpBroker): { declared: number; created: number; deleted: number } {
  let declared = 0, created = 0, deleted = 0;
  for (const vhost of broker.vhosts.values()) {
    declared += vhost.queuesDeclared;
    created += vhost.queuesCreated;
    deleted += vhost.queuesDeleted;
  }
  return { declared, created, deleted };
}

function round(rate: number): number {
  return Math.round(rate * 10) / 10;
}

const samplers = new WeakMap<AmqpBroker, RateSampler>();

/** The broker's sampler, started on first use and stopped with the broker. */
export function ratesFor(broker: AmqpBroker): RateSampler {
  let sampler = samplers.get(broker);
  if (!sampler) {
    samplers.set(broker, sampler = new RateSampler(broker));
    sampler.start();
    broker.onStop(() => sampler!.stop());
  }
  return sampler;
}
