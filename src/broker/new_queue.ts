// A new queue object of the declared type: a stream (x-queue-type: stream) is a StreamQueue,
// everything else a Queue (classic and quorum differ by settings inside it).
import type { FieldTable } from "../amqp/table.ts";
import { Queue, type QueueOwner } from "./queue.ts";
import { StreamQueue } from "./stream_queue.ts";

export function newQueue(
  vhost: string,
  name: string,
  durable: boolean,
  autoDelete: boolean,
  owner: QueueOwner | null,
  args: FieldTable,
): Queue {
  return args["x-queue-type"] === "stream" ? new StreamQueue(vhost, name, args) : new Queue(vhost, name, durable, autoDelete, owner, args);
}
