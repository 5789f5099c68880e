// One producer: a connection with channel 1 that publishes prebuilt message templates in
// batches. Each batch reads the clock once, stamps it into the template(s) and copies them into
// the connection's write buffer; the batch size is whatever the confirm window, the backlog cap,
// the rate and a 64 KiB write allow. Confirm latency uses a ring of send times, one slot per
// message in the window.
import { writeBodyFrames, writeContentHeaderFrame, writeMethodFrame } from "../../amqp/frames.ts";
import { Writer } from "../../amqp/writer.ts";
import { encodeProperties } from "../../amqp/spec/properties.gen.ts";
import { MethodId } from "../../amqp/spec/methods.gen.ts";
import type { ChunkHandler, ConfirmHandler, PerfConnection } from "./connection.ts";
import { STAMP_BYTES } from "./connection.ts";
import type { Histogram } from "./histogram.ts";

export interface PublishSpec {
  exchange: string;
  /** Cycled through, one key per message. */
  routingKeys: string[];
  size: number;
  persistent: boolean;
  mandatory: boolean;
  /** Publisher confirms with at most this many unconfirmed (0 = no confirms). */
  confirmWindow: number;
  /** Messages per second for this producer (0 = as fast as possible). */
  rate: number;
  /** Stop after this many messages (0 = until stopped). */
  limit: number;
}

/** What producers share with the run: the backlog cap (closed loop) and the stop signal. */
export interface PublishGate {
  /** How many more messages the run lets producers publish now. */
  room(): number;
  /** Messages published (+n) or returned (-1): the cap counts what is in flight. */
  inFlight(delta: number): void;
  /** Wait until room() is at least this (or the end is nearer): fewer, fuller writes. */
  readonly refill: number;
  /** Called after each socket chunk of confirms or returns (the run re-checks what it waits for). */
  progressed(): void;
  stopped: boolean;
}

/** Bytes per write: large enough for few syscalls, small enough to keep reads flowing. */
const BATCH_BYTES = 64 * 1024;

export class Publisher implements ConfirmHandler, ChunkHandler {
  published = 0;
  confirmed = 0;
  nacked = 0;
  returned = 0;
  private readonly templates: Uint8Array[];
  /** Offset of the body's first byte in each template, where the stamp goes (-1: too small). */
  private readonly stampAt: number[];
  private readonly stampViews: DataView[];
  private readonly sentAt: Float64Array;
  private readonly perBatch: number;
  private readonly windowRefill: number;
  private nextKey = 0;
  private startedAt = 0;
  /** Replies during setup (confirm.select-ok) must not start publishing before the run does. */
  private started = false;
  private scheduled = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly conn: PerfConnection,
    private readonly spec: PublishSpec,
    private readonly gate: PublishGate,
    /** Shared by the run's producers: publish → confirm, in µs. */
    readonly confirmLatency: Histogram,
  ) {
    const built = spec.routingKeys.map((key) => buildTemplate(conn, spec, key));
    this.templates = built.map((b) => b.bytes);
    this.stampAt = built.map((b) => b.stampAt);
    this.stampViews = this.templates.map((t) => new DataView(t.buffer, t.byteOffset, t.byteLength));
    for (let i = 0; i < this.templates.length; i++) {
      if (this.stampAt[i]! >= 0) this.stampViews[i]!.setUint32(this.stampAt[i]! + 8, conn.runId);
    }
    this.sentAt = new Float64Array(Math.max(1, spec.confirmWindow));
    this.perBatch = Math.max(1, Math.floor(BATCH_BYTES / this.templates[0]!.length));
    this.windowRefill = Math.max(1, Math.floor(spec.confirmWindow / 4));
    conn.confirms = this;
    conn.chunkHandler = this;
    conn.onWritable = this.pump;
  }

  /** confirm.select when confirms are on. */
  async prepare(): Promise<void> {
    if (this.spec.confirmWindow > 0) await this.conn.rpc(1, { id: MethodId.ConfirmSelect, nowait: false });
  }

  start(): void {
    this.startedAt = performance.now();
    this.started = true;
    this.pump();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  get outstanding(): number {
    return this.spec.confirmWindow > 0 ? this.published - this.confirmed - this.nacked : 0;
  }

  /** Publishes what is allowed now; bound once so it can be a callback without a closure per use. */
  readonly pump = (): void => {
    this.scheduled = false;
    const conn = this.conn;
    const spec = this.spec;
    if (!this.started || this.gate.stopped || conn.blocked || conn.failure) return;
    const left = spec.limit > 0 ? spec.limit - this.published : Infinity;
    const windowRoom = spec.confirmWindow > 0 ? spec.confirmWindow - this.outstanding : Infinity;
    const gateRoom = this.gate.room();
    // Refilling a few freed slots at a time would cost a write per few messages when the broker
    // is slow: wait until a quarter of the window (an eighth of the backlog cap) is free.
    if (spec.rate === 0 && left > 0 && (windowRoom < Math.min(this.windowRefill, left) || gateRoom < Math.min(this.gate.refill, left))) {
      return;
    }
    const n = Math.min(this.perBatch, left, windowRoom, gateRoom);
    if (spec.rate > 0) {
      const due = Math.floor((spec.rate * (performance.now() - this.startedAt)) / 1000) + 1 - this.published;
      if (due <= 0) {
        this.timer ??= setTimeout(this.onTimer, Math.max(1, 1000 / spec.rate - 0.5));
        return;
      }
      return this.publish(Math.min(n, due));
    }
    this.publish(n);
  };

  private publish(n: number): void {
    const conn = this.conn;
    const spec = this.spec;
    if (n <= 0) return; // a confirm, a consumed message or drain calls pump again
    this.write(n);
    conn.flush();
    if (this.published === spec.limit) this.gate.progressed(); // the last one: the run may be waiting for it
    // More is allowed at once: come back after pending I/O (reads must keep flowing).
    if (!conn.blocked && (spec.rate === 0 || this.timer === undefined)) this.again();
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.pump();
  };

  private again(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.pump);
  }

  private write(n: number): void {
    const now = performance.now();
    const w = this.conn.out;
    const templates = this.templates;
    const count = templates.length;
    for (let i = 0; i < count; i++) if (this.stampAt[i]! >= 0) this.stampViews[i]!.setFloat64(this.stampAt[i]!, now);
    if (count === 1) {
      const t = templates[0]!;
      w.ensure(t.length * n);
      for (let i = 0; i < n; i++) {
        w.bytes.set(t, w.pos);
        w.pos += t.length;
      }
    } else {
      let key = this.nextKey;
      for (let i = 0; i < n; i++) {
        const t = templates[key]!;
        w.ensure(t.length);
        w.bytes.set(t, w.pos);
        w.pos += t.length;
        if (++key === count) key = 0;
      }
      this.nextKey = key;
    }
    if (this.spec.confirmWindow > 0) {
      const ring = this.sentAt;
      for (let seq = this.published + 1, last = this.published + n; seq <= last; seq++) ring[seq % ring.length] = now;
    }
    this.published += n;
    this.gate.inFlight(n);
  }

  onConfirm(tag: number, multiple: boolean, nack: boolean): void {
    const from = multiple ? this.confirmed + this.nacked + 1 : tag;
    const count = tag - from + 1;
    if (count <= 0) return;
    const now = this.conn.chunkTime;
    const ring = this.sentAt;
    if (!nack) {
      // A single ack may come out of order; its send time is still in the ring.
      for (let seq = from; seq <= tag; seq++) this.confirmLatency.record((now - ring[seq % ring.length]!) * 1000);
      this.confirmed += count;
    } else {
      this.nacked += count;
    }
  }

  onReturn(): void {
    this.returned++;
    this.gate.inFlight(-1);
  }

  afterChunk(): void {
    this.pump();
    this.gate.progressed();
  }
}

/** publish method + content header + body frames for one routing key, as one byte array. */
function buildTemplate(conn: PerfConnection, spec: PublishSpec, routingKey: string): { bytes: Uint8Array; stampAt: number } {
  const w = new Writer(256 + spec.size);
  writeMethodFrame(w, 1, {
    id: MethodId.BasicPublish,
    ticket: 0,
    exchange: spec.exchange,
    routingKey,
    mandatory: spec.mandatory,
    immediate: false,
  });
  const props = new Writer(16);
  encodeProperties(props, spec.persistent ? { deliveryMode: 2 } : {});
  writeContentHeaderFrame(w, 1, 60, spec.size, props.written());
  const stampAt = spec.size >= STAMP_BYTES ? w.pos + 7 : -1; // after the body frame's 7-byte header
  writeBodyFrames(w, 1, new Uint8Array(spec.size), conn.frameMax);
  return { bytes: w.written().slice(), stampAt };
}
