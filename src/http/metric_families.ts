// rabbitmq_prometheus's metric groups (the `family` names of /metrics/detailed), each writing its
// metrics under a prefix: "rabbitmq_" for /metrics and /metrics/per-object, "rabbitmq_detailed_"
// for /metrics/detailed. Per-object samples carry RabbitMQ's labels (vhost and queue; channel).
import type { Queue } from "../broker/queue.ts";
import type { AmqpBroker as Broker, AmqpConnection as Connection, Channel } from "../connection/channel.ts";
import { fileDescriptorLimit, freeDiskBytes, openFileDescriptors, residentMemory } from "../runtime/system.ts";
import type { Exposition, MetricType } from "./exposition.ts";
import { channelName } from "./format.ts";
import { queueChurn } from "./rates.ts";
import { unackedByQueue, type UnackedTotals } from "./unacked.ts";

/** What the families read, gathered once per scrape. */
export interface Sources {
  broker: Broker;
  queues: Queue[];
  connections: Connection[];
  channels: Channel[];
  unacked: Map<Queue, UnackedTotals>;
}

/** The objects of a scrape; `vhosts` narrows queues, channels and connections (detailed's ?vhost=). */
export function gather(broker: Broker, vhosts?: ReadonlySet<string>): Sources {
  const inScope = (name: string | undefined) => vhosts === undefined || (name !== undefined && vhosts.has(name));
  const queues = [...broker.vhosts.values()].filter((v) => inScope(v.name)).flatMap((v) => [...v.queues.values()]);
  const connections = [...broker.connections].filter((c) => c.user !== undefined && c.state !== "closed" && inScope(c.vhost?.name));
  return { broker, queues, connections, channels: connections.flatMap((c) => [...c.channels.values()]), unacked: unackedByQueue(broker) };
}

type Emit = (e: Exposition, s: Sources, prefix: string, perObject: boolean) => void;

type Def<T> = [name: string, type: MetricType, help: string, value: (item: T) => number];

function each<T>(
  e: Exposition,
  prefix: string,
  perObject: boolean,
  items: T[],
  labels: (item: T) => Record<string, string>,
  defs: Def<T>[],
): void {
  for (const [name, type, help, value] of defs) e.perObject(prefix + name, type, help, items, value, labels, perObject);
}

const queueLabels = (q: Queue) => ({ vhost: q.vhost, queue: q.name });
const channelLabels = (c: Channel) => ({ channel: channelName(c) });
const connectionLabels = (c: Connection) => ({ channel: c.name });
const unackedOf = (s: Sources, q: Queue) => s.unacked.get(q) ?? { count: 0, bytes: 0 };

function node(e: Exposition, prefix: string, defs: [string, MetricType, string, number][]): void {
  for (const [name, type, help, value] of defs) e.add(prefix + name, type, help, value);
}

function diskFree(broker: Broker): number {
  try {
    return freeDiskBytes(broker.options.dataDir);
  } catch {
    return 0; // unreadable
  }
}

/** Warren's store on disk (issue 23); RabbitMQ has no store-size metrics, so these are Warren's own. */
function storeSpace(broker: Broker): [string, MetricType, string, number][] {
  const space = broker.store?.space?.();
  if (space === undefined) return [];
  return [
    ["store_size_bytes", "gauge", "Bytes of the message store's files (database, WAL, segment files)", space.sizeBytes],
    ["store_live_bytes", "gauge", "Bytes of the message store in use by stored data", space.liveBytes],
    ["store_reclaimable_bytes", "gauge", "Bytes of the message store's files that reclaim can give back", space.reclaimableBytes],
    ["store_reclaimed_bytes_total", "counter", "Bytes the message store gave back to the file system", space.reclaimedBytes],
    ["store_disk_full", "gauge", "is 1 while the message store has found the disk full", space.full ? 1 : 0],
    ["store_window_bytes", "gauge", "Bytes of stored messages that queues hold in memory (64 MiB at most)", broker.store!.heldInWindows],
  ];
}

export const FAMILIES: Record<string, Emit> = {
  connection_churn_metrics: (e, { broker }, prefix) => {
    const s = broker.stats;
    const churn = queueChurn(broker);
    node(e, prefix, [
      ["connections_opened_total", "counter", "Total number of connections opened", s.connectionsOpened],
      ["connections_closed_total", "counter", "Total number of connections closed or terminated", s.connectionsClosed],
      ["channels_opened_total", "counter", "Total number of channels opened", s.channelsOpened],
      ["channels_closed_total", "counter", "Total number of channels closed", s.channelsClosed],
      ["queues_declared_total", "counter", "Total number of queues declared", churn.declared],
      ["queues_created_total", "counter", "Total number of queues created", churn.created],
      ["queues_deleted_total", "counter", "Total number of queues deleted", churn.deleted],
    ]);
  },
  node_coarse_metrics: (e, { broker }, prefix) =>
    node(e, prefix, [
      ["process_open_fds", "gauge", "Open file descriptors", openFileDescriptors()],
      ["process_open_tcp_sockets", "gauge", "Open TCP sockets", broker.connections.size],
      ["process_resident_memory_bytes", "gauge", "Memory used in bytes", residentMemory()],
      ["disk_space_available_bytes", "gauge", "Disk space available in bytes", diskFree(broker)],
      ...storeSpace(broker),
    ]),
  node_metrics: (e, { broker }, prefix) =>
    node(e, prefix, [
      ["process_max_fds", "gauge", "Open file descriptors limit", fileDescriptorLimit()],
      ["process_max_tcp_sockets", "gauge", "Open TCP sockets limit", broker.sockets.total],
      ["resident_memory_limit_bytes", "gauge", "Memory high watermark in bytes", broker.alarms.memoryThreshold],
      ["disk_space_available_limit_bytes", "gauge", "Free disk space low watermark in bytes", broker.alarms.diskFreeLimit],
      ["erlang_uptime_seconds", "gauge", "Node uptime", (Date.now() - broker.startedAt) / 1000],
    ]),
  auth_attempt_metrics: (e, { broker }, prefix) => {
    const s = broker.stats;
    const amqp = { protocol: "amqp091" };
    e.add(`${prefix}auth_attempts_total`, "counter", "Total number of authentication attempts", s.authSucceeded + s.authFailed, amqp);
    e.add(`${prefix}auth_attempts_succeeded_total`, "counter", "Total number of successful authentication attempts", s.authSucceeded, amqp);
    e.add(`${prefix}auth_attempts_failed_total`, "counter", "Total number of failed authentication attempts", s.authFailed, amqp);
  },
  queue_coarse_metrics: (e, s, prefix, perObject) =>
    each(e, prefix, perObject, s.queues, queueLabels, [
      ["queue_messages_ready", "gauge", "Messages ready to be delivered to consumers", (q) => q.messageCount],
      ["queue_messages_unacked", "gauge", "Messages delivered to consumers but not yet acknowledged", (q) => unackedOf(s, q).count],
      ["queue_messages", "gauge", "Sum of ready and unacknowledged messages - total queue depth", (q) =>
        q.messageCount + unackedOf(s, q).count],
    ]),
  queue_consumer_count: (e, s, prefix, perObject) =>
    each(e, prefix, perObject, s.queues, queueLabels, [
      ["queue_consumers", "gauge", "Consumers on a queue", (q) => q.consumerCount],
    ]),
  queue_metrics: (e, s, prefix, perObject) =>
    each(e, prefix, perObject, s.queues, queueLabels, [
      ["queue_consumers", "gauge", "Consumers on a queue", (q) => q.consumerCount],
      // Warren's estimate, as the management API's queue memory: bodies in memory plus 64 bytes each.
      ["queue_process_memory_bytes", "gauge", "Memory in bytes used by the Erlang queue process", (q) =>
        q.readyBytes - q.pagedOutBytes + unackedOf(s, q).bytes + 64 * (q.messageCount - q.pagedOut + unackedOf(s, q).count)],
      ["queue_messages_bytes", "gauge", "Size in bytes of ready and unacknowledged messages", (q) =>
        q.readyBytes + unackedOf(s, q).bytes],
      ["queue_messages_ram", "gauge", "Ready and unacknowledged messages stored in memory", (q) =>
        q.messageCount - q.pagedOut + unackedOf(s, q).count],
      ["queue_messages_ready_ram", "gauge", "Ready messages stored in memory", (q) =>
        q.messageCount - q.pagedOut],
      ["queue_messages_ready_bytes", "gauge", "Size in bytes of ready messages", (q) =>
        q.readyBytes],
      ["queue_messages_unacked_ram", "gauge", "Unacknowledged messages stored in memory", (q) =>
        unackedOf(s, q).count],
      ["queue_messages_unacked_bytes", "gauge", "Size in bytes of all unacknowledged messages", (q) =>
        unackedOf(s, q).bytes],
      ["queue_messages_paged_out", "gauge", "Messages paged out to disk", (q) =>
        q.pagedOut],
      ["queue_messages_paged_out_bytes", "gauge", "Size in bytes of messages paged out to disk", (q) =>
        q.pagedOutBytes],
      ["queue_messages_persistent", "gauge", "Persistent messages", (q) => q.persistentCount],
      ["queue_messages_persistent_bytes", "gauge", "Size in bytes of persistent messages", (q) => q.persistentBytes],
    ]),
  channel_metrics: (e, s, prefix, perObject) =>
    each(e, prefix, perObject, s.channels, channelLabels, [
      ["channel_consumers", "gauge", "Consumers on a channel", (c) => c.consumers.size],
      ["channel_messages_unacked", "gauge", "Delivered but not yet acknowledged messages", (c) => c.unacked.size],
      [
        "channel_messages_unconfirmed",
        "gauge",
        "Published but not yet confirmed messages",
        (c) => (c.confirm ? c.publishSeq - c.confirmSent : 0),
      ],
      ["channel_messages_uncommitted", "gauge", "Messages received in a transaction but not yet committed", (c) =>
        c.tx?.publishes.length ?? 0],
      ["channel_acks_uncommitted", "gauge", "Message acknowledgements in a transaction not yet committed", (c) =>
        c.tx?.acks.reduce((n, a) =>
          n + a.deliveries.length, 0) ?? 0],
      ["consumer_prefetch", "gauge", "Limit of unacknowledged messages for each consumer", (c) =>
        c.consumerPrefetch],
      ["channel_prefetch", "gauge", "Total limit of unacknowledged messages for all consumers on a channel", (c) =>
        c.globalPrefetch],
    ]),
  channel_exchange_metrics: (e, s, prefix, perObject) =>
    each(e, prefix, perObject, s.channels, channelLabels, [
      ["channel_messages_published_total", "counter", "Total number of messages published into an exchange on a channel", (c) =>
        c.counters.publish],
      [
        "channel_messages_confirmed_total",
        "counter",
        "Total number of messages published into an exchange and confirmed on the channel",
        (c) =>
          c.counters.confirm,
      ],
      [
        "channel_messages_unroutable_returned_total",
        "counter",
        "Total number of messages published as mandatory into an exchange and returned to the publisher as unroutable",
        (c) =>
          c.counters.returnUnroutable,
      ],
      [
        "channel_messages_unroutable_dropped_total",
        "counter",
        "Total number of messages published as non-mandatory into an exchange and dropped as unroutable",
        (c) =>
          c.counters.dropUnroutable,
      ],
    ]),
  channel_queue_metrics: (e, s, prefix, perObject) =>
    each(e, prefix, perObject, s.channels, channelLabels, [
      ["channel_get_ack_total", "counter", "Total number of messages fetched with basic.get in manual acknowledgement mode", (c) =>
        c.counters.get],
      ["channel_get_total", "counter", "Total number of messages fetched with basic.get in automatic acknowledgement mode", (c) =>
        c.counters.getNoAck],
      [
        "channel_messages_delivered_ack_total",
        "counter",
        "Total number of messages delivered to consumers in manual acknowledgement mode",
        (c) =>
          c.counters.deliver,
      ],
      [
        "channel_messages_delivered_total",
        "counter",
        "Total number of messages delivered to consumers in automatic acknowledgement mode",
        (c) =>
          c.counters.deliverNoAck,
      ],
      ["channel_messages_redelivered_total", "counter", "Total number of messages redelivered to consumers", (c) =>
        c.counters.redeliver],
      ["channel_messages_acked_total", "counter", "Total number of messages acknowledged by consumers", (c) =>
        c.counters.ack],
      ["channel_get_empty_total", "counter", "Total number of times basic.get operations fetched no message", (c) =>
        c.counters.getEmpty],
    ]),
  channel_queue_exchange_metrics: (e, s, prefix, perObject) =>
    each(e, prefix, perObject, s.queues, queueLabels, [
      ["queue_messages_published_total", "counter", "Total number of messages published to queues", (q) => q.counters.publish],
    ]),
  connection_coarse_metrics: (e, s, prefix, perObject) =>
    each(e, prefix, perObject, s.connections, connectionLabels, [
      ["connection_incoming_bytes_total", "counter", "Total number of bytes received on a connection", (c) => c.bytesReceived],
      ["connection_outgoing_bytes_total", "counter", "Total number of bytes sent on a connection", (c) => c.output.bytesSent],
    ]),
  connection_metrics: (e, s, prefix, perObject) =>
    each(e, prefix, perObject, s.connections, connectionLabels, [
      ["connection_pending_packets", "gauge", "Number of bytes waiting to be sent on a connection", (c) => c.output.bufferedBytes],
      ["connection_channels", "gauge", "Channels on a connection", (c) => c.channels.size],
    ]),
};
