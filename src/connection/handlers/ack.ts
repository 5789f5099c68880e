// basic.ack / nack / reject / recover
import { AmqpError, notImplemented } from "../../amqp/errors.ts";
import { ReplyCode } from "../../amqp/spec/constants.gen.ts";
import { type AmqpMethod, MethodId } from "../../amqp/spec/methods.gen.ts";
import type { DeliveryTag } from "../../amqp/reader.ts";
import type { Queue } from "../../broker/queue.ts";
import type { Channel, Settlement, Unacked } from "../channel.ts";

export type { Settlement } from "../channel.ts";

export function handleAckMethod(channel: Channel, method: AmqpMethod): void {
  switch (method.id) {
    case MethodId.BasicAck:
      return settleTags(channel, method.deliveryTag, method.multiple, "ack");
    case MethodId.BasicNack:
      return settleTags(channel, method.deliveryTag, method.multiple, method.requeue ? "requeue" : "drop");
    case MethodId.BasicReject:
      return settleTags(channel, method.deliveryTag, false, method.requeue ? "requeue" : "drop");
    case MethodId.BasicRecoverAsync:
    case MethodId.BasicRecover:
      if (!method.requeue) throw notImplemented("requeue=false");
      channel.requeueAll();
      if (method.id === MethodId.BasicRecover) channel.connection.send(channel.id, { id: MethodId.BasicRecoverOk });
      return;
  }
}

function settleTags(channel: Channel, tag: DeliveryTag, multiple: boolean, how: Settlement): void {
  if (channel.tx) {
    channel.tx.acks.push({ deliveries: collect(channel, tag, multiple), how });
    return;
  }
  // Settled straight out of the unacked map: no array of deliveries per ack (the hot path).
  const unacked = channel.unacked;
  const touched = channel.settledQueues;
  if (!multiple) {
    const named = unackedDelivery(channel, tag);
    unacked.delete(named.tag);
    settleOne(channel, named, how, touched);
  } else {
    // Bounded by the tags issued so far: a dead-lettered message may be delivered back to this
    // channel while the loop runs, and that delivery is not part of this ack.
    const upTo = tag === 0 ? channel.deliveryTag : unackedDelivery(channel, tag).tag;
    for (let u = unacked.shiftUpTo(upTo); u !== undefined; u = unacked.shiftUpTo(upTo)) settleOne(channel, u, how, touched);
  }
  resumeQueues(channel, touched);
}

/** The outstanding delivery a tag names; 406 as rabbit_channel when there is none. */
function unackedDelivery(channel: Channel, tag: DeliveryTag): Unacked {
  // A tag past 2^53 was never issued (the reader keeps it exact, as a bigint, for this text).
  const named = typeof tag === "bigint" ? undefined : channel.unacked.get(tag);
  if (!named) throw new AmqpError(ReplyCode.PRECONDITION_FAILED, `unknown delivery tag ${tag}`);
  return named;
}

/**
 * Takes the deliveries an ack names out of the unacked map, as rabbit_channel:collect_acks:
 * the tag must be outstanding (406 otherwise); multiple covers every tag up to it; 0 with
 * multiple means all. (For transactions, which hold them until commit.)
 */
function collect(channel: Channel, tag: DeliveryTag, multiple: boolean): Unacked[] {
  const unacked = channel.unacked;
  const upTo = multiple && tag === 0 ? channel.deliveryTag : unackedDelivery(channel, tag).tag;
  if (!multiple) return [unacked.delete(upTo)!];
  const out: Unacked[] = [];
  for (let u = unacked.shiftUpTo(upTo); u !== undefined; u = unacked.shiftUpTo(upTo)) out.push(u);
  return out;
}

/** Applies acks held by a transaction: frees prefetch credit, requeues or drops, then lets queues deliver again. */
export function settle(channel: Channel, deliveries: Unacked[], how: Settlement): void {
  const touched = channel.settledQueues;
  for (const u of deliveries) settleOne(channel, u, how, touched);
  resumeQueues(channel, touched);
}

/** One delivery settled; `touched` collects the queues that may deliver again because of it. */
function settleOne(channel: Channel, u: Unacked, how: Settlement, touched: Set<Queue>): void {
  const queue = u.queue;
  if (how !== "ack" && queue.type === "stream") {
    throw notImplemented(`basic.nack and basic.reject not supported by stream queues ${queue.describe()}`);
  }
  if (u.consumer) {
    u.consumer.unacked--;
    touched.add(queue); // its consumer has credit again
  }
  if (how === "requeue") {
    queue.requeue(u.entry);
    touched.add(queue);
    return;
  }
  if (how === "ack") {
    queue.counters.ack++;
    channel.counters.ack++;
    channel.connection.broker.stats.acknowledged++;
  }
  queue.discard(u.entry);
  if (how === "drop") queue.host?.deadLetter(queue, u.entry.message, "rejected");
}

/**
 * Lets the queues whose consumers got credit back deliver again: only those, not every
 * consumer's queue, unless a channel-wide prefetch was freed (then all of the channel's).
 */
function resumeQueues(channel: Channel, touched: Set<Queue>): void {
  if (channel.globalPrefetch !== 0) { for (const consumer of channel.consumers.values()) touched.add(consumer.queue); }
  // Deleted one by one while iterating: cheaper than Set.clear, which reallocates its table.
  for (const queue of touched) {
    touched.delete(queue);
    queue.drain();
  }
}
