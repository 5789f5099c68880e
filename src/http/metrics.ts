// Prometheus metrics in the text exposition format, with rabbitmq_prometheus's metric names:
// /metrics aggregates per-object metrics into one sample each (as RabbitMQ does by default),
// /metrics/per-object labels them by vhost and queue, channel or connection.
import { Hono } from "hono";
import type { AmqpBroker } from "../connection/channel.ts";
import { fileDescriptorLimit, freeDiskBytes, openFileDescriptors, residentMemory, RUNTIME_VERSION } from "../runtime/system.ts";
import { VERSION } from "../version.ts";
import { channelName } from "./format.ts";
import { queueChurn } from "./rates.ts";
import { unackedByQueue } from "./unacked.ts";
import { RABBITMQ_COMPAT_VERSION } from "./routes/overview.ts";

type Labels = Record<string, string>;
interface Family {
  name: string;
  type: "gauge" | "counter" | "untyped";
  help: string;
  samples: { labels: Labels; value: number }[];
}

class Exposition {
  private readonly families: Family[] = [];

  add(name: string, type: Family["type"], help: string, value: number, labels: Labels = {}): void {
    this.family(name, type, help).samples.push({ labels, value });
  }

  /** A family with one sample per object (per-object mode) or their sum (aggregated). */
  perObject<T>(name: string, type: Family["type"], help: string, items: T[], value: (item: T) => number, labels: (item: T) => Labels, perObject: boolean): void {
    const family = this.family(name, type, help);
    if (!perObject) {
      family.samples.push({ labels: {}, value: items.reduce((n, item) => n + value(item), 0) });
      return;
    }
    for (const item of items) family.samples.push({ labels: labels(item), value: value(item) });
  }

  private family(name: string, type: Family["type"], help: string): Family {
    let family = this.families.find((f) => f.name === name);
    if (!family) this.families.push((family = { name, type, help, samples: [] }));
    return family;
  }

  render(): string {
    let out = "";
    for (const f of this.families) {
      out += `# TYPE ${f.name} ${f.type}\n# HELP ${f.name} ${f.help}\n`;
      for (const s of f.samples) out += `${f.name}${formatLabels(s.labels)} ${formatValue(s.value)}\n`;
    }
    return out;
  }
}

function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${labels[k]!.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')}"`).join(",")}}`;
}

function formatValue(value: number): string {
  return Number.isFinite(value) ? String(value) : value > 0 ? "+Inf" : value < 0 ? "-Inf" : "NaN";
}

export function renderMetrics(broker: AmqpBroker, perObject: boolean): string {
  const e = new Exposition();
  const node = broker.alarms.node;
  const s = broker.stats;
  const queues = [...broker.vhosts.values()].flatMap((v) => [...v.queues.values()]);
  const connections = [...broker.connections].filter((c) => c.user !== undefined && c.state !== "closed");
  const channels = connections.flatMap((c) => [...c.channels.values()]);
  const unacked = unackedByQueue(broker);
  const churn = queueChurn(broker);
  let diskFree = 0;
  try {
    diskFree = freeDiskBytes(broker.options.dataDir);
  } catch {
    // unreadable: 0
  }
  const fdLimit = fileDescriptorLimit();

  e.add("rabbitmq_build_info", "untyped", "RabbitMQ & Erlang/OTP version info", 1, {
    rabbitmq_version: RABBITMQ_COMPAT_VERSION, prometheus_plugin_version: RABBITMQ_COMPAT_VERSION,
    prometheus_client_version: "4.9.1", erlang_version: RUNTIME_VERSION, product_name: "Warren", product_version: VERSION,
  });
  e.add("rabbitmq_identity_info", "untyped", "RabbitMQ node & cluster identity info", 1, {
    rabbitmq_node: node, rabbitmq_cluster: node, rabbitmq_cluster_permanent_id: `warren-cluster-id-${node}`,
  });
  e.add("rabbitmq_erlang_uptime_seconds", "gauge", "Node uptime", (Date.now() - broker.startedAt) / 1000);
  e.add("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds", Math.floor(broker.startedAt / 1000));
  e.add("rabbitmq_process_resident_memory_bytes", "gauge", "Memory used in bytes", residentMemory());
  e.add("rabbitmq_resident_memory_limit_bytes", "gauge", "Memory high watermark in bytes", broker.alarms.memoryThreshold);
  e.add("rabbitmq_disk_space_available_bytes", "gauge", "Disk space available in bytes", diskFree);
  e.add("rabbitmq_disk_space_available_limit_bytes", "gauge", "Free disk space low watermark in bytes", broker.alarms.diskFreeLimit);
  e.add("rabbitmq_process_open_fds", "gauge", "Open file descriptors", openFileDescriptors());
  e.add("rabbitmq_process_max_fds", "gauge", "Open file descriptors limit", fdLimit);
  e.add("rabbitmq_process_open_tcp_sockets", "gauge", "Open TCP sockets", broker.connections.size);
  e.add("rabbitmq_process_max_tcp_sockets", "gauge", "Open TCP sockets limit", broker.sockets.total);
  e.add("rabbitmq_alarms_memory_used_watermark", "gauge", "is 1 if VM memory watermark alarm is in effect", broker.alarms.current.has("memory") ? 1 : 0);
  e.add("rabbitmq_alarms_free_disk_space_watermark", "gauge", "is 1 if free disk space watermark alarm is in effect", broker.alarms.current.has("disk") ? 1 : 0);
  e.add("rabbitmq_alarms_file_descriptor_limit", "gauge", "is 1 if file descriptor limit alarm is in effect", 0);

  e.add("rabbitmq_connections", "gauge", "Connections currently open", connections.length);
  e.add("rabbitmq_channels", "gauge", "Channels currently open", channels.length);
  e.add("rabbitmq_consumers", "gauge", "Consumers currently connected", queues.reduce((n, q) => n + q.consumerCount, 0));
  e.add("rabbitmq_queues", "gauge", "Queues available", queues.length);
  e.add("rabbitmq_connections_opened_total", "counter", "Total number of connections opened", s.connectionsOpened);
  e.add("rabbitmq_connections_closed_total", "counter", "Total number of connections closed or terminated", s.connectionsClosed);
  e.add("rabbitmq_channels_opened_total", "counter", "Total number of channels opened", s.channelsOpened);
  e.add("rabbitmq_channels_closed_total", "counter", "Total number of channels closed", s.channelsClosed);
  e.add("rabbitmq_queues_declared_total", "counter", "Total number of queues declared", churn.declared);
  e.add("rabbitmq_queues_created_total", "counter", "Total number of queues created", churn.created);
  e.add("rabbitmq_queues_deleted_total", "counter", "Total number of queues deleted", churn.deleted);

  const amqp = { protocol: "amqp091" };
  const global: [string, string, number][] = [
    ["received", "Total number of messages received from publishers", s.received],
    ["received_confirm", "Total number of messages received from publishers expecting confirmations", s.receivedConfirm],
    ["routed", "Total number of messages routed to queues or streams", s.routed],
    ["unroutable_dropped", "Total number of messages published as non-mandatory into an exchange and dropped as unroutable", s.unroutableDropped],
    ["unroutable_returned", "Total number of messages published as mandatory into an exchange and returned to the publisher as unroutable", s.unroutableReturned],
    ["confirmed", "Total number of messages confirmed to publishers", s.confirmed],
    ["delivered", "Total number of messages delivered to consumers", s.delivered],
    ["delivered_consume_manual_ack", "Total number of messages delivered to consumers using manual acknowledgement mode", s.deliveredConsumeManualAck],
    ["delivered_consume_auto_ack", "Total number of messages delivered to consumers using automatic acknowledgement mode", s.deliveredConsumeAutoAck],
    ["delivered_get_manual_ack", "Total number of messages delivered to consumers via basic.get using manual acknowledgement mode", s.deliveredGetManualAck],
    ["delivered_get_auto_ack", "Total number of messages delivered to consumers via basic.get using automatic acknowledgement mode", s.deliveredGetAutoAck],
    ["get_empty", "Total number of times basic.get operations fetched no message", s.getEmpty],
    ["redelivered", "Total number of messages redelivered to consumers", s.redelivered],
    ["acknowledged", "Total number of messages acknowledged by consumers", s.acknowledged],
  ];
  for (const [name, help, value] of global) e.add(`rabbitmq_global_messages_${name}_total`, "counter", help, value, amqp);
  e.add("rabbitmq_global_consumers", "gauge", "Current number of consumers", queues.reduce((n, q) => n + q.consumerCount, 0), amqp);

  const q = (name: string, type: Family["type"], help: string, value: (queue: (typeof queues)[number]) => number) =>
    e.perObject(name, type, help, queues, value, (x) => ({ vhost: x.vhost, queue: x.name }), perObject);
  q("rabbitmq_queue_messages_ready", "gauge", "Messages ready to be delivered to consumers", (x) => x.messageCount);
  q("rabbitmq_queue_messages_ready_bytes", "gauge", "Size in bytes of ready messages", (x) => x.readyBytes);
  q("rabbitmq_queue_messages_unacked", "gauge", "Messages delivered to consumers but not yet acknowledged", (x) => unacked.get(x)?.count ?? 0);
  q("rabbitmq_queue_messages_unacked_bytes", "gauge", "Size in bytes of all unacknowledged messages", (x) => unacked.get(x)?.bytes ?? 0);
  q("rabbitmq_queue_messages", "gauge", "Sum of ready and unacknowledged messages - total queue depth", (x) => x.messageCount + (unacked.get(x)?.count ?? 0));
  q("rabbitmq_queue_messages_bytes", "gauge", "Size in bytes of ready and unacknowledged messages", (x) => x.readyBytes + (unacked.get(x)?.bytes ?? 0));
  q("rabbitmq_queue_messages_paged_out", "gauge", "Messages paged out to disk", (x) => x.pagedOut);
  q("rabbitmq_queue_messages_paged_out_bytes", "gauge", "Size in bytes of messages paged out to disk", (x) => x.pagedOutBytes);
  q("rabbitmq_queue_messages_ram", "gauge", "Ready and unacked messages stored in memory", (x) => x.messageCount - x.pagedOut + (unacked.get(x)?.count ?? 0));
  q("rabbitmq_queue_consumers", "gauge", "Consumers on a queue", (x) => x.consumerCount);
  q("rabbitmq_queue_messages_published_total", "counter", "Total number of messages published to queues", (x) => x.counters.publish);

  const ch = (name: string, type: Family["type"], help: string, value: (channel: (typeof channels)[number]) => number) =>
    e.perObject(name, type, help, channels, value, (x) => ({ channel: channelName(x) }), perObject);
  ch("rabbitmq_channel_consumers", "gauge", "Consumers on a channel", (x) => x.consumers.size);
  ch("rabbitmq_channel_messages_unacked", "gauge", "Delivered but not yet acknowledged messages", (x) => x.unacked.size);
  ch("rabbitmq_channel_messages_unconfirmed", "gauge", "Published but not yet confirmed messages", (x) => (x.confirm ? x.publishSeq - x.confirmSent : 0));
  ch("rabbitmq_channel_messages_uncommitted", "gauge", "Messages received in a transaction but not yet committed", (x) => x.tx?.publishes.length ?? 0);
  ch("rabbitmq_channel_acks_uncommitted", "gauge", "Message acknowledgements in a transaction not yet committed", (x) => x.tx?.acks.reduce((n, a) => n + a.deliveries.length, 0) ?? 0);
  ch("rabbitmq_channel_messages_published_total", "counter", "Total number of messages published into an exchange on a channel", (x) => x.counters.publish);
  ch("rabbitmq_channel_messages_confirmed_total", "counter", "Total number of messages published into an exchange and confirmed on the channel", (x) => x.counters.confirm);
  ch("rabbitmq_channel_messages_unroutable_returned_total", "counter", "Total number of messages published as mandatory into an exchange and returned to the publisher as unroutable", (x) => x.counters.returnUnroutable);
  ch("rabbitmq_channel_messages_unroutable_dropped_total", "counter", "Total number of messages published as non-mandatory into an exchange and dropped as unroutable", (x) => x.counters.dropUnroutable);
  ch("rabbitmq_channel_messages_delivered_total", "counter", "Total number of messages delivered to consumers in automatic acknowledgement mode", (x) => x.counters.deliverNoAck);
  ch("rabbitmq_channel_messages_delivered_ack_total", "counter", "Total number of messages delivered to consumers in manual acknowledgement mode", (x) => x.counters.deliver);
  ch("rabbitmq_channel_messages_redelivered_total", "counter", "Total number of messages redelivered to consumers", (x) => x.counters.redeliver);
  ch("rabbitmq_channel_messages_acked_total", "counter", "Total number of messages acknowledged by consumers", (x) => x.counters.ack);
  ch("rabbitmq_channel_get_ack_total", "counter", "Total number of messages fetched with basic.get in manual acknowledgement mode", (x) => x.counters.get);
  ch("rabbitmq_channel_get_total", "counter", "Total number of messages fetched with basic.get in automatic acknowledgement mode", (x) => x.counters.getNoAck);
  ch("rabbitmq_channel_get_empty_total", "counter", "Total number of times basic.get operations fetched no message", (x) => x.counters.getEmpty);
  ch("rabbitmq_channel_prefetch", "gauge", "Total limit of unacknowledged messages for all consumers on a channel", (x) => x.globalPrefetch);

  const co = (name: string, type: Family["type"], help: string, value: (connection: (typeof connections)[number]) => number) =>
    e.perObject(name, type, help, connections, value, (x) => ({ channel: x.name }), perObject);
  co("rabbitmq_connection_incoming_bytes_total", "counter", "Total number of bytes received on a connection", (x) => x.bytesReceived);
  co("rabbitmq_connection_outgoing_bytes_total", "counter", "Total number of bytes sent on a connection", (x) => x.output.bytesSent);
  co("rabbitmq_connection_pending_packets", "gauge", "Number of bytes waiting to be sent on a connection", (x) => x.output.bufferedBytes);
  co("rabbitmq_connection_channels", "gauge", "Channels on a connection", (x) => x.channels.size);
  // Plugins' own metrics (rendered by each, in the same exposition format).
  let extra = "";
  for (const source of broker.metricsSources) extra += source();
  return e.render() + extra;
}

const CONTENT_TYPE = "text/plain; version=0.0.4";

/** The Prometheus endpoint's app: /metrics and /metrics/per-object, no authentication (as RabbitMQ). */
export function createMetricsApp(broker: AmqpBroker): Hono {
  const app = new Hono();
  app.get("/metrics", (c) => c.body(renderMetrics(broker, false), 200, { "content-type": CONTENT_TYPE }));
  app.get("/metrics/per-object", (c) => c.body(renderMetrics(broker, true), 200, { "content-type": CONTENT_TYPE }));
  return app;
}
