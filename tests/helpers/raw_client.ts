// A tiny raw AMQP 0-9-1 client over node:net for malformed-input tests, built on the project's
// own codec. It records every frame the server sends, lets a test write arbitrary bytes, and
// every wait has a timeout so that no test can hang on a silent server.
import * as net from "node:net";
import { type FrameSink, FrameSplitter } from "../../src/amqp/frame_splitter.ts";
import { writeBodyFrames, writeContentHeaderFrame, writeHeartbeatFrame, writeMethodFrame } from "../../src/amqp/frames.ts";
import { Reader } from "../../src/amqp/reader.ts";
import { FRAME_HEARTBEAT, FRAME_METHOD } from "../../src/amqp/spec/constants.gen.ts";
import {
  type AmqpMethod,
  type ConnectionClose,
  type ConnectionStart,
  type ConnectionTune,
  decodeMethod,
  MethodId,
  methodName,
} from "../../src/amqp/spec/methods.gen.ts";
import { encodeTable, type FieldTable } from "../../src/amqp/table.ts";
import { Writer } from "../../src/amqp/writer.ts";

export const PROTOCOL_HEADER = new Uint8Array([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]); // "AMQP\0\0\x09\x01"

export interface ReceivedFrame {
  type: number;
  channel: number;
  payload: Uint8Array;
  /** Decoded when type is a method frame and the payload decodes. */
  method?: AmqpMethod;
}

export interface HandshakeOptions {
  user?: string;
  pass?: string;
  /** Defaults to PLAIN; AMQPLAIN encodes LOGIN/PASSWORD as a table. */
  mechanism?: string;
  /** Overrides the SASL response computed from user/pass. */
  response?: Uint8Array;
  vhost?: string;
  clientProperties?: FieldTable;
  /** Values for tune-ok; each defaults to what the server offered. */
  tune?: { channelMax?: number; frameMax?: number; heartbeat?: number };
  /** Stop after sending this step (no further steps, no waiting for open-ok). */
  stopAfter?: "header" | "start-ok" | "tune-ok" | "open";
  timeoutMs?: number;
}

export interface HandshakeResult {
  start: ConnectionStart;
  tune?: ConnectionTune;
  /** Set when the server refused the handshake with connection.close. */
  close?: ConnectionClose;
}

export class RawClient {
  readonly frames: ReceivedFrame[] = [];
  /** Every byte received, in order (the frames are parsed from these). */
  readonly received: Uint8Array[] = [];
  /** Set when the server answered with a protocol header instead of frames. */
  protocolHeaderReply: Uint8Array | undefined;
  closed = false;
  /** A frame the client could not parse (the stream is not AMQP any more). */
  parseError: Error | undefined;
  private cursor = 0;
  private readonly splitter = new FrameSplitter(0);
  private leading = new Uint8Array(0);
  private firstBytesChecked = false;
  private readonly waiters = new Set<() => void>();
  private readonly closedPromise: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    const sink: FrameSink = {
      onFrame: (type, channel, bytes, start, end) => this.onFrame(type, channel, bytes.slice(start, end)),
    };
    socket.on("data", (chunk: Buffer) => {
      this.received.push(new Uint8Array(chunk));
      this.onData(new Uint8Array(chunk), sink);
      this.notify();
    });
    socket.on("error", () => {}); // ECONNRESET and the like count as "closed"
    this.closedPromise = new Promise((resolve) => {
      socket.on("close", () => {
        this.closed = true;
        this.notify();
        resolve();
      });
    });
  }

  static connect(port: number, host = "127.0.0.1", timeoutMs = 5000): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve(new RawClient(socket));
      });
      socket.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  // ------------------------------------------------------------------------------ sending

  send(bytes: Uint8Array | string): void {
    if (this.socket.destroyed) return;
    this.socket.write(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
  }

  sendProtocolHeader(): void {
    this.send(PROTOCOL_HEADER);
  }

  sendMethod(channel: number, method: AmqpMethod): void {
    this.sendWith((w) => writeMethodFrame(w, channel, method));
  }

  /** A heartbeat frame; a non-zero channel makes it malformed on purpose. */
  sendHeartbeat(channel = 0): void {
    if (channel === 0) return this.sendWith((w) => writeHeartbeatFrame(w));
    this.sendFrame(FRAME_HEARTBEAT, channel, new Uint8Array(0));
  }

  sendContentHeader(channel: number, bodySize: number, classId = 60): void {
    this.sendWith((w) => writeContentHeaderFrame(w, channel, classId, bodySize, new Uint8Array([0, 0])));
  }

  sendBody(channel: number, body: Uint8Array, frameMax = 0): void {
    this.sendWith((w) => writeBodyFrames(w, channel, body, frameMax));
  }

  /** Any frame, with the size taken from the payload unless `declaredSize` says otherwise. */
  sendFrame(type: number, channel: number, payload: Uint8Array, declaredSize = payload.length, end = 0xce): void {
    const w = new Writer(payload.length + 8);
    w.u8(type);
    w.u16(channel);
    w.u32(declaredSize);
    w.raw(payload);
    w.u8(end);
    this.send(w.written().slice());
  }

  private sendWith(fill: (w: Writer) => void): void {
    const w = new Writer(256);
    fill(w);
    this.send(w.written().slice());
  }

  // ------------------------------------------------------------------------------ handshake

  /** Runs the handshake up to connection.open-ok (or `stopAfter`). Throws on timeout. */
  async handshake(opts: HandshakeOptions = {}): Promise<HandshakeResult> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    this.sendProtocolHeader();
    const start = await this.waitForMethod(MethodId.ConnectionStart, timeoutMs);
    if (opts.stopAfter === "header") return { start };
    const user = opts.user ?? "guest";
    const pass = opts.pass ?? "guest";
    const mechanism = opts.mechanism ?? "PLAIN";
    let response = opts.response;
    if (!response && mechanism === "AMQPLAIN") {
      const w = new Writer();
      encodeTable(w, { LOGIN: user, PASSWORD: pass });
      response = w.written().slice(4); // the table's fields without its length prefix
    }
    response ??= new TextEncoder().encode(`\0${user}\0${pass}`);
    const clientProperties: FieldTable = opts.clientProperties ?? {
      product: "warren raw test client",
      capabilities: { authentication_failure_close: true },
    };
    this.sendMethod(0, { id: MethodId.ConnectionStartOk, clientProperties, mechanism, response, locale: "en_US" });
    if (opts.stopAfter === "start-ok") return { start };
    const next = await this.waitForAnyMethod([MethodId.ConnectionTune, MethodId.ConnectionClose], timeoutMs);
    if (next.id === MethodId.ConnectionClose) return { start, close: next };
    const tune = next as ConnectionTune;
    this.sendMethod(0, {
      id: MethodId.ConnectionTuneOk,
      channelMax: opts.tune?.channelMax ?? tune.channelMax,
      frameMax: opts.tune?.frameMax ?? tune.frameMax,
      heartbeat: opts.tune?.heartbeat ?? tune.heartbeat,
    });
    if (opts.stopAfter === "tune-ok") return { start, tune };
    this.sendMethod(0, { id: MethodId.ConnectionOpen, virtualHost: opts.vhost ?? "/", capabilities: "", insist: false });
    if (opts.stopAfter === "open") return { start, tune };
    const done = await this.waitForAnyMethod([MethodId.ConnectionOpenOk, MethodId.ConnectionClose], timeoutMs);
    if (done.id === MethodId.ConnectionClose) return { start, tune, close: done };
    return { start, tune };
  }

  /** Opens a channel and waits for channel.open-ok. */
  async openChannel(channel: number, timeoutMs = 5000): Promise<void> {
    this.sendMethod(channel, { id: MethodId.ChannelOpen, outOfBand: "" });
    await this.waitForMethod(MethodId.ChannelOpenOk, timeoutMs);
  }

  // ------------------------------------------------------------------------------ waiting

  /** The next frame (after earlier waits) carrying method `id`. */
  async waitForMethod<I extends AmqpMethod["id"]>(id: I, timeoutMs = 5000): Promise<Extract<AmqpMethod, { id: I }>> {
    return (await this.waitForAnyMethod([id], timeoutMs)) as Extract<AmqpMethod, { id: I }>;
  }

  async waitForAnyMethod(ids: readonly number[], timeoutMs = 5000): Promise<AmqpMethod> {
    const frame = await this.waitForFrame(
      (f) => f.method !== undefined && ids.includes(f.method.id),
      timeoutMs,
      () => `waiting for ${ids.map(methodName).join(" or ")}`,
    );
    return frame.method!;
  }

  /** The next frame (after earlier waits) matching `match`; consumes it and those before it. */
  waitForFrame(match: (f: ReceivedFrame) => boolean, timeoutMs = 5000, what?: () => string): Promise<ReceivedFrame> {
    return this.waitUntil(
      () => {
        for (let i = this.cursor; i < this.frames.length; i++) {
          if (match(this.frames[i]!)) {
            this.cursor = i + 1;
            return this.frames[i]!;
          }
        }
        return undefined;
      },
      timeoutMs,
      what ?? (() => "waiting for a frame"),
    );
  }

  /** Resolves when the server closed the socket; rejects after `timeoutMs`. */
  async waitForClose(timeoutMs = 5000): Promise<void> {
    await this.waitUntil(() => (this.closed ? true : undefined), timeoutMs, () => "waiting for the socket to close");
  }

  /** Resolves true once closed, false if still open after `ms`. */
  async closedWithin(ms: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const result = await Promise.race([this.closedPromise.then(() => true), timeout]);
    clearTimeout(timer);
    return result;
  }

  heartbeatsReceived(): number {
    return this.frames.filter((f) => f.type === FRAME_HEARTBEAT).length;
  }

  /** All bytes received so far, concatenated. */
  allBytes(): Uint8Array {
    return Buffer.concat(this.received);
  }

  /** Closes the socket from the client side, at once. */
  destroy(): void {
    this.socket.destroy();
  }

  private waitUntil<T>(check: () => T | undefined, timeoutMs: number, what: () => string): Promise<T> {
    return new Promise((resolve, reject) => {
      const attempt = (): boolean => {
        const value = check();
        if (value === undefined) return false;
        cleanup();
        resolve(value);
        return true;
      };
      const waiter = () => {
        if (attempt()) return;
        if (this.closed) {
          cleanup();
          reject(new Error(`${what()}: the socket closed first; received ${this.describe()}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${what()}: timed out after ${timeoutMs} ms; received ${this.describe()}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
      waiter();
    });
  }

  /** A summary of what arrived, for failure messages. */
  describe(): string {
    const parts = this.frames.map((f) => {
      if (f.type === FRAME_HEARTBEAT) return `heartbeat(ch ${f.channel})`;
      if (!f.method) return `frame(type ${f.type}, ch ${f.channel}, ${f.payload.length} bytes)`;
      const m = f.method;
      if (m.id === MethodId.ConnectionClose || m.id === MethodId.ChannelClose) {
        return `${methodName(m.id)}(ch ${f.channel}, ${m.replyCode} "${m.replyText}", ${m.classId}/${m.methodId})`;
      }
      return `${methodName(m.id)}(ch ${f.channel})`;
    });
    if (this.protocolHeaderReply) {
      parts.unshift(`protocol header ${JSON.stringify(Buffer.from(this.protocolHeaderReply).toString("latin1"))}`);
    }
    if (this.parseError) parts.push(`unparseable bytes (${this.parseError.message})`);
    return `[${parts.join(", ")}]${this.closed ? " then socket closed" : ""}`;
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private onData(chunk: Uint8Array, sink: FrameSink): void {
    if (this.parseError) return;
    // The server may answer a bad protocol header with its own 8-byte header instead of frames.
    if (!this.firstBytesChecked) {
      const joined = new Uint8Array(this.leading.length + chunk.length);
      joined.set(this.leading);
      joined.set(chunk, this.leading.length);
      if (joined[0] === 0x41) { // "A"
        if (joined.length < 8) {
          this.leading = joined;
          return;
        }
        this.protocolHeaderReply = joined.slice(0, 8);
        chunk = joined.subarray(8);
      } else {
        chunk = joined;
      }
      this.firstBytesChecked = true;
      this.leading = new Uint8Array(0);
    }
    try {
      this.splitter.push(chunk, sink);
    } catch (err) {
      this.parseError = err as Error;
    }
  }

  private onFrame(type: number, channel: number, payload: Uint8Array): void {
    const frame: ReceivedFrame = { type, channel, payload };
    if (type === FRAME_METHOD) {
      try {
        frame.method = decodeMethod(new Reader(payload));
      } catch {
        // left undecoded; the payload is still there for the test to look at
      }
    }
    this.frames.push(frame);
  }
}

/** Connects, runs the whole handshake and fails loudly if the server refused it. */
export async function openRawConnection(port: number, opts: HandshakeOptions = {}, host = "127.0.0.1"): Promise<RawClient> {
  const client = await RawClient.connect(port, host);
  const result = await client.handshake(opts);
  if (result.close) {
    client.destroy();
    throw new Error(`handshake refused: ${result.close.replyCode} ${result.close.replyText}`);
  }
  return client;
}
