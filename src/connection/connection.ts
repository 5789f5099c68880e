import { AmqpError, frameError, unexpectedFrame } from "../amqp/errors.ts";
import { formatAddress, isLoopbackAddress, printable } from "./addresses.ts";
import { type FrameSink, FrameSplitter } from "../amqp/frame_splitter.ts";
import { writeHeartbeatFrame, writeMethodFrame } from "../amqp/frames.ts";
import { Reader } from "../amqp/reader.ts";
import { FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, ReplyCode } from "../amqp/spec/constants.gen.ts";
import { type AmqpMethod, decodeMethod, MethodId } from "../amqp/spec/methods.gen.ts";
import type { FieldTable } from "../amqp/table.ts";
import type { User } from "../auth/users.ts";
import type { Broker } from "../broker/broker.ts";
import type { ClientConnection } from "../broker/client_connection.ts";
import type { Vhost } from "../broker/vhost.ts";
import type { TcpHandler, TcpSocket } from "../runtime/tcp.ts";
import { after, every, nextTurn, type Timer } from "../runtime/timers.ts";
import type { Queue } from "../broker/queue.ts";
import { type AlarmResource, blockedReason } from "../broker/alarms.ts";
import { PartialBodies } from "../broker/partial_bodies.ts";
import { Output } from "./output.ts";
import { HELD_WHILE_BLOCKED_BYTES, type HeldFrame, HeldFrames } from "./held_frames.ts";

/** What a connection needs of its channels (channel.ts implements it). */
export interface ConnectionChannel {
  readonly id: number;
  readonly state: string;
  /** Publisher confirms: the last sequence number confirmed, acked to the client, and held for a commit. */
  confirmedUpTo: number;
  confirmSent: number;
  confirmsAwaitingCommit: number;
  readonly counters: { confirm: number };
  onMethod(method: AmqpMethod): void;
  onContentFrame(type: number, r: Reader): void;
  closeWithError(error: AmqpError): void;
  release(): void;
}

/**
 * The protocol's method handlers, given to each connection (src/connection/accept.ts), so that
 * this module imports none of them: they import it.
 */
export interface ConnectionProtocol<Ch extends ConnectionChannel> {
  /** The protocol header was accepted: send connection.start. */
  start(connection: Connection<Ch>): void;
  /** A method on channel 0. */
  handle(connection: Connection<Ch>, method: AmqpMethod): void;
  /** A frame for a new channel number arrived. */
  openChannel(connection: Connection<Ch>, id: number): Ch;
}

export type ConnectionState =
  | "awaiting-header" // until the 8-byte protocol header
  | "starting" // connection.start sent, awaiting start-ok
  | "securing" // connection.secure sent, awaiting secure-ok
  | "tuning" // connection.tune sent, awaiting tune-ok
  | "opening" // awaiting connection.open
  | "running"
  | "closing" // connection.close sent (awaiting close-ok), or received and answered (awaiting the socket's close)
  | "closed";

/** Deliveries pause while this much output is waiting for the socket (flow control). */
const DELIVERY_HIGH_WATER = 256 * 1024;

const PROTOCOL_HEADER = new Uint8Array([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]); // "AMQP" 0-9-1
/** The AMQP 0-9 header (class 1, instance 1): RabbitMQ serves it as 0-9-1, and so do we. */
const LEGACY_0_9_HEADER = new Uint8Array([0x41, 0x4d, 0x51, 0x50, 1, 1, 0, 9]);

/** rabbit_reader's ?CLOSING_TIMEOUT: the longest a closed connection waits for the client to go. */
const CLOSING_TIMEOUT_S = 30;

let nextConnectionId = 1;

/** One client's AMQP connection: framing, handshake, channels, heartbeats and closing. */
export class Connection<Ch extends ConnectionChannel = ConnectionChannel> implements TcpHandler, FrameSink, ClientConnection {
  readonly id = nextConnectionId++;
  /** As RabbitMQ names connections in logs: "127.0.0.1:54321 -> 127.0.0.1:5672". */
  readonly name: string;
  state: ConnectionState = "awaiting-header";
  readonly output: Output;
  readonly channels = new Map<number, Ch>();

  frameMax: number;
  channelMax: number;
  heartbeat = 0;
  user: User | undefined;
  vhost: Vhost | undefined;
  clientProperties: FieldTable = {};
  capabilities: FieldTable = {};
  authMechanism = "";
  bytesReceived = 0;
  /** Wall-clock ms when the socket was accepted (the management API's connected_at). */
  readonly connectedAt = Date.now();
  /** Exclusive queues this connection declared: deleted when it closes. */
  readonly exclusiveQueues = new Set<Queue>();
  /** Queues that stopped delivering because output was backed up. */
  private readonly stalledQueues = new Set<Queue>();
  private resumeScheduled = false;
  /** Bytes held in this connection's partially received message bodies. */
  readonly partialBodies = new PartialBodies();
  /** Not reading from the socket: it published while a resource alarm was set. */
  blocked = false;
  /** Frames of the chunk being read when the connection was blocked: they run on unblock. */
  private readonly held = new HeldFrames();
  /** Channels with confirms to send in this turn's write. */
  private readonly confirmingChannels = new Set<Ch>();

  private readonly splitter: FrameSplitter;
  private readonly reader = new Reader();
  private readonly header = new Uint8Array(8);
  private headerLength = 0;
  private handshakeTimer: Timer | undefined;
  private heartbeatTimer: Timer | undefined;
  private closeTimer: Timer | undefined;
  /** close-ok was sent for the client's connection.close. */
  private closeOkSent = false;

  constructor(
    readonly broker: Broker<Connection<Ch>, Ch>,
    readonly socket: TcpSocket,
    private readonly protocol: ConnectionProtocol<Ch>,
  ) {
    this.name = `${formatAddress(socket.remoteAddress)}:${socket.remotePort} -> ${broker.listenAddress}:${socket.localPort}`;
    this.output = new Output(socket);
    this.output.beforeFlush = () => this.flushConfirms();
    this.output.onWritable = () => this.resumeStalled();
    // Before tune-ok, frames up to the server's frame_max are accepted (the spec's minimum is 4096).
    this.frameMax = broker.options.frameMax;
    this.channelMax = broker.options.channelMax;
    this.splitter = new FrameSplitter(this.frameMax);
    this.handshakeTimer = after(broker.options.handshakeTimeoutMs, () => this.onHandshakeTimeout());
    broker.log.info(`accepting AMQP connection ${this.name}`);
  }

  get isLoopback(): boolean {
    return isLoopbackAddress(this.socket.remoteAddress);
  }

  // ------------------------------------------------------------------------------ input

  onData(chunk: Uint8Array): void {
    this.bytesReceived += chunk.length;
    if (this.state === "closed") return;
    try {
      if (this.state === "awaiting-header") {
        const rest = this.readProtocolHeader(chunk);
        if (rest === undefined) return;
        chunk = rest;
      }
      this.splitter.push(chunk, this);
    } catch (err) {
      this.onError(err, 0);
      // A framing error means we lost sync with the client: read nothing more.
      if (err instanceof AmqpError && err.code === ReplyCode.FRAME_ERROR) this.closeSocket();
    }
  }

  /** Consumes the protocol header; returns the bytes after it, or undefined when not all here. */
  private readProtocolHeader(chunk: Uint8Array): Uint8Array | undefined {
    const take = Math.min(8 - this.headerLength, chunk.length);
    this.header.set(chunk.subarray(0, take), this.headerLength);
    this.headerLength += take;
    if (this.headerLength < 8) return undefined;
    const supported = (expected: Uint8Array) => this.header.every((b, i) => b === expected[i]);
    if (!supported(PROTOCOL_HEADER) && !supported(LEGACY_0_9_HEADER)) {
      // The spec: answer with the protocol version we support, then close.
      this.broker.log.error(`closing AMQP connection ${this.name}: unsupported protocol header ${printable(this.header)}`);
      this.output.writer.raw(PROTOCOL_HEADER);
      this.closeSocket();
      return undefined;
    }
    this.protocol.start(this);
    return chunk.subarray(take);
  }

  onFrame(type: number, channelId: number, bytes: Uint8Array, start: number, end: number): void {
    if (this.state === "closed") return;
    if (this.blocked) {
      // As RabbitMQ, a blocked connection processes nothing more, not even the rest of this chunk.
      this.held.hold(type, channelId, bytes, start, end);
      if (this.held.bytes > HELD_WHILE_BLOCKED_BYTES && this.socket.readsPause === false) {
        this.forceClose(`more than ${HELD_WHILE_BLOCKED_BYTES >> 20} MiB received while blocked by a resource alarm (connection.blocked)`);
      }
      return;
    }
    if (this.state === "closing") {
      // After connection.close only close/close-ok on channel 0 matter.
      if (type === FRAME_METHOD && channelId === 0) {
        this.dispatchConnectionMethod(this.decode(bytes, start, end));
      }
      return;
    }
    switch (type) {
      case FRAME_METHOD: {
        const method = this.decode(bytes, start, end);
        if (channelId === 0) this.dispatchConnectionMethod(method);
        else this.channelFor(channelId, type).onMethod(method);
        return;
      }
      case FRAME_HEADER:
      case FRAME_BODY:
        if (channelId === 0) throw unexpectedFrame(`type ${type} frame on channel 0`);
        this.channelFor(channelId, type).onContentFrame(type, this.reader.reset(bytes, start, end));
        return;
      case FRAME_HEARTBEAT:
        if (channelId !== 0) throw unexpectedFrame(`heartbeat frame on channel ${channelId}`);
        return;
      default:
        throw frameError(`unknown frame type ${type} on channel ${channelId}`);
    }
  }

  /** Decodes a method frame; a method that cannot be decoded is named in the 501, as RabbitMQ does. */
  private decode(bytes: Uint8Array, start: number, end: number): AmqpMethod {
    try {
      return decodeMethod(this.reader.reset(bytes, start, end));
    } catch (err) {
      if (err instanceof AmqpError && err.classId === 0 && end - start >= 4) {
        err.classId = (bytes[start]! << 8) | bytes[start + 1]!;
        err.methodId = (bytes[start + 2]! << 8) | bytes[start + 3]!;
      }
      throw err;
    }
  }

  private dispatchConnectionMethod(method: AmqpMethod): void {
    try {
      this.protocol.handle(this, method);
    } catch (err) {
      if (err instanceof AmqpError && err.classId === 0) {
        err.classId = method.id >>> 16;
        err.methodId = method.id & 0xffff;
      }
      throw err;
    }
  }

  /** The channel a frame belongs to; a new channel number accepts only channel.open. */
  private channelFor(channelId: number, frameType: number): Ch {
    if (this.state !== "running") {
      throw unexpectedFrame(`type ${frameType} frame on channel ${channelId} before the connection is open`);
    }
    const channel = this.channels.get(channelId);
    if (channel) return channel;
    const limit = this.channelMax;
    if (limit !== 0 && this.channels.size >= limit) {
      throw new AmqpError(
        ReplyCode.NOT_ALLOWED,
        `number of channels opened (${this.channels.size}) has reached the negotiated channel_max (${limit})`,
      );
    }
    this.checkUserChannelLimit();
    const created = this.protocol.openChannel(this, channelId);
    this.channels.set(channelId, created);
    return created;
  }

  /** A user's max-channels limit counts channels on all of the user's connections. */
  private checkUserChannelLimit(): void {
    const user = this.user!;
    const limit = user.limits["max-channels"];
    if (limit === undefined || limit < 0) return;
    let open = 0;
    for (const c of this.broker.connections) if (c.user?.name === user.name) open += c.channels.size;
    if (open >= limit) {
      throw new AmqpError(
        ReplyCode.NOT_ALLOWED,
        `number of channels opened for user '${user.name}' has reached the maximum allowed user limit of (${limit})`,
      );
    }
  }

  /** A channel finished closing (close-ok exchanged); its number may be reused. */
  removeChannel(channel: Ch): void {
    if (this.channels.get(channel.id) !== channel) return;
    this.channels.delete(channel.id);
    if (channel.state !== "opening") this.broker.stats.channelsClosed++;
  }

  // ------------------------------------------------------------------------------ output

  send(channelId: number, method: AmqpMethod): void {
    writeMethodFrame(this.output.writer, channelId, method);
    this.output.schedule();
  }

  onDrain(): void {
    this.output.onDrain();
  }

  /**
   * A message was published. During a resource alarm the connection is blocked, as RabbitMQ
   * does: no more reading from it (its consumers on other connections keep draining), and a
   * connection.blocked to clients that announced the capability.
   */
  publishReceived(): void {
    const active = this.broker.alarms.current;
    if (active.size === 0 || this.blocked) return;
    this.blocked = true;
    this.socket.pause();
    this.broker.log.debug(`connection ${this.name} blocked: ${blockedReason(active)}`);
    if (this.capabilities["connection.blocked"] === true) {
      this.send(0, { id: MethodId.ConnectionBlocked, reason: blockedReason(active) });
    }
  }

  /** All alarms cleared: read again, and say so to clients that were told they were blocked. */
  onAlarmChange(active: ReadonlySet<AlarmResource>): void {
    if (active.size > 0 || !this.blocked || this.state === "closed") return;
    this.broker.log.debug(`connection ${this.name} unblocked`);
    if (this.capabilities["connection.blocked"] === true) this.send(0, { id: MethodId.ConnectionUnblocked });
    this.readAgain();
  }

  /** Ends a block: the frames held back run first, then the socket is read again. */
  private readAgain(): void {
    this.blocked = false;
    try {
      let frame: HeldFrame | undefined;
      while (!this.blocked && this.state !== "closed" && (frame = this.held.take()) !== undefined) {
        this.onFrame(frame.type, frame.channelId, frame.payload, 0, frame.payload.length);
      }
    } catch (err) {
      this.held.clear(); // as in onData: an error ends the chunk
      this.onError(err, 0);
      if (err instanceof AmqpError && err.code === ReplyCode.FRAME_ERROR) this.closeSocket();
    }
    if (!this.blocked && this.state !== "closed") this.socket.resume();
  }

  /** May a queue deliver to a consumer here now? If not, it is resumed once output drains. */
  canDeliver(queue: Queue): boolean {
    const output = this.output;
    if (!output.blocked && output.bufferedBytes < DELIVERY_HIGH_WATER) return true;
    this.stalledQueues.add(queue);
    return false;
  }

  /** Resumes paused queues on the next turn, so other connections' I/O runs in between. */
  private resumeStalled(): void {
    if (this.stalledQueues.size === 0 || this.resumeScheduled) return;
    this.resumeScheduled = true;
    nextTurn(() => {
      this.resumeScheduled = false;
      const queues = [...this.stalledQueues];
      this.stalledQueues.clear();
      for (const queue of queues) if (!queue.deleted) queue.drain();
    });
  }

  /**
   * Publisher confirm for `seq` on `channel`, sent with a write as one cumulative ack. A message
   * written to the store is confirmed after the commit, and so is every later one on the channel
   * until then, so that confirms stay in order.
   */
  confirm(channel: Ch, seq: number, persisted: boolean, nack = false): void {
    const store = this.broker.store;
    if (store && (persisted || channel.confirmsAwaitingCommit > 0)) {
      channel.confirmsAwaitingCommit++;
      store.afterCommit(() => {
        channel.confirmsAwaitingCommit--;
        this.confirmNow(channel, seq, nack);
      });
      return;
    }
    this.confirmNow(channel, seq, nack);
  }

  private confirmNow(channel: Ch, seq: number, nack: boolean): void {
    if (nack) {
      // A nack breaks the cumulative run: acks before it go out first, then the nack itself.
      this.writeAcks(channel, seq - 1);
      if (channel.state === "open") {
        writeMethodFrame(this.output.writer, channel.id, { id: MethodId.BasicNack, deliveryTag: seq, multiple: false, requeue: false });
      }
      channel.confirmSent = seq;
      channel.confirmedUpTo = seq;
      this.output.schedule();
      return;
    }
    channel.confirmedUpTo = seq;
    this.broker.stats.confirmed++;
    channel.counters.confirm++;
    this.confirmingChannels.add(channel);
    this.output.schedule();
  }

  /** One cumulative basic.ack for everything confirmed up to `upTo` and not yet acked. */
  private writeAcks(channel: Ch, upTo: number): void {
    if (upTo > channel.confirmSent && channel.state === "open") {
      writeMethodFrame(this.output.writer, channel.id, {
        id: MethodId.BasicAck,
        deliveryTag: upTo,
        multiple: upTo - channel.confirmSent > 1,
      });
    }
    if (upTo > channel.confirmSent) channel.confirmSent = upTo;
  }

  /** Writes the ack for what is confirmed on `channel` now (before its close-ok). */
  sendDueConfirms(channel: Ch): void {
    this.writeAcks(channel, channel.confirmedUpTo);
    this.confirmingChannels.delete(channel);
  }

  private flushConfirms(): void {
    if (this.confirmingChannels.size === 0) return;
    for (const channel of this.confirmingChannels) this.writeAcks(channel, channel.confirmedUpTo);
    this.confirmingChannels.clear();
  }

  // ------------------------------------------------------------------------------ lifecycle

  /** The handshake reached connection.open-ok. */
  markRunning(user: User, vhost: Vhost): void {
    this.state = "running";
    this.user = user;
    this.vhost = vhost;
    this.handshakeTimer?.cancel();
    this.handshakeTimer = undefined;
  }

  /** Applies tune-ok values and starts heartbeats. */
  applyTuning(frameMax: number, channelMax: number, heartbeat: number): void {
    this.frameMax = frameMax;
    this.channelMax = channelMax;
    this.heartbeat = heartbeat;
    this.splitter.setFrameMax(frameMax);
    if (heartbeat > 0) this.startHeartbeats(heartbeat);
  }

  /**
   * Heartbeats checked every half interval: send one when nothing else went out; a peer that
   * sent nothing for two whole intervals is gone.
   */
  private startHeartbeats(seconds: number): void {
    let heartbeatBytes = 0;
    let lastSent: number | undefined; // undefined: the first tick always sends
    let lastReceived = this.bytesReceived;
    let silentTicks = 0;
    this.heartbeatTimer = every((seconds * 1000) / 2, () => {
      if (this.state === "closed") return;
      // Our own heartbeats do not count as traffic: an idle peer gets one every half interval.
      const sent = this.output.bytesSent - heartbeatBytes;
      if ((lastSent === undefined || sent === lastSent) && this.output.bufferedBytes === 0) {
        writeHeartbeatFrame(this.output.writer);
        this.output.schedule();
        heartbeatBytes += 8;
      }
      lastSent = sent;
      // A blocked connection is not read from, so its silence says nothing.
      silentTicks = this.bytesReceived === lastReceived && !this.blocked ? silentTicks + 1 : 0;
      lastReceived = this.bytesReceived;
      if (silentTicks >= 4) {
        this.broker.log.error(`closing AMQP connection ${this.name}: missed heartbeats from client, timeout: ${seconds}s`);
        this.terminate();
      }
    });
  }

  /** Turns an error into the close RabbitMQ would send. Soft errors close only the channel. */
  onError(err: unknown, channelId: number): void {
    if (!(err instanceof AmqpError)) {
      this.broker.log.error(`error on AMQP connection ${this.name}: ${(err as Error)?.stack ?? err}`);
      err = new AmqpError(ReplyCode.INTERNAL_ERROR, "internal error");
    }
    const error = err as AmqpError;
    const channel = this.channels.get(channelId);
    if (!error.hard && channel) {
      channel.closeWithError(error);
      return;
    }
    this.closeWithError(error);
  }

  /** Hard error: connection.close with the code, or during the handshake what RabbitMQ does there. */
  closeWithError(error: AmqpError): void {
    if (this.state === "closing" || this.state === "closed") return;
    this.broker.log.error(`closing AMQP connection ${this.name}${this.userSuffix()}: ${error.replyText}`);
    const state = this.state;
    const handshake = state === "awaiting-header" || state === "starting" || state === "securing" || state === "tuning";
    if (handshake) {
      // RabbitMQ answers a failed login (to clients that announce authentication_failure_close)
      // and a failed negotiation with connection.close; anything else mid-handshake is a silent close.
      const answer = (error.code === ReplyCode.ACCESS_REFUSED && this.capabilities["authentication_failure_close"] === true) ||
        (error.code === ReplyCode.NOT_ALLOWED && state === "tuning");
      // RabbitMQ names no method in the 403 after a failed login.
      const refused = error.code === ReplyCode.ACCESS_REFUSED;
      if (answer) this.sendClose(error.code, error.replyText, refused ? 0 : error.classId, refused ? 0 : error.methodId);
      this.closeSocket();
      return;
    }
    this.beginClose(error.code, error.replyText, error.classId, error.methodId);
  }

  /** Broker-initiated close (shutdown, vhost deletion, management): 320 CONNECTION_FORCED by default. */
  forceClose(reason: string, code: number = ReplyCode.CONNECTION_FORCED): void {
    if (this.state === "closing" || this.state === "closed") return;
    if (this.state !== "running") {
      this.closeSocket();
      return;
    }
    this.broker.log.warning(`closing AMQP connection ${this.name}${this.userSuffix()}: ${reason}`);
    const text = code === ReplyCode.CONNECTION_FORCED ? `CONNECTION_FORCED - ${reason}` : reason;
    this.beginClose(code, text, 0, 0);
  }

  private beginClose(code: number, text: string, classId: number, methodId: number): void {
    this.sendClose(code, text, classId, methodId);
    this.state = "closing";
    this.heartbeatTimer?.cancel();
    this.closeTimer = after(this.broker.options.closeTimeoutMs, () => this.terminate());
    if (this.blocked) this.readAgain(); // as RabbitMQ: a closing connection is read, for close-ok
  }

  private sendClose(code: number, text: string, classId: number, methodId: number): void {
    this.send(0, { id: MethodId.ConnectionClose, replyCode: code, replyText: text, classId, methodId });
  }

  /**
   * The client asked to close: as rabbit_reader, its channels shut down and its exclusive queues
   * go, close-ok is sent, and the socket stays open, read and discarded (a repeated close gets
   * close-ok again), until the client closes it — or, at the latest, after the heartbeat interval
   * (30 s without heartbeats), RabbitMQ's closing timeout. Closing at once would reset the
   * socket under a client still writing, which then fails with EPIPE before it reads close-ok.
   */
  onClientClose(): void {
    if (this.state === "running") {
      this.broker.log.info(`closing AMQP connection ${this.name}${this.userSuffix()}`);
    }
    this.send(0, { id: MethodId.ConnectionCloseOk });
    if (this.state === "closing" && this.closeOkSent) return;
    this.closeOkSent = true;
    this.state = "closing";
    this.heartbeatTimer?.cancel();
    this.releaseChannels();
    this.broker.connectionClosing(this);
    this.closeTimer?.cancel();
    const seconds = this.heartbeat > 0 && this.heartbeat < CLOSING_TIMEOUT_S ? this.heartbeat : CLOSING_TIMEOUT_S;
    this.closeTimer = after(seconds * 1000, () => this.terminate());
  }

  /** Flushes what is queued, then closes the socket. */
  closeSocket(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.stopTimers();
    this.output.end();
  }

  /** Drops the socket at once. */
  terminate(): void {
    this.state = "closed";
    this.stopTimers();
    this.output.terminate();
  }

  onClose(error?: Error): void {
    const wasOpen = this.state === "running" || this.state === "opening";
    this.state = "closed";
    this.stopTimers();
    this.output.markClosed();
    this.releaseChannels();
    this.stalledQueues.clear();
    if (wasOpen) {
      const why = error ? `: ${error.message}` : "";
      this.broker.log.warning(`closing AMQP connection ${this.name}${this.userSuffix()}: client unexpectedly closed TCP connection${why}`);
    }
    this.broker.connectionClosed(this);
    this.broker.closingConnections.delete(this);
  }

  /** Every channel closes (consumers cancelled, unacked requeued); exclusive queues are deleted. */
  private releaseChannels(): void {
    for (const channel of this.channels.values()) {
      if (channel.state !== "opening") this.broker.stats.channelsClosed++;
      channel.release();
    }
    this.channels.clear();
    for (const queue of this.exclusiveQueues) this.vhost?.deleteQueue(queue);
    this.exclusiveQueues.clear();
  }

  private onHandshakeTimeout(): void {
    if (this.state === "running" || this.state === "closed" || this.state === "closing") return;
    this.broker.log.error(
      `closing AMQP connection ${this.name}: handshake_timeout (no connection.open within ${this.broker.options.handshakeTimeoutMs} ms, state ${this.state})`,
    );
    this.closeSocket();
  }

  private stopTimers(): void {
    this.handshakeTimer?.cancel();
    this.heartbeatTimer?.cancel();
    this.closeTimer?.cancel();
    this.handshakeTimer = this.heartbeatTimer = this.closeTimer = undefined;
  }

  private userSuffix(): string {
    return this.user ? ` (vhost '${this.vhost?.name ?? ""}', user '${this.user.name}')` : "";
  }
}
