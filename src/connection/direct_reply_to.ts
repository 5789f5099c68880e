// Direct reply-to (amq.rabbitmq.reply-to): an RPC client consumes from the pseudo-queue with
// no-ack; requests it publishes carry reply_to "amq.rabbitmq.reply-to.<suffix>", and replies
// published to that name on the default exchange go straight to its channel, with no queue.
import { preconditionFailed } from "../amqp/errors.ts";
import { writeDeliver } from "../amqp/frames.ts";
import { encodeProperties, PropertyFlag } from "../amqp/spec/properties.gen.ts";
import { Writer } from "../amqp/writer.ts";
import { Message } from "../broker/message.ts";
import { generatedName } from "../broker/names.ts";
import type { Channel } from "./channel.ts";

export const REPLY_TO = "amq.rabbitmq.reply-to";
const PREFIX = `${REPLY_TO}.`;

/** Channels with a reply consumer, by the suffix of their reply-to name (Broker.replyChannels: one per broker, a reply may come from any vhost, as in RabbitMQ). */
export type ReplyChannels = ReadonlyMap<string, Channel>;

export function isReplyTo(name: string): boolean {
  return name === REPLY_TO || name.startsWith(PREFIX);
}

/** basic.consume on amq.rabbitmq.reply-to; returns the consumer tag. */
export function consumeReplies(channel: Channel, tag: string, noAck: boolean): string {
  if (!noAck) throw preconditionFailed("reply consumer cannot acknowledge");
  if (channel.replyConsumer) throw preconditionFailed("reply consumer already set");
  const consumer = { tag: tag === "" ? generatedName("amq.ctag") : tag, suffix: generatedName("amq.gen").slice(8) };
  channel.replyConsumer = consumer;
  channel.connection.broker.replyChannels.set(consumer.suffix, channel);
  return consumer.tag;
}

/** The channel's reply consumer goes (basic.cancel, channel or connection closed). */
export function stopReplies(channel: Channel): void {
  channel.stopReplies();
}

/** Whether `name` (the bare pseudo-queue or a live reply-to name) exists, for queue.declare. */
export function replyToExists(channels: ReplyChannels, name: string): boolean {
  return name === REPLY_TO || (name.startsWith(PREFIX) && channels.has(name.slice(PREFIX.length)));
}

/** A request with reply_to "amq.rabbitmq.reply-to" gets the channel's own reply-to name. */
export function stampReplyTo(channel: Channel, message: Message): Message {
  const raw = message.properties;
  if (raw.length < 2 || (((raw[0]! << 8) | raw[1]!) & PropertyFlag.replyTo) === 0) return message;
  if (message.props.replyTo !== REPLY_TO) return message;
  const consumer = channel.replyConsumer;
  if (!consumer) throw preconditionFailed("fast reply consumer does not exist");
  const w = new Writer(raw.length + 64);
  encodeProperties(w, { ...message.props, replyTo: PREFIX + consumer.suffix });
  return new Message(message.exchange, message.routingKey, w.written().slice(), message.body);
}

/** A reply published to amq.rabbitmq.reply-to.<suffix>: delivered if its channel is still there. */
export function deliverReply(channels: ReplyChannels, routingKey: string, message: Message): boolean {
  const channel = channels.get(routingKey.slice(PREFIX.length));
  const consumer = channel?.replyConsumer;
  if (!channel || !consumer || channel.state !== "open") return false;
  const connection = channel.connection;
  writeDeliver(
    connection.output.writer,
    channel.id,
    consumer.tag,
    ++channel.deliveryTag,
    false,
    message.exchange,
    routingKey,
    message.properties,
    message.body,
    connection.frameMax,
  );
  connection.output.schedule();
  return true;
}
