// basic.publish / consume / cancel / qos / get (acks are in ack.ts)
import { accessRefused, AmqpError, notImplemented, preconditionFailed } from "../../amqp/errors.ts";
import { PropertyFlag } from "../../amqp/spec/properties.gen.ts";
import { writeContent, writeMethodFrame } from "../../amqp/frames.ts";
import { ReplyCode } from "../../amqp/spec/constants.gen.ts";
import { type AmqpMethod, type BasicConsume, type BasicPublish, MethodId } from "../../amqp/spec/methods.gen.ts";
import type { Exchange } from "../../broker/exchange.ts";
import { Message } from "../../broker/message.ts";
import { generatedName } from "../../broker/names.ts";
import { consumerPriority } from "../../broker/queue_args.ts";
import { streamStart } from "../../broker/stream_args.ts";
import { Enqueued } from "../../broker/queue.ts";
import { publish as publishToExchange, type PublishContext, Published } from "../../broker/publish.ts";
import type { Channel, Content } from "../channel.ts";
import { Consumer } from "../consumer.ts";
import { handleAckMethod } from "./ack.ts";
import { queueNameOrLast } from "./queue.ts";
import { consumeReplies, deliverReply, REPLY_TO, stampReplyTo, stopReplies } from "../direct_reply_to.ts";
import { checkPublishTopic, checkPublishWrite, checkRead } from "../../auth/access.ts";

export function handleBasicMethod(channel: Channel, method: AmqpMethod, content: Content | undefined): void {
  switch (method.id) {
    case MethodId.BasicPublish:
      return publish(channel, method, content!);
    case MethodId.BasicConsume:
      return consume(channel, method);
    case MethodId.BasicCancel:
      return cancel(channel, method.consumerTag, method.nowait);
    case MethodId.BasicQos:
      return qos(channel, method.prefetchSize, method.prefetchCount, method.global);
    case MethodId.BasicGet:
      return get(channel, method.queue, method.noAck);
    default:
      return handleAckMethod(channel, method);
  }
}

function publish(channel: Channel, m: BasicPublish, content: Content): void {
  if (m.immediate) throw notImplemented("immediate=true");
  const vhost = channel.connection.vhost!;
  checkPublishWrite(channel, m.exchange);
  const exchange = vhost.exchanges.get(m.exchange);
  if (!exchange) throw new AmqpError(ReplyCode.NOT_FOUND, `no exchange '${m.exchange}' in vhost '${vhost.name}'`);
  if (exchange.internal) throw accessRefused(`cannot publish to internal ${exchange.describe()}`);
  checkPublishTopic(channel, exchange, m.routingKey);
  let message = new Message(m.exchange, m.routingKey, content.properties, content.body);
  checkUserId(channel, message);
  message.checkExpiration();
  message = stampReplyTo(channel, message.withoutBcc());
  if (channel.tx) {
    channel.tx.publishes.push({ exchange, message, mandatory: m.mandatory });
    return;
  }
  const seq = channel.confirm ? ++channel.publishSeq : 0;
  const outcome = routeMessage(channel, exchange, message, m.mandatory);
  if (seq !== 0) {
    channel.connection.confirm(channel, seq, (outcome & Enqueued.persisted) !== 0, (outcome & Enqueued.rejected) !== 0);
  }
}

/** A user_id property must name the authenticated user, unless that user may impersonate. */
function checkUserId(channel: Channel, message: Message): void {
  const raw = message.properties;
  if (raw.length < 2 || (((raw[0]! << 8) | raw[1]!) & PropertyFlag.userId) === 0) return; // cheap: no decode
  const user = channel.connection.user!;
  const claimed = message.props.userId;
  if (claimed !== user.name && !user.tags.includes("impersonator")) {
    throw preconditionFailed(`user_id property set to '${claimed}' but authenticated user was '${user.name}'`);
  }
}

/**
 * Routes and enqueues one message; unroutable mandatory messages come back as basic.return.
 * Returns the Enqueued bits of all queues: persisted (the confirm waits for the commit),
 * rejected (a full queue with x-overflow reject-publish refused it: the confirm is a nack).
 */
export function routeMessage(channel: Channel, exchange: Exchange, message: Message, mandatory: boolean): number {
  const ctx = (channel.publisher ??= publisherFor(channel));
  ctx.confirm = channel.confirm;
  const outcome = publishToExchange(ctx, exchange, message, mandatory);
  if ((outcome & Published.unroutable) !== 0 && mandatory) returnMessage(channel, message, ReplyCode.NO_ROUTE, "NO_ROUTE");
  return outcome;
}

/** The channel as a publisher: made once, reused for every message it publishes. */
function publisherFor(channel: Channel): PublishContext {
  const connection = channel.connection;
  const replies = connection.broker.replyChannels;
  return {
    scope: connection.vhost!,
    stats: connection.broker.stats,
    counters: channel.counters,
    confirm: channel.confirm,
    queues: new Set(),
    reply: (routingKey, message) => deliverReply(replies, routingKey, message),
    party: channel.party,
  };
}

function returnMessage(channel: Channel, message: Message, replyCode: number, replyText: string): void {
  const connection = channel.connection;
  const w = connection.output.writer;
  writeMethodFrame(w, channel.id, {
    id: MethodId.BasicReturn,
    replyCode,
    replyText,
    exchange: message.exchange,
    routingKey: message.routingKey,
  });
  writeContent(w, channel.id, message.properties, message.body, connection.frameMax);
  connection.output.schedule();
}

function consume(channel: Channel, m: BasicConsume): void {
  const connection = channel.connection;
  const vhost = connection.vhost!;
  const queueName = queueNameOrLast(channel, m.queue);
  if (m.consumerTag !== "" && (channel.consumers.has(m.consumerTag) || channel.replyConsumer?.tag === m.consumerTag)) {
    throw new AmqpError(ReplyCode.NOT_ALLOWED, `attempt to reuse consumer tag '${m.consumerTag}'`);
  }
  if (queueName === REPLY_TO) {
    const tag = consumeReplies(channel, m.consumerTag, m.noAck);
    if (!m.nowait) connection.send(channel.id, { id: MethodId.BasicConsumeOk, consumerTag: tag });
    return;
  }
  checkRead(connection, "queue", queueName);
  const queue = vhost.queue(queueName);
  vhost.checkExclusiveAccess(queue, connection);
  const priority = consumerPriority(m.arguments, queue.type, queue.describe());
  // A stream's consumers each read on their own: exclusive keeps nobody out (as RabbitMQ).
  if (queue.type !== "stream" && (queue.hasExclusiveConsumer() || (m.exclusive && queue.consumerCount > 0))) {
    throw accessRefused(`${queue.describe()} in exclusive use`);
  }
  if (queue.type === "quorum" && channel.globalPrefetch !== 0) throw notImplemented(`${queue.describe()} does not support global qos`);
  if (queue.type === "stream") checkStreamConsumer(channel, m, queue.describe());
  const tag = m.consumerTag === "" ? generatedName("amq.ctag") : m.consumerTag;
  const consumer = new Consumer(channel, tag, queue, m.noAck, m.exclusive, channel.consumerPrefetch, m.arguments, priority);
  channel.consumers.set(tag, consumer);
  if (!m.nowait) connection.send(channel.id, { id: MethodId.BasicConsumeOk, consumerTag: tag });
  queue.addConsumer(consumer);
  queue.drain();
}

/**
 * A stream consumer needs a prefetch (basic.qos) and manual acks, and a valid x-stream-offset, as
 * rabbit_stream_queue checks them (the prefetch first).
 */
function checkStreamConsumer(channel: Channel, m: BasicConsume, resource: string): void {
  if (channel.consumerPrefetch === 0) throw preconditionFailed(`consumer prefetch count is not set for '${resource}'`);
  if (m.noAck) throw notImplemented(`automatic acknowledgement not supported by stream queues ${resource}`);
  streamStart(m.arguments, resource);
}

function cancel(channel: Channel, tag: string, nowait: boolean): void {
  if (channel.replyConsumer?.tag === tag) stopReplies(channel);
  const consumer = channel.consumers.get(tag);
  if (consumer) {
    channel.consumers.delete(tag);
    consumer.queue.removeConsumer(consumer);
  }
  // Cancelling an unknown tag is fine, as the spec says.
  if (!nowait) channel.connection.send(channel.id, { id: MethodId.BasicCancelOk, consumerTag: tag });
  if (consumer) channel.connection.vhost!.consumerRemoved(consumer.queue);
}

function qos(channel: Channel, prefetchSize: number, prefetchCount: number, global: boolean): void {
  if (prefetchSize !== 0) throw notImplemented(`prefetch_size!=0 (${prefetchSize})`);
  if (global) channel.globalPrefetch = prefetchCount;
  else {
    // As RabbitMQ 3.x: a per-consumer qos also lifts the channel-wide limit.
    channel.consumerPrefetch = prefetchCount;
    channel.globalPrefetch = 0;
  }
  channel.connection.send(channel.id, { id: MethodId.BasicQosOk });
  for (const consumer of channel.consumers.values()) consumer.queue.drain();
}

function get(channel: Channel, queueParam: string, noAck: boolean): void {
  const connection = channel.connection;
  const vhost = connection.vhost!;
  const name = queueNameOrLast(channel, queueParam);
  checkRead(connection, "queue", name);
  const queue = vhost.queue(name);
  vhost.checkExclusiveAccess(queue, connection);
  queue.touch();
  const entry = queue.take();
  const stats = connection.broker.stats;
  if (!entry) {
    queue.counters.getEmpty++;
    channel.counters.getEmpty++;
    stats.getEmpty++;
    connection.send(channel.id, { id: MethodId.BasicGetEmpty, clusterId: "" });
    return;
  }
  const tag = ++channel.deliveryTag;
  if (!noAck) channel.unacked.add({ tag, entry, queue, consumer: null, at: Date.now() });
  queue.delivered(entry, noAck);
  if (noAck) {
    queue.counters.getNoAck++;
    channel.counters.getNoAck++;
    stats.deliveredGetAutoAck++;
  } else {
    queue.counters.get++;
    channel.counters.get++;
    stats.deliveredGetManualAck++;
  }
  if (entry.redelivered) {
    queue.counters.redeliver++;
    channel.counters.redeliver++;
    stats.redelivered++;
  }
  const message = entry.message;
  if (vhost.tracing) vhost.traceDelivered(channel.party, queue, message, entry.redelivered);
  const w = connection.output.writer;
  writeMethodFrame(w, channel.id, {
    id: MethodId.BasicGetOk,
    deliveryTag: tag,
    redelivered: entry.redelivered,
    exchange: message.exchange,
    routingKey: message.routingKey,
    messageCount: queue.messageCount,
  });
  writeContent(w, channel.id, queue.deliveryProperties(entry, true), message.body, connection.frameMax);
  connection.output.schedule();
}
