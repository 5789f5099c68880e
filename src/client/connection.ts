// The outbound AMQP 0-9-1 connection: protocol header, start/tune/open handshake, heartbeats,
// channels, connection.blocked, and closing either way. It speaks through the broker's own codec
// (src/amqp) over any TcpSocket: a real socket (runtime/tcp_connect.ts) or the in-process pipe
// into this broker (direct.ts).
import { type FrameSink, FrameSplitter } from "../amqp/frame_splitter.ts";
import { writeHeartbeatFrame, writeMethodFrame } from "../amqp/frames.ts";
import { Reader } from "../amqp/reader.ts";
import { FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, ReplyCode } from "../amqp/spec/constants.gen.ts";
import { type AmqpMethod, decodeMethod, MethodId } from "../amqp/spec/methods.gen.ts";
import { encodeTable, type FieldTable } from "../amqp/table.ts";
import { decodeUtf8, encodeUtf8 } from "../amqp/utf8.ts";
import { Writer } from "../amqp/writer.ts";
import { Output } from "../connection/output.ts";
import type { TcpHandler, TcpSocket } from "../runtime/tcp.ts";
import { after, every, type Timer } from "../runtime/timers.ts";
import { ClientChannel } from "./channel.ts";
import { ClientError, serverClosed, socketClosed } from "./errors.ts";
import type { AmqpUri } from "./uri.ts";

const PROTOCOL_HEADER = new Uint8Array([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
/** Output above this many bytes makes channels unwritable (socket back-pressure). */
export const OUTPUT_HIGH_WATER = 1024 * 1024;
const CLOSE_TIMEOUT_MS = 5_000;

export interface HandshakeOptions {
  /** Shown by the server as the connection's user_provided_name. */
  connectionName: string | undefined;
  clientProperties: FieldTable | undefined;
  /** For a direct connection without credentials: log in as the user the transport vouches for. */
  external: boolean;
}

type State = "handshake" | "open" | "closing" | "closed";

export class ClientConnection implements TcpHandler, FrameSink {
  state: State = "handshake";
  serverProperties: FieldTable = {};
  frameMax = 131072;
  channelMax = 2047;
  heartbeat = 0;
  /** The server sent connection.blocked (a resource alarm): publishing waits. */
  blocked = false;
  blockedReason = "";
  /** Why it closed (undefined while open, or when we closed it cleanly). */
  closeReason: ClientError | undefined;
  output!: Output;
  socket!: TcpSocket;
  readonly channels = new Map<number, ClientChannel>();
  bytesReceived = 0;

  private readonly splitter = new FrameSplitter(0);
  private readonly reader = new Reader();
  private ready!: { resolve: () => void; reject: (e: ClientError) => void };
  private readonly closeListeners: ((error: ClientError | undefined) => void)[] = [];
  private readonly blockedListeners: ((blocked: boolean, reason: string) => void)[] = [];
  private heartbeatTimer: Timer | undefined;
  private closeTimer: Timer | undefined;
  private closeOk: (() => void) | undefined;
  private nextChannelId = 1;

  constructor(readonly uri: AmqpUri, private readonly options: HandshakeOptions) {}

  /** The server's cluster_name property ("" when it sent none). */
  get clusterName(): string {
    const name = this.serverProperties["cluster_name"];
    return typeof name === "string" ? name : name instanceof Uint8Array ? decodeUtf8(name, 0, name.length) : "";
  }

  /** Called by the transport once the socket exists; resolves when connection.open-ok arrives. */
  attach(socket: TcpSocket): Promise<void> {
    this.socket = socket;
    this.output = new Output(socket);
    this.output.onWritable = () => this.notifyWritable();
    const done = new Promise<void>((resolve, reject) => (this.ready = { resolve, reject }));
    this.output.writer.raw(PROTOCOL_HEADER);
    this.output.schedule();
    return done;
  }

  onBlocked(fn: (blocked: boolean, reason: string) => void): void {
    this.blockedListeners.push(fn);
  }

  // ------------------------------------------------------------------------------ input

  onData(chunk: Uint8Array): void {
    this.bytesReceived += chunk.length;
    if (this.state === "closed") return;
    try {
      this.splitter.push(chunk, this);
    } catch (err) {
      this.fail(new ClientError(`connection error: ${(err as Error).message}`, ReplyCode.FRAME_ERROR, "client"), true);
    }
  }

  onFrame(type: number, channelId: number, bytes: Uint8Array, start: number, end: number): void {
    if (this.state === "closed") return;
    if (type === FRAME_HEARTBEAT) return;
    if (type === FRAME_METHOD) {
      const method = decodeMethod(this.reader.reset(bytes, start, end));
      if (channelId === 0) this.onConnectionMethod(method);
      else this.channels.get(channelId)?.onMethod(method);
    } else if (type === FRAME_HEADER || type === FRAME_BODY) {
      this.channels.get(channelId)?.onContentFrame(type, this.reader.reset(bytes, start, end));
    }
  }

  onDrain(): void {
    this.output.onDrain();
  }

  onClose(error?: Error): void;
  onClose(fn: (error: ClientError | undefined) => void): void;
  onClose(arg?: Error | ((error: ClientError | undefined) => void)): void {
    if (typeof arg === "function") return this.addCloseListener(arg);
    const reason = this.state === "handshake"
      ? `connection closed by the server during the handshake${arg ? `: ${arg.message}` : ""} (wrong credentials, vhost or protocol?)`
      : `connection lost${arg ? `: ${arg.message}` : " (socket closed)"}`;
    this.output?.markClosed();
    this.finish(this.state === "closing" && this.closeReason === undefined ? undefined : this.closeReason ?? socketClosed(reason));
  }

  private addCloseListener(fn: (error: ClientError | undefined) => void): void {
    if (this.state === "closed") fn(this.closeReason);
    else this.closeListeners.push(fn);
  }

  private onConnectionMethod(m: AmqpMethod): void {
    switch (m.id) {
      case MethodId.ConnectionStart:
        return this.startOk(m.serverProperties, decodeUtf8(m.mechanisms, 0, m.mechanisms.length).split(" "));
      case MethodId.ConnectionTune:
        return this.tuneOk(m.channelMax, m.frameMax, m.heartbeat);
      case MethodId.ConnectionOpenOk:
        this.state = "open";
        this.ready.resolve();
        return;
      case MethodId.ConnectionClose: {
        this.send(0, { id: MethodId.ConnectionCloseOk });
        const error = serverClosed("connection", m.replyCode, m.replyText, m.classId, m.methodId);
        this.closeReason = error;
        this.output.end();
        this.finish(error);
        return;
      }
      case MethodId.ConnectionCloseOk:
        this.closeOk?.();
        return;
      case MethodId.ConnectionBlocked:
        this.blocked = true;
        this.blockedReason = m.reason;
        for (const fn of this.blockedListeners) fn(true, m.reason);
        return;
      case MethodId.ConnectionUnblocked:
        this.blocked = false;
        for (const fn of this.blockedListeners) fn(false, "");
        this.notifyWritable();
        return;
      default:
        return;
    }
  }

  private startOk(serverProperties: FieldTable, mechanisms: string[]): void {
    this.serverProperties = serverProperties;
    const { username, password } = this.uri;
    const wanted = this.uri.authMechanism ?? (this.options.external ? "EXTERNAL" : "PLAIN");
    if (!mechanisms.includes(wanted)) {
      return this.fail(
        new ClientError(
          `the server offers no ${wanted} authentication (it offers ${mechanisms.join(", ")})`,
          ReplyCode.ACCESS_REFUSED,
          "client",
        ),
        true,
      );
    }
    let response: Uint8Array;
    if (wanted === "EXTERNAL") response = new Uint8Array(0);
    else if (wanted === "AMQPLAIN") response = amqplain(username ?? "guest", password ?? "guest");
    else response = encodeUtf8(`\0${username ?? "guest"}\0${password ?? "guest"}`);
    const clientProperties: FieldTable = {
      product: "Warren",
      platform: "TypeScript",
      information: "Warren's AMQP 0-9-1 client (shovel, federation)",
      capabilities: {
        publisher_confirms: true,
        exchange_exchange_bindings: true,
        "basic.nack": true,
        consumer_cancel_notify: true,
        "connection.blocked": true,
        authentication_failure_close: true,
      },
      ...(this.options.connectionName !== undefined ? { connection_name: this.options.connectionName } : {}),
      ...this.options.clientProperties,
    };
    this.send(0, { id: MethodId.ConnectionStartOk, clientProperties, mechanism: wanted, response, locale: "en_US" });
  }

  private tuneOk(serverChannelMax: number, serverFrameMax: number, serverHeartbeat: number): void {
    this.channelMax = negotiate(serverChannelMax, this.uri.channelMax) || 65535;
    this.frameMax = negotiate(serverFrameMax, this.uri.frameMax) || 131072;
    // amqp_client: heartbeat 0 on either side disables it only if both say 0.
    this.heartbeat = serverHeartbeat === 0 || this.uri.heartbeat === 0
      ? Math.max(serverHeartbeat, this.uri.heartbeat)
      : Math.min(serverHeartbeat, this.uri.heartbeat);
    this.send(0, { id: MethodId.ConnectionTuneOk, channelMax: this.channelMax, frameMax: this.frameMax, heartbeat: this.heartbeat });
    this.send(0, { id: MethodId.ConnectionOpen, virtualHost: this.uri.vhost, capabilities: "", insist: false });
    if (this.heartbeat > 0) this.startHeartbeats();
  }

  private startHeartbeats(): void {
    let lastSent = -1;
    let lastReceived = this.bytesReceived;
    let silentTicks = 0;
    // Tick at half the interval: send when we were silent, give up after two silent intervals.
    this.heartbeatTimer = every((this.heartbeat * 1000) / 2, () => {
      if (this.state === "closed") return;
      if (this.output.bytesSent === lastSent && this.output.bufferedBytes === 0) {
        writeHeartbeatFrame(this.output.writer);
        this.output.schedule();
      }
      lastSent = this.output.bytesSent;
      if (this.bytesReceived === lastReceived) silentTicks++;
      else silentTicks = 0;
      lastReceived = this.bytesReceived;
      if (silentTicks >= 4) {
        this.fail(socketClosed(`missed heartbeats from the server: nothing received for ${this.heartbeat * 2} s`), true);
      }
    });
  }

  // ------------------------------------------------------------------------------ output

  send(channel: number, method: AmqpMethod): void {
    if (this.state === "closed") return;
    writeMethodFrame(this.output.writer, channel, method);
    this.output.schedule();
  }

  /** Socket back-pressure: true while output piles up (publishers should wait). */
  get congested(): boolean {
    return this.output.blocked || this.output.bufferedBytes > OUTPUT_HIGH_WATER;
  }

  /** Stops reading from the socket (the server's deliveries back up there, not in our memory). */
  pauseReading(): void {
    if (this.state !== "closed") this.socket.pause();
  }

  resumeReading(): void {
    if (this.state !== "closed") this.socket.resume();
  }

  private notifyWritable(): void {
    for (const channel of this.channels.values()) channel.notifyWritable();
  }

  get writer(): Writer {
    return this.output.writer;
  }

  // ------------------------------------------------------------------------------ channels

  async openChannel(): Promise<ClientChannel> {
    if (this.state !== "open") throw this.closeReason ?? socketClosed("connection is not open");
    const id = this.allocateChannelId();
    const channel = new ClientChannel(this, id);
    this.channels.set(id, channel);
    await channel.open();
    return channel;
  }

  channelClosed(id: number): void {
    this.channels.delete(id);
  }

  private allocateChannelId(): number {
    for (let i = 0; i < this.channelMax; i++) {
      const id = this.nextChannelId;
      this.nextChannelId = id >= this.channelMax ? 1 : id + 1;
      if (!this.channels.has(id)) return id;
    }
    throw new ClientError(`no free channel: all ${this.channelMax} are open`, ReplyCode.CHANNEL_ERROR, "client");
  }

  // ------------------------------------------------------------------------------ closing

  /** Closes politely (connection.close, wait for close-ok, at most 5 s), then the socket. */
  async close(code = 200, text = "Goodbye"): Promise<void> {
    if (this.state === "closed" || this.state === "closing") return;
    if (this.state === "handshake") return this.terminate();
    this.state = "closing";
    await new Promise<void>((resolve) => {
      this.closeOk = resolve;
      this.closeTimer = after(CLOSE_TIMEOUT_MS, resolve);
      this.addCloseListener(() => resolve());
      this.send(0, { id: MethodId.ConnectionClose, replyCode: code, replyText: text, classId: 0, methodId: 0 });
    });
    this.output.end();
    this.finish(undefined);
  }

  /** Drops the socket at once (what a lost link looks like to the server). */
  terminate(): void {
    if (this.state === "closed") return;
    this.output?.terminate();
    this.finish(this.closeReason ?? new ClientError("connection terminated by the client", 0, "client"));
  }

  /** A failure found on our side: close the connection with `error` as the reason. */
  fail(error: ClientError, dropSocket: boolean): void {
    if (this.state === "closed") return;
    this.closeReason = error;
    if (dropSocket) this.output?.terminate();
    else this.output?.end();
    this.finish(error);
  }

  private finish(error: ClientError | undefined): void {
    if (this.state === "closed") return;
    const wasHandshake = this.state === "handshake";
    this.state = "closed";
    this.closeReason ??= error;
    this.heartbeatTimer?.cancel();
    this.closeTimer?.cancel();
    const reason = this.closeReason ?? new ClientError("connection closed", 200, "client");
    if (wasHandshake) this.ready?.reject(reason);
    for (const channel of [...this.channels.values()]) channel.connectionClosed(reason);
    this.channels.clear();
    for (const fn of this.closeListeners.splice(0)) fn(this.closeReason);
  }
}

/** tune negotiation: 0 means no limit, so the smaller non-zero value wins. */
function negotiate(server: number, client: number): number {
  if (server === 0) return client;
  if (client === 0) return server;
  return Math.min(server, client);
}

/** AMQPLAIN's response: a field table without its size prefix. */
function amqplain(login: string, password: string): Uint8Array {
  const w = new Writer(64);
  encodeTable(w, { LOGIN: login, PASSWORD: password });
  return w.written().slice(4);
}
