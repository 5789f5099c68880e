// One AMQP channel: content assembly, dispatch to the method handlers, the deliveries it holds,
// and its consumers. The handlers are given by whoever opens channels (src/connection/accept.ts),
// so that nothing here imports them: they import this module.
import { AmqpError, commandInvalid, preconditionFailed, unexpectedFrame } from "../amqp/errors.ts";
import { type ContentHeader, readContentHeaderInto, writeDeliver } from "../amqp/frames.ts";
import type { Reader } from "../amqp/reader.ts";
import { FRAME_BODY, ReplyCode } from "../amqp/spec/constants.gen.ts";
import { type AmqpMethod, MethodId, methodName, METHODS } from "../amqp/spec/methods.gen.ts";
import type { FieldTable } from "../amqp/table.ts";
import type { Broker } from "../broker/broker.ts";
import type { Exchange } from "../broker/exchange.ts";
import type { Message } from "../broker/message.ts";
import type { PublishContext } from "../broker/publish.ts";
import type { TraceParty } from "../broker/trace.ts";
import type { Queue, QueueConsumer } from "../broker/queue.ts";
import type { QueueEntry } from "../broker/queue_entry.ts";
import type { Connection } from "./connection.ts";
import { ChannelCounters } from "../broker/stats.ts";
import { growBody, releaseBody } from "./body_buffer.ts";
import { type Unacked, UnackedDeliveries } from "./unacked_deliveries.ts";

/** A connection whose channels are AMQP channels. */
export type AmqpConnection = Connection<Channel>;
/** The broker as the AMQP layer and the management API see it: its connections are AMQP connections. */
export type AmqpBroker = Broker<AmqpConnection, Channel>;

/**
 * A message's content as it arrived: encoded properties (passed through) and the body. The
 * channel hands the same object to every publish (nothing allocated per message): a handler
 * keeps the two arrays, never the object.
 */
export interface Content {
  properties: Uint8Array;
  body: Uint8Array;
}

/** The method handlers of a channel (handlers/registry.ts). */
export interface ChannelMethods {
  /** Methods a client may send on a channel; anything else is 503 "unimplemented method". */
  accepts(id: number): boolean;
  handle(channel: Channel, method: AmqpMethod, content: Content | undefined): void;
}

/** How a settled delivery ends: acked, back to its queue, or dropped (dead-lettered). */
export type Settlement = "ack" | "requeue" | "drop";

/** Publishes and acks held back until tx.commit. */
export interface TxState {
  publishes: { exchange: Exchange; message: Message; mandatory: boolean }[];
  acks: { deliveries: Unacked[]; how: Settlement }[];
}

/** The direct reply-to consumer of a channel (direct_reply_to.ts). */
export interface ReplyConsumer {
  tag: string;
  suffix: string;
}

export type ChannelState =
  | "opening" // created by its first frame, which must be channel.open
  | "open"
  | "closing" // channel.close sent by the broker, awaiting close-ok
  | "closed"; // close-ok exchanged (or the connection closed): nothing more is sent on it

/** A method with content, waiting for its header and body frames (one object per channel, reused). */
interface PendingContent {
  method: AmqpMethod | undefined;
  classId: number;
  bodySize: number;
  properties: Uint8Array | undefined;
  body: Uint8Array | undefined;
  received: number;
  /** Larger than max_message_size: counted, not buffered. */
  oversized: boolean;
}

export type { Unacked } from "./unacked_deliveries.ts";

const NO_BODY = new Uint8Array(0);

export class Channel {
  state: ChannelState = "opening";
  /** The content being received (`reusable` while one is under way), else undefined. */
  private pending: PendingContent | undefined;
  /** Reused for every content, so that assembling one allocates nothing but its bytes. */
  private readonly reusable: PendingContent = {
    method: undefined,
    classId: 0,
    bodySize: 0,
    properties: undefined,
    body: undefined,
    received: 0,
    oversized: false,
  };
  private readonly header: ContentHeader = { classId: 0, bodySize: 0, properties: NO_BODY };
  private readonly content: Content = { properties: NO_BODY, body: NO_BODY };

  // Deliveries and acks
  deliveryTag = 0;
  /** Deliveries awaiting ack, in delivery-tag order. */
  readonly unacked = new UnackedDeliveries();
  readonly consumers = new Map<string, Consumer>();
  /** Scratch for acks: the queues that may deliver again (reused, emptied after each ack). */
  readonly settledQueues = new Set<Queue>();
  /** basic.qos global=false: the prefetch given to consumers created from now on. */
  consumerPrefetch = 0;
  /** basic.qos global=true: shared by all consumers on the channel; 0 = none. */
  globalPrefetch = 0;
  /** The queue named by the last queue.declare, used when a method leaves the queue name empty. */
  lastQueue = "";

  // Publishing
  /** This channel as a publisher (made at its first publish, reused: nothing allocated per message). */
  publisher: PublishContext | undefined;
  private traceParty: TraceParty | undefined;
  /** Who publishes and consumes here, as firehose tracing names it (trace.ts). */
  get party(): TraceParty {
    const c = this.connection;
    return (this.traceParty ??= { node: c.broker.alarms.node, connection: c.name, channel: this.id, user: c.user?.name ?? "" });
  }
  confirm = false;
  /** Sequence number of the last publish in confirm mode. */
  publishSeq = 0;
  /** Highest sequence number confirmed but not yet acked to the client. */
  confirmedUpTo = 0;
  /** Highest sequence number acked to the client. */
  confirmSent = 0;
  /** Confirms held until the store commits (later confirms queue behind them). */
  confirmsAwaitingCommit = 0;
  tx: TxState | undefined;
  // The last publish permission verdicts (auth/access.ts), valid while Users.version is unchanged.
  writeAllowedExchange: string | undefined;
  writeAllowedVersion = -1;
  topicAllowedExchange: unknown;
  topicAllowedKey = "";
  topicAllowedVersion = -1;
  /** The direct reply-to consumer (basic.consume on amq.rabbitmq.reply-to). */
  replyConsumer: ReplyConsumer | undefined;

  /** Message counters for the management API and metrics. */
  readonly counters = new ChannelCounters();

  constructor(readonly connection: AmqpConnection, readonly id: number, private readonly methods: ChannelMethods) {}

  onMethod(method: AmqpMethod): void {
    if (this.state === "closing") {
      // RabbitMQ ignores everything on a closing channel except the close handshake.
      if (method.id === MethodId.ChannelCloseOk) this.finishClose();
      else if (method.id === MethodId.ChannelClose) this.connection.send(this.id, { id: MethodId.ChannelCloseOk });
      return;
    }
    try {
      if (this.pending) {
        throw unexpectedFrame(
          this.pending.properties
            ? "expected content body, got non content body frame instead"
            : `expected content header for class ${this.pending.classId}, got non content header frame instead`,
        );
      }
      this.dispatch(method);
    } catch (err) {
      this.fail(err, method);
    }
  }

  /** Forgets the content being received, releasing what its buffer held. */
  private dropPending(): void {
    const pending = this.pending;
    if (pending === undefined) return;
    const body = pending.body;
    this.pending = undefined;
    pending.method = undefined;
    pending.properties = undefined;
    pending.body = undefined;
    if (body !== undefined) releaseBody(body.length, this.connection.partialBodies, this.connection.broker.partialBodies);
  }

  private dispatch(method: AmqpMethod): void {
    if (this.state === "opening" && method.id !== MethodId.ChannelOpen) {
      throw new AmqpError(ReplyCode.CHANNEL_ERROR, "expected 'channel.open'");
    }
    if (!this.methods.accepts(method.id)) throw commandInvalid(`unimplemented method ${methodName(method.id)}`);
    if (method.id === MethodId.BasicPublish || METHODS.get(method.id)?.content) {
      const pending = (this.pending = this.reusable);
      pending.method = method;
      pending.classId = method.id >>> 16;
      pending.bodySize = 0;
      pending.properties = undefined;
      pending.body = undefined;
      pending.received = 0;
      pending.oversized = false;
      // As rabbit_reader: during a resource alarm the connection is blocked at the publish
      // method frame, before its body is read, so no body grows while memory is short.
      this.connection.publishReceived();
      return;
    }
    this.methods.handle(this, method, undefined);
  }

  onContentFrame(type: number, r: Reader): void {
    if (this.state === "closing") return;
    const pending = this.pending;
    const method = pending?.method; // kept: completing the content clears the reused object
    try {
      if (!pending) throw unexpectedFrame("expected method frame, got non method frame instead");
      if (type === FRAME_BODY) return this.onBody(pending, r);
      if (pending.properties) throw unexpectedFrame("expected content body, got non content body frame instead");
      const header = readContentHeaderInto(r, this.header);
      if (header.classId !== pending.classId) {
        throw unexpectedFrame(
          `expected content header for class ${pending.classId}, got one for class ${header.classId} instead`,
        );
      }
      pending.properties = header.properties;
      pending.bodySize = header.bodySize;
      // An oversized body is counted but not kept; the 406 comes once it has all arrived, as in RabbitMQ.
      pending.oversized = header.bodySize > this.connection.broker.options.maxMessageSize;
      if (header.bodySize === 0) this.completeContent(pending, NO_BODY);
    } catch (err) {
      this.fail(err, method);
    }
  }

  private onBody(pending: PendingContent, r: Reader): void {
    if (!pending.properties) {
      throw unexpectedFrame(`expected content header for class ${pending.classId}, got non content header frame instead`);
    }
    const length = r.end - r.pos;
    if (pending.received + length > pending.bodySize) {
      // As RabbitMQ: the content can never complete now, and the next non-body frame is a 505.
      pending.received = Infinity;
      if (pending.body !== undefined) {
        releaseBody(pending.body.length, this.connection.partialBodies, this.connection.broker.partialBodies);
        pending.body = undefined;
      }
      return;
    }
    if (pending.oversized) {
      pending.received += length;
      if (pending.received === pending.bodySize) {
        this.dropPending();
        const max = this.connection.broker.options.maxMessageSize;
        throw preconditionFailed(`message size ${pending.bodySize} is larger than configured max size ${max}`);
      }
      return;
    }
    if (length === pending.bodySize) {
      // The whole body in one frame: one copy out of the socket chunk.
      this.completeContent(pending, r.bytes.slice(r.pos, r.end));
      return;
    }
    // Grown with the bytes that arrive, never reserved at the declared size (body_buffer.ts).
    pending.body = growBody(
      pending.body,
      pending.received,
      length,
      pending.bodySize,
      this.connection.partialBodies,
      this.connection.broker.partialBodies,
    );
    pending.body.set(r.bytes.subarray(r.pos, r.end), pending.received);
    pending.received += length;
    if (pending.received === pending.bodySize) this.completeContent(pending, pending.body);
  }

  private completeContent(pending: PendingContent, body: Uint8Array): void {
    const method = pending.method!;
    const content = this.content;
    content.properties = pending.properties!;
    content.body = body;
    this.dropPending();
    this.methods.handle(this, method, content);
    content.properties = NO_BODY;
    content.body = NO_BODY;
    this.connection.publishReceived();
  }

  /**
   * The reply to a method that changed durable state (declare, bind, delete, purge, tx.commit):
   * sent once what it changed is committed, as RabbitMQ replies after its metadata transaction,
   * so a client told "declared" never finds it gone after a crash. At once when nothing is pending.
   * Replies and notices registered in one turn go out in that order. Nothing is sent on a channel
   * closed meanwhile, nor after a connection.close (a vhost deleted): that is the last word.
   */
  replyAfterCommit(method: AmqpMethod): void {
    const store = this.connection.broker.store;
    if (!store) {
      this.connection.send(this.id, method);
      return;
    }
    store.afterCommit(() => {
      if (this.state === "open" && this.connection.state === "running") this.connection.send(this.id, method);
    });
  }

  /** Soft errors close this channel; hard ones go up to the connection. */
  private fail(err: unknown, method: AmqpMethod | undefined): void {
    if (err instanceof AmqpError && method && err.classId === 0) {
      err.classId = method.id >>> 16;
      err.methodId = method.id & 0xffff;
    }
    if (err instanceof AmqpError && !err.hard) this.closeWithError(err);
    else throw err;
  }

  /** Broker-side channel.close after a soft error; frames are ignored until close-ok. */
  closeWithError(error: AmqpError): void {
    this.connection.broker.log.error(`channel error on connection ${this.connection.name}, channel ${this.id}: ${error.replyText}`);
    this.dropPending();
    this.release();
    this.state = "closing";
    this.connection.send(this.id, {
      id: MethodId.ChannelClose,
      replyCode: error.code,
      replyText: error.replyText,
      classId: error.classId,
      methodId: error.methodId,
    });
  }

  /** The close handshake is complete: free the channel number; late confirms and replies are dropped. */
  finishClose(): void {
    this.state = "closed";
    this.release();
    this.connection.removeChannel(this);
  }

  /**
   * Releases what the channel holds when it closes or its connection goes: consumers are
   * cancelled and every unacked message goes back to its queue, in order.
   */
  release(): void {
    this.state = "closed"; // nothing more is written on it (closeWithError then waits for close-ok)
    this.dropPending();
    // Acks held in an open transaction never happened: those deliveries go back too.
    for (const held of this.tx?.acks ?? []) this.unacked.addAll(held.deliveries);
    this.tx = undefined;
    const vhost = this.connection.vhost;
    for (const consumer of this.consumers.values()) {
      consumer.queue.removeConsumer(consumer);
      vhost?.consumerRemoved(consumer.queue);
    }
    this.consumers.clear();
    this.stopReplies();
    this.requeueAll();
  }

  /** The channel's reply consumer goes (basic.cancel, channel or connection closed). */
  stopReplies(): void {
    if (this.replyConsumer) this.connection.broker.replyChannels.delete(this.replyConsumer.suffix);
    this.replyConsumer = undefined;
  }

  /** Requeues every unacked delivery (channel close, basic.recover) and lets queues redeliver. */
  requeueAll(): void {
    const touched = new Set<Queue>();
    for (const u of this.unacked.values()) {
      u.queue.requeue(u.entry);
      touched.add(u.queue);
    }
    this.unacked.clear();
    for (const consumer of this.consumers.values()) consumer.unacked = 0;
    for (const queue of touched) queue.drain();
  }
}

/** A basic.consume subscription: one channel, one queue. */
export class Consumer implements QueueConsumer {
  /** Deliveries not yet acked (counts against `prefetch`). */
  unacked = 0;

  constructor(
    readonly channel: Channel,
    readonly tag: string,
    readonly queue: Queue,
    readonly noAck: boolean,
    readonly exclusive: boolean,
    /** basic.qos prefetch_count (global=false) in force when the consumer was created; 0 = none. */
    readonly prefetch: number,
    readonly args: FieldTable,
    /** x-priority: higher-priority consumers get messages while they can take them. */
    readonly priority: number,
  ) {}

  canTake(queue: Queue): boolean {
    const channel = this.channel;
    if (!this.noAck) {
      if (this.prefetch !== 0 && this.unacked >= this.prefetch) return false;
      // The channel-wide limit counts every unacked delivery, basic.get ones too, as RabbitMQ does.
      if (channel.globalPrefetch !== 0 && channel.unacked.size >= channel.globalPrefetch) return false;
    }
    return channel.connection.canDeliver(queue);
  }

  deliver(queue: Queue, entry: QueueEntry): void {
    const channel = this.channel;
    const connection = channel.connection;
    const tag = ++channel.deliveryTag;
    if (!this.noAck) {
      channel.unacked.add({ tag, entry, queue, consumer: this, at: Date.now() });
      this.unacked++;
    }
    queue.delivered(entry, this.noAck);
    const stats = connection.broker.stats;
    if (this.noAck) {
      queue.counters.deliverNoAck++;
      channel.counters.deliverNoAck++;
      stats.deliveredConsumeAutoAck++;
    } else {
      queue.counters.deliver++;
      channel.counters.deliver++;
      stats.deliveredConsumeManualAck++;
    }
    if (entry.redelivered) {
      queue.counters.redeliver++;
      channel.counters.redeliver++;
      stats.redelivered++;
    }
    const m = entry.message;
    const vhost = connection.vhost!;
    if (vhost.tracing) vhost.traceDelivered(channel.party, queue, m, entry.redelivered);
    writeDeliver(
      connection.output.writer,
      channel.id,
      this.tag,
      tag,
      entry.redelivered,
      m.exchange,
      m.routingKey,
      queue.deliveryProperties(entry, false), // the queue's own headers: x-delivery-count, x-stream-offset
      m.body,
      connection.frameMax,
    );
    connection.output.schedule();
  }

  cancelledByServer(_queue: Queue): void {
    const channel = this.channel;
    channel.consumers.delete(this.tag);
    // Only clients that announce consumer_cancel_notify get basic.cancel, as in RabbitMQ.
    const connection = channel.connection;
    if (connection.capabilities["consumer_cancel_notify"] !== true) return;
    // In line with replies, after the commit that records the delete: a queue.delete-ok the
    // deleting channel registered first goes out before this cancel.
    if (channel.state === "open" && connection.state === "running") {
      channel.replyAfterCommit({ id: MethodId.BasicCancel, consumerTag: this.tag, nowait: true });
    }
  }
}
