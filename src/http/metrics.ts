// Prometheus metrics in the text exposition format, with rabbitmq_prometheus's metric names:
// /metrics aggregates per-object metrics into one sample each (as RabbitMQ does by default),
// /metrics/per-object labels them by vhost and queue, channel or connection.
import { Hono } from "hono";
import type { AmqpBroker } from "../connection/channel.ts";
import type { DeadLetterReason } from "../broker/stats.ts";
import { RUNTIME_VERSION } from "../runtime/system.ts";
import { turnEnds } from "../runtime/timers.ts";
import { VERSION } from "../version.ts";
import { Exposition } from "./exposition.ts";
import { FAMILIES, gather } from "./metric_families.ts";
import { RABBITMQ_COMPAT_VERSION } from "./routes/overview.ts";

/**
 * Per object, the queue families are gathered a slice of queues per turn, and the text written
 * 20,000 samples per turn: with 20,000 queues the whole answer took 340 ms in one turn, and every
 * connection waited that long. The exposition groups samples by family, so the text is the same.
 */
const QUEUE_SLICE = 1000;

export async function renderMetrics(broker: AmqpBroker, perObject: boolean): Promise<string> {
  const e = new Exposition();
  const node = broker.alarms.node;
  const s = broker.stats;
  const src = gather(broker);
  const p = "rabbitmq_";
  const emit = (...families: string[]) => {
    for (const family of families) FAMILIES[family]!(e, src, p, perObject);
  };

  e.add("rabbitmq_build_info", "untyped", "RabbitMQ & Erlang/OTP version info", 1, {
    rabbitmq_version: RABBITMQ_COMPAT_VERSION,
    prometheus_plugin_version: RABBITMQ_COMPAT_VERSION,
    prometheus_client_version: "4.9.1",
    erlang_version: RUNTIME_VERSION,
    product_name: "Warren",
    product_version: VERSION,
  });
  e.add("rabbitmq_identity_info", "untyped", "RabbitMQ node & cluster identity info", 1, {
    rabbitmq_node: node,
    rabbitmq_cluster: broker.clusterName,
    rabbitmq_cluster_permanent_id: `warren-cluster-id-${node}`,
  });
  e.add(
    "process_start_time_seconds",
    "gauge",
    "Start time of the process since unix epoch in seconds",
    Math.floor(broker.startedAt / 1000),
  );
  emit("node_metrics", "node_coarse_metrics");
  e.add(
    "rabbitmq_alarms_memory_used_watermark",
    "gauge",
    "is 1 if VM memory watermark alarm is in effect",
    broker.alarms.current.has("memory") ? 1 : 0,
  );
  e.add(
    "rabbitmq_alarms_free_disk_space_watermark",
    "gauge",
    "is 1 if free disk space watermark alarm is in effect",
    broker.alarms.current.has("disk") ? 1 : 0,
  );
  e.add("rabbitmq_alarms_file_descriptor_limit", "gauge", "is 1 if file descriptor limit alarm is in effect", 0);

  e.add("rabbitmq_connections", "gauge", "Connections currently open", src.connections.length);
  e.add("rabbitmq_channels", "gauge", "Channels currently open", src.channels.length);
  e.add("rabbitmq_consumers", "gauge", "Consumers currently connected", src.queues.reduce((n, q) => n + q.consumerCount, 0));
  e.add("rabbitmq_queues", "gauge", "Queues available", src.queues.length);
  emit("connection_churn_metrics");

  const amqp = { protocol: "amqp091" };
  const global: [string, string, number][] = [
    ["received", "Total number of messages received from publishers", s.received],
    ["received_confirm", "Total number of messages received from publishers expecting confirmations", s.receivedConfirm],
    ["routed", "Total number of messages routed to queues or streams", s.routed],
    [
      "unroutable_dropped",
      "Total number of messages published as non-mandatory into an exchange and dropped as unroutable",
      s.unroutableDropped,
    ],
    [
      "unroutable_returned",
      "Total number of messages published as mandatory into an exchange and returned to the publisher as unroutable",
      s.unroutableReturned,
    ],
    ["confirmed", "Total number of messages confirmed to publishers", s.confirmed],
    ["delivered", "Total number of messages delivered to consumers", s.delivered],
    [
      "delivered_consume_manual_ack",
      "Total number of messages delivered to consumers using manual acknowledgement mode",
      s.deliveredConsumeManualAck,
    ],
    [
      "delivered_consume_auto_ack",
      "Total number of messages delivered to consumers using automatic acknowledgement mode",
      s.deliveredConsumeAutoAck,
    ],
    [
      "delivered_get_manual_ack",
      "Total number of messages delivered to consumers via basic.get using manual acknowledgement mode",
      s.deliveredGetManualAck,
    ],
    [
      "delivered_get_auto_ack",
      "Total number of messages delivered to consumers via basic.get using automatic acknowledgement mode",
      s.deliveredGetAutoAck,
    ],
    ["get_empty", "Total number of times basic.get operations fetched no message", s.getEmpty],
    ["redelivered", "Total number of messages redelivered to consumers", s.redelivered],
    ["acknowledged", "Total number of messages acknowledged by consumers", s.acknowledged],
  ];
  for (const [name, help, value] of global) e.add(`rabbitmq_global_messages_${name}_total`, "counter", help, value, amqp);
  // rabbit_global_counters: a publisher is a channel that has published; a consumer, a basic.consume.
  e.add(
    "rabbitmq_global_publishers",
    "gauge",
    "Current number of publishers",
    src.channels.filter((c) => c.counters.publish > 0).length,
    amqp,
  );
  e.add("rabbitmq_global_consumers", "gauge", "Current number of consumers", src.queues.reduce((n, q) => n + q.consumerCount, 0), amqp);
  deadLettered(e, broker);
  emit("auth_attempt_metrics");

  if (!perObject) emit("queue_coarse_metrics", "queue_metrics");
  else {
    // At least once, so that the families are there (empty) with no queues.
    for (let start = 0; start === 0 || start < src.queues.length; start += QUEUE_SLICE) {
      if (start > 0) await turnEnds();
      const slice = { ...src, queues: src.queues.slice(start, start + QUEUE_SLICE) };
      for (const family of ["queue_coarse_metrics", "queue_metrics"]) FAMILIES[family]!(e, slice, p, true);
    }
  }
  emit("channel_queue_exchange_metrics");
  emit("channel_metrics", "channel_exchange_metrics", "channel_queue_metrics");
  emit("connection_coarse_metrics", "connection_metrics");
  // Plugins' own metrics (rendered by each, in the same exposition format).
  let extra = "";
  for (const source of broker.metricsSources) extra += source();
  return (perObject ? await e.renderInSlices(QUEUE_SLICE * 20, turnEnds) : e.render()) + extra;
}

/** The label sets rabbit_global_counters starts with (Warren has no at-least-once strategy). */
const DEAD_LETTER_GROUPS = [["classic", "disabled"], ["classic", "at_most_once"], ["quorum", "disabled"], [
  "quorum",
  "at_most_once",
]] as const;
const DEAD_LETTER_REASONS: [DeadLetterReason, string][] = [
  ["expired", "Total number of messages dead-lettered due to message TTL exceeded"],
  ["rejected", "Total number of messages dead-lettered due to basic.reject or basic.nack"],
  ["maxlen", "Total number of messages dead-lettered due to overflow drop-head or reject-publish-dlx"],
  ["delivery_limit", "Total number of messages dead-lettered due to delivery-limit exceeded"],
];

function deadLettered(e: Exposition, broker: AmqpBroker): void {
  const counts = broker.stats.deadLettered;
  for (const [reason, help] of DEAD_LETTER_REASONS) {
    for (const [type, strategy] of DEAD_LETTER_GROUPS) {
      if (reason === "delivery_limit" && type === "classic") continue; // quorum queues only
      e.add(`rabbitmq_global_messages_dead_lettered_${reason}_total`, "counter", help, counts.get(type, strategy, reason), {
        queue_type: `rabbit_${type}_queue`,
        dead_letter_strategy: strategy,
      });
    }
  }
}

/**
 * /metrics/detailed?family=…&vhost=…: only the families asked for (none: an empty answer), per
 * object, under rabbitmq_detailed_; `vhost` narrows queue, channel and connection families.
 * queue_consumer_count is left out when queue_metrics (its superset) is asked for too.
 */
export function renderDetailed(broker: AmqpBroker, families: string[], vhosts: string[]): string {
  const e = new Exposition();
  const src = gather(broker, vhosts.length > 0 ? new Set(vhosts) : undefined);
  const wanted = new Set(families.filter((f) => FAMILIES[f] !== undefined));
  if (wanted.has("queue_metrics")) wanted.delete("queue_consumer_count");
  for (const family of wanted) FAMILIES[family]!(e, src, "rabbitmq_detailed_", true);
  return e.render();
}

const CONTENT_TYPE = "text/plain; version=0.0.4";

/** The Prometheus endpoint's app: /metrics and /metrics/per-object, no authentication (as RabbitMQ). */
export function createMetricsApp(broker: AmqpBroker): Hono {
  const app = new Hono();
  app.get("/metrics", async (c) => c.body(await renderMetrics(broker, false), 200, { "content-type": CONTENT_TYPE }));
  app.get("/metrics/per-object", async (c) => c.body(await renderMetrics(broker, true), 200, { "content-type": CONTENT_TYPE }));
  app.get(
    "/metrics/detailed",
    (c) =>
      c.body(renderDetailed(broker, c.req.queries("family") ?? [], c.req.queries("vhost") ?? []), 200, { "content-type": CONTENT_TYPE }),
  );
  return app;
}
