import { AmqpError, commandInvalid, preconditionFailed, unexpectedFrame } from "../amqp/errors.ts";
import { readContentHeader } from "../amqp/frames.ts";
import type { Reader } from "../amqp/reader.ts";
import { FRAME_BODY, ReplyCode } from "../amqp/spec/constants.gen.ts";
import { METHODS, MethodId, methodName, type AmqpMethod } from "../amqp/spec/methods.gen.ts";
import type { Queue } from "../broker/queue.ts";
import type { QueueEntry } from "../../storage/queue_store.ts";
import type { Connection } from "./connection.ts";
import type { Consumer } from "./consumer.ts";
import { handleChannelMethod } from "./handlers/channel.ts";
import { CLIENT_METHODS, handlerFor } from "./handlers/registry.ts";
import type { TxState } from "./handlers/tx.ts";
import { stopReplies, type ReplyConsumer } from "./direct_reply_to.ts";
import { ChannelCounters } from "../broker/stats.ts";
import { growBody, releaseBody } from "./body_buffer.ts";

export type ChannelState =
  | "opening" // created by its first frame, which must be channel.open
  | "open"
  | "closing"; // channel.close sent by the broker, awaiting close-ok

/** A method with content, waiting for its header and body frames. */
interface PendingContent {
  method: AmqpMethod;
  classId: number;
  bodySize: number;
  properties: Uint8Array | undefined;
  body: Uint8Array | undefined;
  received: number;
  /** Larger than max_message_size: counted, not buffered. */
  oversized: boolean;
}

/** A delivery awaiting ack (consumer null for basic.get). */
export interface Unacked {
  tag: number;
  entry: QueueEntry;
  queue: Queue;
  consumer: Consumer | null;
}

export class Channel {
  state: ChannelState = "opening";
  private pending: PendingContent | undefined;

  // Deliveries and acks
  deliveryTag = 0;
  /** In delivery-tag order (Map keeps insertion order). */
  readonly unacked = new Map<number, Unacked>();
  readonly consumers = new Map<string, Consumer>();
  /** basic.qos global=false: the prefetch given to consumers created from now on. */
  consumerPrefetch = 0;
  /** basic.qos global=true: shared by all consumers on the channel; 0 = none. */
  globalPrefetch = 0;
  /** The queue named by the last queue.declare, used when a method leaves the queue name empty. */
  lastQueue = "";

  // Publishing
  /** Reused by every publish on this channel: routing allocates no set per message. */
  readonly routeSet = new Set<Queue>();
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

  constructor(readonly connection: Connection, readonly id: number) {}

  onMethod(method: AmqpMethod): void {
    if (this.state === "closing") {
      // RabbitMQ ignores everything on a closing channel except the close handshake.
      if (method.id === MethodId.ChannelCloseOk) this.finishClose();
      else if (method.id === MethodId.ChannelClose) this.connection.send(this.id, { id: MethodId.ChannelCloseOk });
      return;
    }
    try {
      if (this.pending) {
        throw unexpectedFrame(this.pending.properties
          ? "expected content body, got non content body frame instead"
          : `expected content header for class ${this.pending.classId}, got non content header frame instead`);
      }
      this.dispatch(method);
    } catch (err) {
      this.fail(err, method);
    }
  }

  /** Forgets the content being received, releasing what its buffer held. */
  private dropPending(): void {
    const body = this.pending?.body;
    this.pending = undefined;
    if (body !== undefined) releaseBody(body.length, this.connection.partialBodies, this.connection.broker.partialBodies);
  }

  private dispatch(method: AmqpMethod): void {
    if (this.state === "opening" && method.id !== MethodId.ChannelOpen) {
      throw new AmqpError(ReplyCode.CHANNEL_ERROR, "expected 'channel.open'");
    }
    if (!CLIENT_METHODS.has(method.id)) throw commandInvalid(`unimplemented method ${methodName(method.id)}`);
    if (METHODS.get(method.id)?.content) {
      this.pending = {
        method, classId: method.id >>> 16, bodySize: 0, properties: undefined, body: undefined, received: 0, oversized: false,
      };
      // As rabbit_reader: during a resource alarm the connection is blocked at the publish
      // method frame, before its body is read, so no body grows while memory is short.
      this.connection.publishReceived();
      return;
    }
    if (method.id >>> 16 === 20) handleChannelMethod(this, method);
    else handlerFor(method.id)(this, method, undefined);
  }

  onContentFrame(type: number, r: Reader): void {
    if (this.state === "closing") return;
    const pending = this.pending;
    try {
      if (!pending) throw unexpectedFrame("expected method frame, got non method frame instead");
      if (type === FRAME_BODY) return this.onBody(pending, r);
      if (pending.properties) throw unexpectedFrame("expected content body, got non content body frame instead");
      const header = readContentHeader(r);
      if (header.classId !== pending.classId) {
        throw unexpectedFrame(
          `expected content header for class ${pending.classId}, got one for class ${header.classId} instead`,
        );
      }
      pending.properties = header.properties;
      pending.bodySize = header.bodySize;
      // An oversized body is counted but not kept; the 406 comes once it has all arrived, as in RabbitMQ.
      pending.oversized = header.bodySize > this.connection.broker.options.maxMessageSize;
      if (header.bodySize === 0) this.completeContent(pending, new Uint8Array(0));
    } catch (err) {
      this.fail(err, pending?.method);
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
    pending.body = growBody(pending.body, pending.received, length, pending.bodySize, this.connection.partialBodies, this.connection.broker.partialBodies);
    pending.body.set(r.bytes.subarray(r.pos, r.end), pending.received);
    pending.received += length;
    if (pending.received === pending.bodySize) this.completeContent(pending, pending.body);
  }

  private completeContent(pending: PendingContent, body: Uint8Array): void {
    this.dropPending();
    handlerFor(pending.method.id)(this, pending.method, { properties: pending.properties!, body });
    this.connection.publishReceived();
  }

  /**
   * The reply to a method that changed durable state (declare, bind, delete, purge, tx.commit):
   * sent once what it changed is committed, as RabbitMQ replies after its metadata transaction,
   * so a client told "declared" never finds it gone after a crash. At once when nothing is pending.
   */
  replyAfterCommit(method: AmqpMethod): void {
    const store = this.connection.broker.store;
    if (!store) {
      this.connection.send(this.id, method);
      return;
    }
    store.afterCommit(() => {
      if (this.state === "open") this.connection.send(this.id, method);
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

  /** The close handshake is complete: free the channel number. */
  finishClose(): void {
    this.release();
    this.connection.removeChannel(this);
  }

  /**
   * Releases what the channel holds when it closes or its connection goes: consumers are
   * cancelled and every unacked message goes back to its queue, in order.
   */
  release(): void {
    this.dropPending();
    // Acks held in an open transaction never happened: those deliveries go back too.
    for (const held of this.tx?.acks ?? []) for (const u of held.deliveries) this.unacked.set(u.tag, u);
    this.tx = undefined;
    const vhost = this.connection.vhost;
    for (const consumer of this.consumers.values()) {
      consumer.queue.removeConsumer(consumer);
      vhost?.consumerRemoved(consumer.queue);
    }
    this.consumers.clear();
    stopReplies(this);
    this.requeueAll();
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
