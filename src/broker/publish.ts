// The one publish pipeline: every message enters an exchange here — AMQP basic.publish (and tx
// commit), the HTTP publish endpoint, dead-lettering, and plugins (delayed release, shovel,
// federation). It validates, drops the BCC header, counts, lets the exchange type intercept,
// routes (CC/BCC keys, exchange-to-exchange bindings, alternate exchanges), and enqueues.
// Confirms and basic.return belong to the caller: it gets the outcome bits.
import type { Exchange } from "./exchange.ts";
import type { Message } from "./message.ts";
import { Enqueued, type Queue } from "./queue.ts";
import type { ChannelCounters, GlobalCounters } from "./stats.ts";
import type { TraceParty } from "./trace.ts";

/** The outcome of a publish: Enqueued's bits, plus unroutable (no queue took it). */
export const Published = { ...Enqueued, unroutable: 4 } as const;

/** Where a message is routed: a vhost (its exchanges, queues and bindings). */
export interface RoutingScope {
  route(exchange: Exchange, message: Message, out: Set<Queue>): void;
  /** Firehose tracing is on (trace.ts): client publishes are copied to amq.rabbitmq.trace. */
  readonly tracing?: boolean;
  tracePublished?(party: TraceParty, message: Message, routed: ReadonlySet<Queue>): void;
}

/** Who publishes. One per publisher, reused for each message (nothing allocated per publish). */
export interface PublishContext {
  readonly scope: RoutingScope;
  /** Broker-wide totals; absent when the broker republishes (dead letters). */
  readonly stats?: GlobalCounters;
  /** The publishing channel's counters (AMQP clients). */
  readonly counters?: ChannelCounters;
  /** Publisher confirms are on (counted in received_confirm). */
  confirm: boolean;
  /** Reused for the queues each message routes to. */
  readonly queues: Set<Queue>;
  /** Direct reply-to: delivers a reply to amq.rabbitmq.reply-to.*; false if its channel is gone. */
  readonly reply?: (routingKey: string, message: Message) => boolean;
  /** Dead-lettering: false for a queue the message must skip (an automatic cycle). */
  readonly accept?: (queue: Queue) => boolean;
  /** A client's channel: its publishes are traced while the vhost traces (trace.ts). */
  readonly party?: TraceParty;
}

const REPLY_TO = "amq.rabbitmq.reply-to";
const REPLY_PREFIX = `${REPLY_TO}.`;

/**
 * Publishes `message` to `exchange`. Throws AmqpError for an invalid expiration. Returns
 * Published bits: persisted (a confirm waits for the commit), rejected (a full queue refused
 * it: the confirm is a nack), unroutable (the caller returns it when `mandatory`).
 */
export function publish(ctx: PublishContext, exchange: Exchange, input: Message, mandatory: boolean): number {
  input.checkExpiration();
  const message = input.withoutBcc();
  const { stats, counters } = ctx;
  if (stats) {
    stats.received++;
    if (ctx.confirm) stats.receivedConfirm++;
  }
  if (counters) counters.publish++;
  // Exchange counters count what publishers sent (RabbitMQ counts channel publishes only).
  if (stats) exchange.counters.publishIn++;
  const key = message.routingKey;
  if (exchange.name === "" && ctx.reply && (key === REPLY_TO || key.startsWith(REPLY_PREFIX))) {
    // A direct reply-to reply goes to its channel, not through a queue.
    return ctx.reply(message.routingKey, message) ? Published.memory : Published.unroutable;
  }
  const intercept = exchange.exchangeType.intercept;
  if (intercept !== undefined) {
    const outcome = intercept.call(exchange.exchangeType, exchange, message, mandatory);
    if (outcome !== undefined) return outcome;
  }
  const queues = ctx.queues;
  if (queues.size !== 0) queues.clear(); // left over only when an earlier publish threw mid-way
  const scope = ctx.scope;
  scope.route(exchange, message, queues);
  if (scope.tracing === true && ctx.party !== undefined) scope.tracePublished!(ctx.party, message, queues);
  if (queues.size === 0) {
    countUnroutable(ctx, mandatory);
    return Published.unroutable;
  }
  if (stats) {
    stats.routed++;
    exchange.counters.publishOut++;
  }
  let outcome: number = Published.memory;
  const accept = ctx.accept;
  for (const queue of queues) {
    // Deleted one by one while iterating: cheaper than Set.clear, which reallocates its table.
    queues.delete(queue);
    if (accept === undefined || accept(queue)) outcome |= queue.enqueue(message);
  }
  return outcome;
}

/** Counts an unroutable message as returned (mandatory) or dropped. */
function countUnroutable(ctx: PublishContext, returned: boolean): void {
  if (returned) {
    if (ctx.stats) ctx.stats.unroutableReturned++;
    if (ctx.counters) ctx.counters.returnUnroutable++;
  } else {
    if (ctx.stats) ctx.stats.unroutableDropped++;
    if (ctx.counters) ctx.counters.dropUnroutable++;
  }
}
