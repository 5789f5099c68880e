// One consumer: a connection with channel 1 consuming one queue. Each delivery is counted and,
// when its body carries this run's stamp, timed from publish to arrival (the clock is read once
// per socket chunk). Manual acks go out as one `basic.ack multiple` every `ackEvery` messages.
import { writeMethodFrame } from "../../amqp/frames.ts";
import { type BasicAck, MethodId } from "../../amqp/spec/methods.gen.ts";
import type { ChunkHandler, DeliveryHandler, PerfConnection } from "./connection.ts";
import type { Histogram } from "./histogram.ts";

export interface ConsumeSpec {
  queue: string;
  autoAck: boolean;
  prefetch: number;
  /** Manual acks: ack (multiple) every N deliveries; 1 acks each one on its own. */
  ackEvery: number;
}

export class Consumer implements DeliveryHandler, ChunkHandler {
  /** Deliveries of this run's messages (and of unstamped ones, which cannot be told apart). */
  consumed = 0;
  /** Deliveries of messages another run or client published to the queue. */
  foreign = 0;
  redelivered = 0;
  /** performance.now() of the first delivery (NaN before). */
  firstAt = NaN;
  /**
   * Called after each chunk that delivered something, with how many of this run's messages it
   * held (the run lowers its in-flight count and wakes producers held back).
   */
  onProgress: ((consumed: number) => void) | undefined;
  private unacked = 0;
  private lastTag = 0;
  private progressed = false;
  private consumedInChunk = 0;
  private readonly ack: BasicAck = { id: MethodId.BasicAck, deliveryTag: 0, multiple: true };

  constructor(
    readonly conn: PerfConnection,
    readonly spec: ConsumeSpec,
    /** Shared by the run's consumers: publish → delivery, in µs. */
    readonly latency: Histogram,
  ) {
    conn.deliveries = this;
    conn.chunkHandler = this;
  }

  async start(tag: string): Promise<void> {
    const { queue, autoAck, prefetch } = this.spec;
    if (!autoAck && prefetch > 0) {
      await this.conn.rpc(1, { id: MethodId.BasicQos, prefetchSize: 0, prefetchCount: prefetch, global: false });
    }
    await this.conn.rpc(1, {
      id: MethodId.BasicConsume,
      ticket: 0,
      queue,
      consumerTag: tag,
      noLocal: false,
      noAck: autoAck,
      exclusive: false,
      nowait: false,
      arguments: {},
    });
  }

  onDelivery(deliveryTag: number, redelivered: boolean, sentAt: number, ours: boolean): void {
    if (this.consumed + this.foreign === 0) this.firstAt = this.conn.chunkTime;
    if (ours) {
      this.consumed++;
      this.consumedInChunk++;
    } else this.foreign++;
    if (redelivered) this.redelivered++;
    if (sentAt === sentAt) this.latency.record((this.conn.chunkTime - sentAt) * 1000); // not NaN
    this.progressed = true;
    if (this.spec.autoAck) return;
    this.lastTag = deliveryTag;
    if (++this.unacked >= this.spec.ackEvery) this.sendAck();
  }

  /** Acks everything received so far (the end of a run, or a quiet moment). */
  ackAll(): void {
    if (this.unacked > 0) {
      this.sendAck();
      this.conn.flush();
    }
  }

  private sendAck(): void {
    this.ack.deliveryTag = this.lastTag;
    this.ack.multiple = this.spec.ackEvery > 1;
    writeMethodFrame(this.conn.out, 1, this.ack);
    this.unacked = 0;
  }

  afterChunk(): void {
    if (!this.progressed) return;
    this.progressed = false;
    const consumed = this.consumedInChunk;
    this.consumedInChunk = 0;
    this.onProgress?.(consumed);
  }
}
