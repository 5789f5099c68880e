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
  const deliveries = collect(channel, tag, multiple);
  if (channel.tx) channel.tx.acks.push({ deliveries, how });
  else settle(channel, deliveries, how);
}

/**
 * Takes the deliveries an ack names out of the unacked map, as rabbit_channel:collect_acks:
 * the tag must be outstanding (406 otherwise); multiple covers every tag up to it; 0 with
 * multiple means all.
 */
function collect(channel: Channel, tag: DeliveryTag, multiple: boolean): Unacked[] {
  // A tag past 2^53 was never issued (the reader keeps it exact, as a bigint, for this text).
  if (typeof tag === "bigint") throw new AmqpError(ReplyCode.PRECONDITION_FAILED, `unknown delivery tag ${tag}`);
  const unacked = channel.unacked;
  if (multiple && tag === 0) {
    const all = [...unacked.values()];
    unacked.clear();
    return all;
  }
  const named = unacked.get(tag);
  if (!named) throw new AmqpError(ReplyCode.PRECONDITION_FAILED, `unknown delivery tag ${tag}`);
  if (!multiple) {
    unacked.delete(tag);
    return [named];
  }
  const out: Unacked[] = [];
  for (const [t, u] of unacked) {
    if (t > tag) break;
    out.push(u);
  }
  for (const u of out) unacked.delete(u.tag);
  return out;
}

/** Applies acks: frees prefetch credit, requeues or drops, then lets queues deliver again. */
export function settle(channel: Channel, deliveries: Unacked[], how: Settlement): void {
  const requeued = new Set<Queue>();
  for (const u of deliveries) {
    if (u.consumer) u.consumer.unacked--;
    if (how === "requeue") {
      u.queue.requeue(u.entry);
      requeued.add(u.queue);
    } else {
      if (how === "ack") {
        u.queue.counters.ack++;
        channel.counters.ack++;
        channel.connection.broker.stats.acknowledged++;
      }
      u.queue.discard(u.entry);
      if (how === "drop") u.queue.deadLetter?.(u.queue, u.entry.message, "rejected");
    }
  }
  for (const queue of requeued) queue.drain();
  for (const consumer of channel.consumers.values()) consumer.queue.drain();
}
