import { writeDeliver } from "../amqp/frames.ts";
import { MethodId } from "../amqp/spec/methods.gen.ts";
import type { FieldTable } from "../amqp/table.ts";
import type { Queue, QueueConsumer } from "../broker/queue.ts";
import type { QueueEntry } from "../broker/queue_entry.ts";
import type { Channel } from "./channel.ts";

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
      channel.unacked.set(tag, { tag, entry, queue, consumer: this });
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
    writeDeliver(
      connection.output.writer, channel.id, this.tag, tag, entry.redelivered,
      m.exchange, m.routingKey, entry.deliveryCount === undefined ? m.properties : queue.deliveryProperties(entry, false),
      m.body, connection.frameMax,
    );
    connection.output.schedule();
  }

  cancelledByServer(_queue: Queue): void {
    const channel = this.channel;
    channel.consumers.delete(this.tag);
    // Only clients that announce consumer_cancel_notify get basic.cancel, as in RabbitMQ.
    // Not on a connection being closed (vhost deleted): connection.close is its last word.
    const connection = channel.connection;
    if (connection.capabilities["consumer_cancel_notify"] === true && channel.state === "open" && connection.state === "running") {
      connection.send(channel.id, { id: MethodId.BasicCancel, consumerTag: this.tag, nowait: true });
    }
  }
}
