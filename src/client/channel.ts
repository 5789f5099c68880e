// A client channel: synchronous methods answered in order (declare, bind, qos, consume, …),
// consumers with ack/nack, publishing with publisher confirms, and flow control (socket
// back-pressure, channel.flow and connection.blocked all make `writable` false).
import { readContentHeader, writeBodyFrames, writeContentHeaderFrame, writeMethodFrame } from "../amqp/frames.ts";
import type { Reader } from "../amqp/reader.ts";
import { FRAME_HEADER, ReplyCode } from "../amqp/spec/constants.gen.ts";
import { type AmqpMethod, type BasicDeliver, type BasicReturn, MethodId } from "../amqp/spec/methods.gen.ts";
import { type BasicProperties, encodeProperties } from "../amqp/spec/properties.gen.ts";
import type { FieldTable } from "../amqp/table.ts";
import { Writer } from "../amqp/writer.ts";
import type { Output } from "../connection/output.ts";
import { ClientError, serverClosed } from "./errors.ts";

/** A message from basic.deliver (or basic.return, with replyCode/replyText). */
export interface Delivery {
  consumerTag: string;
  deliveryTag: number;
  redelivered: boolean;
  exchange: string;
  routingKey: string;
  /** The encoded property list, as received (decode with decodeProperties when needed). */
  properties: Uint8Array;
  body: Uint8Array;
}

export interface Returned extends Delivery {
  replyCode: number;
  replyText: string;
}

export interface ConsumeOptions {
  noAck?: boolean;
  exclusive?: boolean;
  consumerTag?: string;
  arguments?: FieldTable;
  /** The server cancelled the consumer (queue deleted; consumer_cancel_notify). */
  onCancel?: () => void;
}

export interface QueueOptions {
  durable?: boolean;
  exclusive?: boolean;
  autoDelete?: boolean;
  passive?: boolean;
  arguments?: FieldTable;
}

export interface ExchangeOptions {
  durable?: boolean;
  autoDelete?: boolean;
  internal?: boolean;
  passive?: boolean;
  arguments?: FieldTable;
}

/** A publisher confirm: every sequence number up to `seq` (multiple) or just `seq`; ack or nack. */
export type ConfirmListener = (seq: number, multiple: boolean, ack: boolean) => void;

/** What a channel needs of its connection (connection.ts implements it; no import back). */
export interface ChannelHost {
  readonly frameMax: number;
  readonly blocked: boolean;
  readonly congested: boolean;
  readonly writer: Writer;
  readonly output: Output;
  send(channel: number, method: AmqpMethod): void;
  channelClosed(id: number): void;
}

interface Pending {
  expect: number;
  /** Runs synchronously with the reply, before frames after it (a consumer must exist before its first delivery). */
  onReply: ((m: AmqpMethod) => void) | undefined;
  resolve: (m: AmqpMethod) => void;
  reject: (e: ClientError) => void;
}

interface Consumer {
  onMessage: (d: Delivery) => void;
  onCancel: (() => void) | undefined;
}

const EMPTY = new Uint8Array(0);

export class ClientChannel {
  state: "opening" | "open" | "closed" = "opening";
  closeReason: ClientError | undefined;
  /** channel.flow from the server: false while it asks us to stop publishing. */
  flowActive = true;
  /** Next publish sequence number in confirm mode (0: confirms are off). */
  nextPublishSeq = 0;
  private readonly pending: Pending[] = [];
  private readonly consumers = new Map<string, Consumer>();
  private readonly confirmListeners: ConfirmListener[] = [];
  private readonly closeListeners: ((error: ClientError | undefined) => void)[] = [];
  private writableWaiters: (() => void)[] = [];
  private returnListener: ((r: Returned) => void) | undefined;
  /** The message being received: its method, then header, then body frames. */
  private incoming: { method: BasicDeliver | BasicReturn; properties: Uint8Array; body: Uint8Array; received: number } | undefined;
  private readonly scratch = new Writer(256);

  constructor(readonly connection: ChannelHost, readonly id: number) {}

  // ------------------------------------------------------------------------------ lifecycle

  async open(): Promise<void> {
    await this.call({ id: MethodId.ChannelOpen, outOfBand: "" }, MethodId.ChannelOpenOk);
    this.state = "open";
  }

  async close(): Promise<void> {
    if (this.state === "closed") return;
    await this.call({ id: MethodId.ChannelClose, replyCode: 200, replyText: "Goodbye", classId: 0, methodId: 0 }, MethodId.ChannelCloseOk)
      .catch(() => undefined);
    this.finish(undefined);
  }

  onClose(fn: (error: ClientError | undefined) => void): void {
    if (this.state === "closed") fn(this.closeReason);
    else this.closeListeners.push(fn);
  }

  /** The connection ended: everything pending fails with its reason. */
  connectionClosed(reason: ClientError): void {
    this.finish(reason);
  }

  private finish(reason: ClientError | undefined): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.closeReason = reason;
    this.connection.channelClosed(this.id);
    const error = reason ?? new ClientError("channel closed", 200, "client", "", false);
    for (const p of this.pending.splice(0)) p.reject(error);
    for (const fn of this.writableWaiters.splice(0)) fn();
    for (const fn of this.closeListeners.splice(0)) fn(reason);
  }

  // ------------------------------------------------------------------------------ methods

  /** Sends a synchronous method; resolves with the server's reply (replies come in order). */
  call(method: AmqpMethod, expect: number, onReply?: (m: AmqpMethod) => void): Promise<AmqpMethod> {
    if (this.state === "closed") return Promise.reject(this.closeReason ?? new ClientError("channel closed", 0, "client", "", false));
    return new Promise((resolve, reject) => {
      this.pending.push({ expect, onReply, resolve, reject });
      this.connection.send(this.id, method);
    });
  }

  async declareQueue(queue: string, o: QueueOptions = {}): Promise<{ queue: string; messageCount: number; consumerCount: number }> {
    const ok = await this.call({
      id: MethodId.QueueDeclare,
      ticket: 0,
      queue,
      passive: o.passive ?? false,
      durable: o.durable ?? false,
      exclusive: o.exclusive ?? false,
      autoDelete: o.autoDelete ?? false,
      nowait: false,
      arguments: o.arguments ?? {},
    }, MethodId.QueueDeclareOk);
    if (ok.id !== MethodId.QueueDeclareOk) throw new Error("unreachable");
    return { queue: ok.queue, messageCount: ok.messageCount, consumerCount: ok.consumerCount };
  }

  async deleteQueue(queue: string, o: { ifUnused?: boolean; ifEmpty?: boolean } = {}): Promise<number> {
    const ok = await this.call({
      id: MethodId.QueueDelete,
      ticket: 0,
      queue,
      ifUnused: o.ifUnused ?? false,
      ifEmpty: o.ifEmpty ?? false,
      nowait: false,
    }, MethodId.QueueDeleteOk);
    return ok.id === MethodId.QueueDeleteOk ? ok.messageCount : 0;
  }

  async purgeQueue(queue: string): Promise<number> {
    const ok = await this.call({ id: MethodId.QueuePurge, ticket: 0, queue, nowait: false }, MethodId.QueuePurgeOk);
    return ok.id === MethodId.QueuePurgeOk ? ok.messageCount : 0;
  }

  async bindQueue(queue: string, exchange: string, routingKey: string, args: FieldTable = {}): Promise<void> {
    await this.call(
      { id: MethodId.QueueBind, ticket: 0, queue, exchange, routingKey, nowait: false, arguments: args },
      MethodId.QueueBindOk,
    );
  }

  async unbindQueue(queue: string, exchange: string, routingKey: string, args: FieldTable = {}): Promise<void> {
    await this.call({ id: MethodId.QueueUnbind, ticket: 0, queue, exchange, routingKey, arguments: args }, MethodId.QueueUnbindOk);
  }

  async declareExchange(exchange: string, type: string, o: ExchangeOptions = {}): Promise<void> {
    await this.call({
      id: MethodId.ExchangeDeclare,
      ticket: 0,
      exchange,
      type,
      passive: o.passive ?? false,
      durable: o.durable ?? false,
      autoDelete: o.autoDelete ?? false,
      internal: o.internal ?? false,
      nowait: false,
      arguments: o.arguments ?? {},
    }, MethodId.ExchangeDeclareOk);
  }

  async deleteExchange(exchange: string, o: { ifUnused?: boolean } = {}): Promise<void> {
    await this.call(
      { id: MethodId.ExchangeDelete, ticket: 0, exchange, ifUnused: o.ifUnused ?? false, nowait: false },
      MethodId.ExchangeDeleteOk,
    );
  }

  async bindExchange(destination: string, source: string, routingKey: string, args: FieldTable = {}): Promise<void> {
    await this.call(
      { id: MethodId.ExchangeBind, ticket: 0, destination, source, routingKey, nowait: false, arguments: args },
      MethodId.ExchangeBindOk,
    );
  }

  async unbindExchange(destination: string, source: string, routingKey: string, args: FieldTable = {}): Promise<void> {
    await this.call(
      { id: MethodId.ExchangeUnbind, ticket: 0, destination, source, routingKey, nowait: false, arguments: args },
      MethodId.ExchangeUnbindOk,
    );
  }

  async qos(prefetchCount: number, global = false, prefetchSize = 0): Promise<void> {
    await this.call({ id: MethodId.BasicQos, prefetchSize, prefetchCount, global }, MethodId.BasicQosOk);
  }

  /** Starts a consumer; resolves with its tag. */
  async consume(queue: string, onMessage: (d: Delivery) => void, o: ConsumeOptions = {}): Promise<string> {
    const consumer: Consumer = { onMessage, onCancel: o.onCancel };
    const ok = await this.call(
      {
        id: MethodId.BasicConsume,
        ticket: 0,
        queue,
        consumerTag: o.consumerTag ?? "",
        noLocal: false,
        noAck: o.noAck ?? false,
        exclusive: o.exclusive ?? false,
        nowait: false,
        arguments: o.arguments ?? {},
      },
      MethodId.BasicConsumeOk,
      (m) => {
        if (m.id === MethodId.BasicConsumeOk) this.consumers.set(m.consumerTag, consumer);
      },
    );
    return ok.id === MethodId.BasicConsumeOk ? ok.consumerTag : "";
  }

  async cancel(consumerTag: string): Promise<void> {
    await this.call({ id: MethodId.BasicCancel, consumerTag, nowait: false }, MethodId.BasicCancelOk);
    this.consumers.delete(consumerTag);
  }

  ack(deliveryTag: number, multiple = false): void {
    this.connection.send(this.id, { id: MethodId.BasicAck, deliveryTag, multiple });
  }

  nack(deliveryTag: number, multiple = false, requeue = true): void {
    this.connection.send(this.id, { id: MethodId.BasicNack, deliveryTag, multiple, requeue });
  }

  reject(deliveryTag: number, requeue = true): void {
    this.connection.send(this.id, { id: MethodId.BasicReject, deliveryTag, requeue });
  }

  /** Publisher confirms on; publish() then returns sequence numbers, confirmed to onConfirm listeners. */
  async confirmSelect(): Promise<void> {
    await this.call({ id: MethodId.ConfirmSelect, nowait: false }, MethodId.ConfirmSelectOk);
    this.nextPublishSeq = 1;
  }

  onConfirm(fn: ConfirmListener): void {
    this.confirmListeners.push(fn);
  }

  onReturn(fn: (r: Returned) => void): void {
    this.returnListener = fn;
  }

  /**
   * Publishes one message; `properties` is either encoded (passed through unchanged) or an object.
   * Returns the confirm sequence number (0 when confirms are off). Check `writable` first (or
   * await whenWritable()): publishing regardless only grows the output buffer.
   */
  publish(
    exchange: string,
    routingKey: string,
    body: Uint8Array,
    properties: Uint8Array | BasicProperties = EMPTY_PROPERTIES,
    mandatory = false,
  ): number {
    if (this.state !== "open") throw this.closeReason ?? new ClientError("channel closed", 0, "client", "", false);
    const c = this.connection;
    const w = c.writer;
    writeMethodFrame(w, this.id, { id: MethodId.BasicPublish, ticket: 0, exchange, routingKey, mandatory, immediate: false });
    writeContentHeaderFrame(w, this.id, 60, body.length, properties instanceof Uint8Array ? properties : this.encode(properties));
    if (body.length > 0) writeBodyFrames(w, this.id, body, c.frameMax);
    c.output.schedule();
    return this.nextPublishSeq === 0 ? 0 : this.nextPublishSeq++;
  }

  /** False while the socket is backed up, the server sent channel.flow(false) or connection.blocked. */
  get writable(): boolean {
    return this.state === "open" && this.flowActive && !this.connection.blocked && !this.connection.congested;
  }

  /** Resolves when `writable` (or the channel closed). */
  whenWritable(): Promise<void> {
    if (this.writable || this.state === "closed") return Promise.resolve();
    return new Promise((resolve) => this.writableWaiters.push(resolve));
  }

  notifyWritable(): void {
    if (this.writableWaiters.length === 0 || !(this.writable || this.state === "closed")) return;
    const waiters = this.writableWaiters;
    this.writableWaiters = [];
    for (const fn of waiters) fn();
  }

  private encode(p: BasicProperties): Uint8Array {
    this.scratch.reset();
    encodeProperties(this.scratch, p);
    return this.scratch.written();
  }

  // ------------------------------------------------------------------------------ input

  onMethod(m: AmqpMethod): void {
    switch (m.id) {
      case MethodId.BasicDeliver:
      case MethodId.BasicReturn:
        this.incoming = { method: m, properties: EMPTY, body: EMPTY, received: 0 };
        return;
      case MethodId.BasicAck:
      case MethodId.BasicNack:
        for (const fn of this.confirmListeners) fn(Number(m.deliveryTag), m.multiple, m.id === MethodId.BasicAck);
        return;
      case MethodId.BasicCancel: {
        // consumer_cancel_notify: the queue went away.
        const consumer = this.consumers.get(m.consumerTag);
        this.consumers.delete(m.consumerTag);
        if (!m.nowait) this.connection.send(this.id, { id: MethodId.BasicCancelOk, consumerTag: m.consumerTag });
        consumer?.onCancel?.();
        return;
      }
      case MethodId.ChannelFlow:
        this.flowActive = m.active;
        this.connection.send(this.id, { id: MethodId.ChannelFlowOk, active: m.active });
        this.notifyWritable();
        return;
      case MethodId.ChannelClose:
        this.connection.send(this.id, { id: MethodId.ChannelCloseOk });
        this.finish(serverClosed("channel", m.replyCode, m.replyText, m.classId, m.methodId));
        return;
      default: {
        const p = this.pending.shift();
        if (!p) return;
        if (p.expect === m.id) {
          p.onReply?.(m);
          p.resolve(m);
        } else {p.reject(
            new ClientError(
              `unexpected reply ${m.id.toString(16)} (expected ${p.expect.toString(16)})`,
              ReplyCode.UNEXPECTED_FRAME,
              "client",
              "",
              false,
            ),
          );}
      }
    }
  }

  onContentFrame(type: number, r: Reader): void {
    const msg = this.incoming;
    if (!msg) return;
    if (type === FRAME_HEADER) {
      const header = readContentHeader(r);
      msg.properties = header.properties;
      msg.body = header.bodySize === 0 ? EMPTY : new Uint8Array(header.bodySize);
      if (header.bodySize === 0) this.complete();
      return;
    }
    const part = r.bytes.subarray(r.pos, r.end);
    msg.body.set(part, msg.received);
    msg.received += part.length;
    if (msg.received >= msg.body.length) this.complete();
  }

  private complete(): void {
    const msg = this.incoming!;
    this.incoming = undefined;
    const m = msg.method;
    if (m.id === MethodId.BasicDeliver) {
      const delivery: Delivery = {
        consumerTag: m.consumerTag,
        deliveryTag: Number(m.deliveryTag),
        redelivered: m.redelivered,
        exchange: m.exchange,
        routingKey: m.routingKey,
        properties: msg.properties,
        body: msg.body,
      };
      this.consumers.get(m.consumerTag)?.onMessage(delivery);
    } else {
      this.returnListener?.({
        consumerTag: "",
        deliveryTag: 0,
        redelivered: false,
        exchange: m.exchange,
        routingKey: m.routingKey,
        properties: msg.properties,
        body: msg.body,
        replyCode: m.replyCode,
        replyText: m.replyText,
      });
    }
  }
}

/** No properties: a flag word of 0. */
const EMPTY_PROPERTIES = new Uint8Array(2);
