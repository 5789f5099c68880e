// The console's live feed (GET /api/live): one server-sent event per second per subscriber with
// the overview's totals and per-second rates computed from the counters' change over that second,
// so charts move every second (the API's *_details rates are sampled every 5 s, as RabbitMQ's)
// and the console redraws without polling every list. `changed` names the kinds of objects that
// were created or deleted since the last event, so a page re-reads only its own list.
import type { User } from "../auth/users.ts";
import type { AmqpBroker } from "../connection/channel.ts";
import { every, type Timer } from "../runtime/timers.ts";
import { canSeeVhost, isMonitor } from "./auth.ts";
import { unackedByQueue } from "./unacked.ts";

export const LIVE_INTERVAL_MS = 1000;

/** The message counters the feed reports, with the rate of each. */
const COUNTERS = ["publish", "confirm", "deliver_get", "ack", "redeliver", "get_empty", "return_unroutable", "drop_unroutable"] as const;
type Counter = (typeof COUNTERS)[number];

export type ChangedKind = "connections" | "channels" | "exchanges" | "queues" | "bindings";

interface Totals {
  object_totals: { connections: number; channels: number; exchanges: number; queues: number; consumers: number };
  queue_totals: { messages: number; messages_ready: number; messages_unacknowledged: number };
}

export interface LiveEvent extends Totals {
  at: number;
  message_stats: Record<Counter, number>;
  rates: Record<Counter, number>;
  alarms: string[];
  changed: ChangedKind[];
}

interface Subscriber {
  user: User;
  send(event: LiveEvent): void;
  close(): void;
  last: { at: number; counters: Record<Counter, number> } | undefined;
  changed: Set<ChangedKind>;
}

function counters(broker: AmqpBroker): Record<Counter, number> {
  const s = broker.stats;
  return {
    publish: s.received,
    confirm: s.confirmed,
    deliver_get: s.delivered,
    ack: s.acknowledged,
    redeliver: s.redelivered,
    get_empty: s.getEmpty,
    return_unroutable: s.unroutableReturned,
    drop_unroutable: s.unroutableDropped,
  };
}

/** One per broker: a timer runs only while someone subscribes. */
export class LiveFeed {
  private readonly subscribers = new Set<Subscriber>();
  private timer: Timer | undefined;
  private unsubscribe: (() => void)[] = [];
  private openedClosed = { connections: -1, channels: -1 };

  constructor(private readonly broker: AmqpBroker) {}

  /** Sends the first event at once; returns the function that ends the subscription. */
  subscribe(user: User, send: (event: LiveEvent) => void, close: () => void): () => void {
    const sub: Subscriber = { user, send, close, last: undefined, changed: new Set() };
    this.subscribers.add(sub);
    if (this.subscribers.size === 1) this.start();
    this.emit(sub, Date.now());
    return () => {
      if (!this.subscribers.delete(sub)) return;
      if (this.subscribers.size === 0) this.stop();
    };
  }

  /** Ends every subscription (the broker stops). */
  closeAll(): void {
    for (const sub of [...this.subscribers]) sub.close();
    this.subscribers.clear();
    this.stop();
  }

  get size(): number {
    return this.subscribers.size;
  }

  private start(): void {
    const events = this.broker.events;
    const mark = (kind: ChangedKind) => () => {
      for (const sub of this.subscribers) sub.changed.add(kind);
    };
    this.unsubscribe = [
      events.on("queueCreated", mark("queues")),
      events.on("queueDeleted", mark("queues")),
      events.on("exchangeCreated", mark("exchanges")),
      events.on("exchangeDeleted", mark("exchanges")),
      events.on("bindingAdded", mark("bindings")),
      events.on("bindingRemoved", mark("bindings")),
    ];
    this.timer = every(LIVE_INTERVAL_MS, () => this.tick());
  }

  private stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
  }

  private tick(): void {
    // Connections and channels come and go without broker events: their churn counters tell.
    const s = this.broker.stats;
    const connections = s.connectionsOpened + s.connectionsClosed;
    const channels = s.channelsOpened + s.channelsClosed;
    for (const sub of this.subscribers) {
      if (connections !== this.openedClosed.connections) sub.changed.add("connections");
      if (channels !== this.openedClosed.channels) sub.changed.add("channels");
    }
    this.openedClosed = { connections, channels };
    const now = Date.now();
    // Subscribers of one user (several tabs) share one pass over the queues per tick.
    const totals = new Map<string, Totals>();
    for (const sub of [...this.subscribers]) {
      // A user deleted or changed (password, tags) since it subscribed: end the stream, so the
      // client must log in again (its next request is checked afresh).
      if (this.broker.users.get(sub.user.name) !== sub.user) {
        this.subscribers.delete(sub);
        sub.close();
        continue;
      }
      this.emit(sub, now, totals);
    }
    if (this.subscribers.size === 0) this.stop();
  }

  private emit(sub: Subscriber, now: number, totals = new Map<string, Totals>()): void {
    let t = totals.get(sub.user.name);
    if (!t) totals.set(sub.user.name, t = this.totals(sub.user));
    const event = this.event(sub, now, t);
    sub.changed.clear();
    try {
      sub.send(event);
    } catch {
      this.subscribers.delete(sub); // the stream is gone; its cancel() may not have run yet
    }
  }

  /** What `user` may see: the vhosts of its listings, its own connections unless monitoring. */
  private totals(user: User): Totals {
    const broker = this.broker;
    const unacked = unackedByQueue(broker);
    let exchanges = 0, queues = 0, consumers = 0, ready = 0, unackedCount = 0;
    for (const vhost of broker.vhosts.values()) {
      if (!canSeeVhost(broker, user, vhost.name, true)) continue;
      exchanges += vhost.exchanges.size;
      for (const queue of vhost.queues.values()) {
        queues++;
        consumers += queue.consumerCount;
        ready += queue.messageCount;
        unackedCount += unacked.get(queue)?.count ?? 0;
      }
    }
    let connections = 0, channels = 0;
    const monitor = isMonitor(user);
    for (const connection of broker.connections) {
      if (!monitor && connection.user?.name !== user.name) continue;
      connections++;
      channels += connection.channels.size;
    }
    return {
      object_totals: { connections, channels, exchanges, queues, consumers },
      queue_totals: { messages: ready + unackedCount, messages_ready: ready, messages_unacknowledged: unackedCount },
    };
  }

  /** The rates are this subscriber's own: the change since the event it was sent last. */
  private event(sub: Subscriber, now: number, totals: Totals): LiveEvent {
    const current = counters(this.broker);
    const rates = {} as Record<Counter, number>;
    const seconds = sub.last ? (now - sub.last.at) / 1000 : 0;
    for (const name of COUNTERS) {
      const delta = sub.last ? current[name] - sub.last.counters[name] : 0;
      rates[name] = seconds > 0 ? Math.round((delta / seconds) * 10) / 10 : 0;
    }
    sub.last = { at: now, counters: current };
    return {
      at: now,
      ...totals,
      message_stats: current,
      rates,
      alarms: [...this.broker.alarms.current],
      changed: [...sub.changed],
    };
  }
}

const feeds = new WeakMap<AmqpBroker, LiveFeed>();

export function liveFeedFor(broker: AmqpBroker): LiveFeed {
  let feed = feeds.get(broker);
  if (!feed) feeds.set(broker, feed = new LiveFeed(broker));
  return feed;
}
