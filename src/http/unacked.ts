// Unacknowledged deliveries per queue: queues do not count them (channels hold them), so the
// management API and the metrics add them up from every channel when asked.
import type { AmqpBroker } from "../connection/channel.ts";
import type { Queue } from "../broker/queue.ts";

export interface UnackedTotals {
  count: number;
  bytes: number;
}

export function unackedByQueue(broker: AmqpBroker): Map<Queue, UnackedTotals> {
  const out = new Map<Queue, UnackedTotals>();
  const add = (queue: Queue, bytes: number) => {
    if (queue.type === "stream") return; // a delivery leaves nothing in a stream: RabbitMQ shows 0 unacked
    const t = out.get(queue);
    if (t) {
      t.count++;
      t.bytes += bytes;
    } else out.set(queue, { count: 1, bytes });
  };
  for (const connection of broker.connections) {
    for (const channel of connection.channels.values()) {
      for (const u of channel.unacked.values()) add(u.queue, u.entry.message.bodySize);
      // Acks held in an open transaction are still unacknowledged.
      for (const held of channel.tx?.acks ?? []) for (const u of held.deliveries) add(u.queue, u.entry.message.bodySize);
    }
  }
  return out;
}
