// A lean AMQP 0-9-1 client connection for load generation, on the broker's own codec. Setup
// methods (declare, bind, qos, consume) are awaited RPCs; the message path is not: publishes are
// appended to one Writer and flushed in batches, and deliveries, acks and confirms are parsed in
// place from the socket chunk and handed to one handler object per connection — no promise,
// closure or object per message.
import { type FrameSink, FrameSplitter } from "../../amqp/frame_splitter.ts";
import { writeHeartbeatFrame, writeMethodFrame } from "../../amqp/frames.ts";
import { Reader } from "../../amqp/reader.ts";
import { Writer } from "../../amqp/writer.ts";
import { FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, replyCodeName } from "../../amqp/spec/constants.gen.ts";
import { type AmqpMethod, decodeMethod, MethodId, methodName } from "../../amqp/spec/methods.gen.ts";
import { connectTcp, type TcpSocket } from "../../runtime/tcp_connect.ts";
import { ExitCode, PerfError } from "./errors.ts";
import type { AmqpUri } from "./uri.ts";

/** Receives a connection's deliveries (channel 1). */
export interface DeliveryHandler {
  /** `sentAt` is the producer's timestamp (ms) when the body carried this run's stamp, else NaN. */
  onDelivery(deliveryTag: number, redelivered: boolean, sentAt: number, ours: boolean): void;
}

/** Receives publisher confirms and returns (channel 1). */
export interface ConfirmHandler {
  onConfirm(deliveryTag: number, multiple: boolean, nack: boolean): void;
  onReturn(): void;
}

/** Called once per socket chunk after its frames were handled: flush acks, publish more. */
export interface ChunkHandler {
  afterChunk(): void;
}

/** Body layout that carries a timestamp: f64 send time (performance.now(), ms), then u32 run id. */
export const STAMP_BYTES = 12;

const PROTOCOL_HEADER = new Uint8Array([65, 77, 81, 80, 0, 0, 9, 1]);
const CLIENT_FRAME_MAX = 131072;
const EMPTY_CHUNK_STATE = 0;
const DELIVER_CONTENT = 1;
const OTHER_CONTENT = 2;

interface Waiter {
  channel: number;
  resolve(m: AmqpMethod): void;
  reject(e: Error): void;
}

export class PerfConnection {
  readonly out = new Writer(256 * 1024);
  /** The socket took a short write: hold back until it drains. */
  blocked = false;
  /** The broker sent connection.blocked (a resource alarm). */
  brokerBlocked = false;
  frameMax = CLIENT_FRAME_MAX;
  /** performance.now() when the chunk being handled arrived: one clock read per chunk. */
  chunkTime = 0;
  /** Identifies this run's messages in bodies (foreign ones are counted, not timed). */
  runId = 0;
  deliveries: DeliveryHandler | undefined;
  confirms: ConfirmHandler | undefined;
  chunkHandler: ChunkHandler | undefined;
  onWritable: (() => void) | undefined;
  /** The first failure (broker close, socket loss); the run learns of it through onFailure. */
  failure: PerfError | undefined;
  onFailure: ((error: PerfError) => void) | undefined;

  private socket: TcpSocket | undefined;
  private readonly splitter = new FrameSplitter(CLIENT_FRAME_MAX + 8);
  private readonly reader = new Reader();
  private readonly waiters: Waiter[] = [];
  private closing = false;
  private contentState = EMPTY_CHUNK_STATE;
  private deliveryTag = 0;
  private redelivered = false;
  private bodyLeft = 0;
  private bodySeen = 0;
  private sentAt = NaN;
  private ours = false;
  private readonly stamp = new Uint8Array(8);
  private readonly stampView = new DataView(this.stamp.buffer);

  private readonly sink: FrameSink = { onFrame: (type, channel, bytes, start, end) => this.onFrame(type, channel, bytes, start, end) };

  /** Connects, handshakes (PLAIN) and opens channel 1. */
  static async open(uri: AmqpUri, name: string, timeoutMs: number): Promise<PerfConnection> {
    const conn = new PerfConnection();
    await conn.connect(uri, name, timeoutMs);
    return conn;
  }

  private async connect(uri: AmqpUri, name: string, timeoutMs: number): Promise<void> {
    const tls = { rejectUnauthorized: uri.tlsInsecure !== true, ...(uri.tlsCa ? { ca: uri.tlsCa } : {}) };
    const where = `${uri.hostname}:${uri.port}`;
    const handler = {
      onData: (chunk: Uint8Array) => this.onData(chunk),
      onDrain: () => this.onDrain(),
      onClose: (error?: Error) => this.onSocketClose(error),
    };
    try {
      this.socket = await withTimeout(
        connectTcp(uri.hostname, uri.port, () => handler, uri.tls ? tls : undefined),
        timeoutMs,
        () => new PerfError(ExitCode.CONNECT, `Cannot connect to ${where}: no answer within ${timeoutMs} ms`),
      );
    } catch (err) {
      if (err instanceof PerfError) throw err;
      const code = (err as { code?: string }).code;
      throw new PerfError(ExitCode.CONNECT, `Cannot connect to ${where}: ${code ?? (err as Error).message}`);
    }
    try {
      await withTimeout(
        this.handshake(uri, name),
        timeoutMs,
        () => new PerfError(ExitCode.CONNECT, `Cannot open a connection to ${where}: no handshake within ${timeoutMs} ms`),
      );
    } catch (err) {
      this.socket.terminate();
      if (err instanceof PerfError && err.code !== ExitCode.INTERNAL) throw new PerfError(ExitCode.CONNECT, err.message);
      throw err;
    }
  }

  private async handshake(uri: AmqpUri, name: string): Promise<void> {
    const start = this.expect(0);
    this.socket!.write(PROTOCOL_HEADER);
    const startMethod = await start;
    if (startMethod.id !== MethodId.ConnectionStart) throw this.unexpected(startMethod, "connection.start");
    const tune = this.expect(0);
    this.send(0, {
      id: MethodId.ConnectionStartOk,
      clientProperties: {
        product: "warren perf",
        connection_name: name,
        capabilities: {
          publisher_confirms: true,
          "basic.nack": true,
          consumer_cancel_notify: true,
          "connection.blocked": true,
          authentication_failure_close: true,
        },
      },
      mechanism: "PLAIN",
      response: new TextEncoder().encode(`\0${uri.username}\0${uri.password}`),
      locale: "en_US",
    });
    const tuneMethod = await tune;
    if (tuneMethod.id !== MethodId.ConnectionTune) throw this.unexpected(tuneMethod, "connection.tune");
    this.frameMax = tuneMethod.frameMax === 0 ? CLIENT_FRAME_MAX : Math.min(tuneMethod.frameMax, CLIENT_FRAME_MAX);
    const channelMax = tuneMethod.channelMax === 0 ? 2047 : Math.min(tuneMethod.channelMax, 2047);
    this.send(0, { id: MethodId.ConnectionTuneOk, channelMax, frameMax: this.frameMax, heartbeat: 0 });
    const opened = await this.rpc(0, { id: MethodId.ConnectionOpen, virtualHost: uri.vhost, capabilities: "", insist: false });
    if (opened.id !== MethodId.ConnectionOpenOk) throw this.unexpected(opened, "connection.open-ok");
    await this.rpc(1, { id: MethodId.ChannelOpen, outOfBand: "" });
  }

  /** Sends a method and waits for the broker's next method on that channel. */
  rpc(channel: number, method: AmqpMethod): Promise<AmqpMethod> {
    const reply = this.expect(channel);
    this.send(channel, method);
    return reply;
  }

  /** Appends a method frame and flushes. */
  send(channel: number, method: AmqpMethod): void {
    writeMethodFrame(this.out, channel, method);
    this.flush();
  }

  private expect(channel: number): Promise<AmqpMethod> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ channel, resolve, reject }));
  }

  /** Hands the buffered bytes to the socket; a short write sets `blocked` until drain. */
  flush(): void {
    const w = this.out;
    if (this.blocked || w.pos === 0 || !this.socket) return;
    const n = this.socket.write(w.written());
    if (n < 0) return; // closed: onSocketClose reports it
    if (n < w.pos) {
      w.bytes.copyWithin(0, n, w.pos);
      w.pos -= n;
      this.blocked = true;
      return;
    }
    w.reset();
  }

  private onDrain(): void {
    if (!this.blocked) return;
    this.blocked = false;
    this.flush();
    if (!this.blocked) this.onWritable?.();
  }

  private onData(chunk: Uint8Array): void {
    this.chunkTime = performance.now();
    try {
      this.splitter.push(chunk, this.sink);
    } catch (err) {
      this.fail(new PerfError(ExitCode.BROKER_CLOSED, `Broker sent a malformed frame: ${(err as Error).message}`));
      this.socket?.terminate();
      return;
    }
    this.chunkHandler?.afterChunk();
    this.flush();
  }

  private onFrame(type: number, channel: number, bytes: Uint8Array, start: number, end: number): void {
    if (type === FRAME_METHOD) {
      const id = u32(bytes, start);
      if (id === MethodId.BasicDeliver) {
        const tagAt = start + 5 + bytes[start + 4]!; // after the consumer tag
        this.deliveryTag = u64(bytes, tagAt);
        this.redelivered = (bytes[tagAt + 8]! & 1) === 1;
        this.contentState = DELIVER_CONTENT;
        this.bodyLeft = -1;
        return;
      }
      if (id === MethodId.BasicAck || id === MethodId.BasicNack) {
        this.confirms?.onConfirm(u64(bytes, start + 4), (bytes[start + 12]! & 1) === 1, id === MethodId.BasicNack);
        return;
      }
      this.onMethod(channel, decodeMethod(this.reader.reset(bytes, start, end)));
      return;
    }
    if (type === FRAME_HEADER) {
      const size = u64(bytes, start + 4);
      if (this.contentState !== DELIVER_CONTENT) {
        if (size === 0) this.contentState = EMPTY_CHUNK_STATE;
        else this.bodyLeft = size;
        return;
      }
      this.bodyLeft = size;
      this.bodySeen = 0;
      this.sentAt = NaN;
      this.ours = true;
      if (size === 0) this.delivered();
      return;
    }
    if (type === FRAME_BODY) {
      const length = end - start;
      if (this.contentState === DELIVER_CONTENT) {
        if (this.bodySeen === 0) this.readStamp(bytes, start, length);
        this.bodySeen += length;
      }
      this.bodyLeft -= length;
      if (this.bodyLeft <= 0) {
        if (this.contentState === DELIVER_CONTENT) this.delivered();
        this.contentState = EMPTY_CHUNK_STATE;
      }
      return;
    }
    if (type === FRAME_HEARTBEAT) {
      writeHeartbeatFrame(this.out);
    }
  }

  /**
   * A body of at least STAMP_BYTES carries a timestamp and a run id; others are just counted.
   * The bytes are read by hand: a DataView over the chunk would need `chunk.buffer`, which Bun
   * makes on first use for each socket chunk (a quarter of the client's CPU with 40 connections).
   */
  private readStamp(bytes: Uint8Array, start: number, length: number): void {
    if (length < STAMP_BYTES || this.runId === 0) return;
    const runId = u32(bytes, start + 8);
    if (runId !== this.runId) {
      this.ours = false;
      return;
    }
    const stamp = this.stamp;
    for (let i = 0; i < 8; i++) stamp[i] = bytes[start + i]!;
    this.sentAt = this.stampView.getFloat64(0);
  }

  private delivered(): void {
    this.contentState = EMPTY_CHUNK_STATE;
    this.deliveries?.onDelivery(this.deliveryTag, this.redelivered, this.sentAt, this.ours);
  }

  private onMethod(channel: number, m: AmqpMethod): void {
    switch (m.id) {
      case MethodId.BasicReturn:
        this.contentState = OTHER_CONTENT;
        this.confirms?.onReturn();
        return;
      case MethodId.BasicGetOk:
        this.contentState = OTHER_CONTENT;
        break;
      case MethodId.ConnectionBlocked:
        this.brokerBlocked = true;
        return;
      case MethodId.ConnectionUnblocked:
        this.brokerBlocked = false;
        return;
      case MethodId.ChannelClose:
        this.send(channel, { id: MethodId.ChannelCloseOk });
        this.fail(new PerfError(ExitCode.BROKER_CLOSED, `Broker closed channel ${channel}: ${closeText(m)}`));
        return;
      case MethodId.ConnectionClose:
        this.send(0, { id: MethodId.ConnectionCloseOk });
        this.fail(new PerfError(ExitCode.BROKER_CLOSED, `Broker closed the connection: ${closeText(m)}`));
        this.socket?.end();
        return;
      case MethodId.BasicCancel:
        this.fail(new PerfError(ExitCode.BROKER_CLOSED, `Broker cancelled consumer "${m.consumerTag}" (queue deleted?)`));
        return;
    }
    const i = this.waiters.findIndex((w) => w.channel === channel);
    if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(m);
  }

  private onSocketClose(error?: Error): void {
    if (this.closing && !error) {
      this.fail(new PerfError(ExitCode.INTERNAL, "connection closed"), false);
      return;
    }
    const why = error ? `: ${(error as { code?: string }).code ?? error.message}` : "";
    this.fail(new PerfError(ExitCode.BROKER_CLOSED, `Connection lost${why}`));
  }

  private fail(error: PerfError, report = true): void {
    if (this.failure) return;
    this.failure = error;
    for (const w of this.waiters.splice(0)) w.reject(error);
    if (report) this.onFailure?.(error);
  }

  private unexpected(m: AmqpMethod, wanted: string): PerfError {
    return new PerfError(ExitCode.BROKER_CLOSED, `Expected ${wanted} from the broker, got ${methodName(m.id)}`);
  }

  /** connection.close and wait (bounded) for close-ok; then the socket goes. */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.failure || this.closing || !this.socket) {
      this.socket?.terminate();
      return;
    }
    this.closing = true;
    try {
      await withTimeout(
        this.rpc(0, { id: MethodId.ConnectionClose, replyCode: 200, replyText: "Goodbye", classId: 0, methodId: 0 }),
        timeoutMs,
        () => new PerfError(ExitCode.TIMEOUT, "no close-ok"),
      );
    } catch {
      // closing regardless
    }
    this.socket.end();
  }

  /** Closes at once (after a failure or at the hard time limit). */
  terminate(): void {
    this.closing = true;
    this.socket?.terminate();
  }
}

function u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) >>> 0) + (bytes[at + 1]! << 16) + (bytes[at + 2]! << 8) + bytes[at + 3]!;
}

function u64(bytes: Uint8Array, at: number): number {
  return u32(bytes, at) * 0x1_0000_0000 + u32(bytes, at + 4);
}

function closeText(m: { replyCode: number; replyText: string; classId: number; methodId: number }): string {
  const cause = m.classId ? ` (in reply to ${methodName((m.classId << 16) | m.methodId)})` : "";
  const text = m.replyText.startsWith(replyCodeName(m.replyCode)) ? m.replyText : `${replyCodeName(m.replyCode)} - ${m.replyText}`;
  return `${m.replyCode} ${text}${cause}`;
}

/** Rejects with `error()` when `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(error()), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
