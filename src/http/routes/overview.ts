// GET /api/overview, /api/whoami, /api/cluster-name
import type { Hono } from "hono";
import type { AmqpBroker } from "../../connection/channel.ts";
import { RUNTIME_VERSION } from "../../runtime/system.ts";
import { VERSION } from "../../version.ts";
import type { HttpEnv } from "../auth.ts";
import { visibleVhosts } from "../context.ts";
import type { JsonObject } from "../json.ts";
import { GLOBAL_SERIES, queueChurn, ratesFor } from "../rates.ts";
import { unackedByQueue } from "../unacked.ts";
import { round } from "../format.ts";

/** The RabbitMQ release whose management API Warren follows (clients read these fields). */
export const RABBITMQ_COMPAT_VERSION = "3.10.8";

/** The registered exchange types, sorted by name as RabbitMQ lists them. */
export function exchangeTypesJson(broker: AmqpBroker) {
  return broker.exchangeTypes.list()
    .map(({ type }) => ({ name: type.name, description: type.description, enabled: true }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function overviewRoutes(app: Hono<HttpEnv>, broker: AmqpBroker): void {
  app.get("/api/overview", (c) => {
    const vhosts = visibleVhosts(c, broker);
    const unacked = unackedByQueue(broker);
    let ready = 0, unackedCount = 0, queues = 0, exchanges = 0, consumers = 0;
    for (const vhost of vhosts) {
      exchanges += vhost.exchanges.size;
      for (const queue of vhost.queues.values()) {
        queues++;
        ready += queue.messageCount;
        unackedCount += unacked.get(queue)?.count ?? 0;
        consumers += queue.consumerCount;
      }
    }
    let channels = 0;
    for (const connection of broker.connections) channels += connection.channels.size;
    const s = broker.stats;
    const r = ratesFor(broker).rates(broker, GLOBAL_SERIES.length);
    const rate = (name: (typeof GLOBAL_SERIES)[number]) => r[GLOBAL_SERIES.indexOf(name)]!;
    const counter = (name: (typeof GLOBAL_SERIES)[number], value: number, out: JsonObject) => {
      out[name] = value;
      out[`${name}_details`] = { rate: rate(name) };
    };
    const messageStats: JsonObject = {};
    counter("ack", s.acknowledged, messageStats);
    counter("confirm", s.confirmed, messageStats);
    counter("deliver", s.deliveredConsumeManualAck, messageStats);
    counter("deliver_no_ack", s.deliveredConsumeAutoAck, messageStats);
    messageStats.deliver_get = s.delivered;
    messageStats.deliver_get_details = { rate: round(rate("deliver") + rate("deliver_no_ack") + rate("get") + rate("get_no_ack")) };
    counter("drop_unroutable", s.unroutableDropped, messageStats);
    counter("get", s.deliveredGetManualAck, messageStats);
    counter("get_empty", s.getEmpty, messageStats);
    counter("get_no_ack", s.deliveredGetAutoAck, messageStats);
    counter("publish", s.received, messageStats);
    counter("redeliver", s.redelivered, messageStats);
    counter("return_unroutable", s.unroutableReturned, messageStats);
    const churn = queueChurn(broker);
    const churnRates: JsonObject = {};
    counter("channel_closed", s.channelsClosed, churnRates);
    counter("channel_created", s.channelsOpened, churnRates);
    counter("connection_closed", s.connectionsClosed, churnRates);
    counter("connection_created", s.connectionsOpened, churnRates);
    counter("queue_created", churn.created, churnRates);
    counter("queue_declared", churn.declared, churnRates);
    counter("queue_deleted", churn.deleted, churnRates);
    const queueTotals: JsonObject = {};
    counter("messages", ready + unackedCount, queueTotals);
    counter("messages_ready", ready, queueTotals);
    counter("messages_unacknowledged", unackedCount, queueTotals);
    return c.json({
      management_version: RABBITMQ_COMPAT_VERSION,
      rates_mode: "basic",
      sample_retention_policies: { global: [600, 3600, 28800, 86400], basic: [600, 3600], detailed: [600] },
      exchange_types: exchangeTypesJson(broker),
      product_version: VERSION,
      product_name: "Warren",
      rabbitmq_version: RABBITMQ_COMPAT_VERSION,
      cluster_name: clusterName(broker),
      erlang_version: RUNTIME_VERSION,
      erlang_full_version: RUNTIME_VERSION,
      release_series_support_status: "supported",
      disable_stats: false,
      enable_queue_totals: false,
      message_stats: messageStats,
      churn_rates: churnRates,
      queue_totals: queueTotals,
      object_totals: { channels, connections: broker.connections.size + broker.protocolConnections.size, consumers, exchanges, queues },
      statistics_db_event_queue: 0,
      node: broker.alarms.node,
      listeners: listeners(broker),
      contexts: contexts(broker),
    });
  });

  app.get("/api/whoami", (c) => {
    const user = c.get("user");
    return c.json({ name: user.name, tags: user.tags });
  });

  app.get("/api/cluster-name", (c) => c.json({ name: clusterName(broker) }));
}

export function listeners(broker: AmqpBroker): JsonObject[] {
  const { bind, listenAddresses: at } = broker.options;
  const node = broker.alarms.node;
  const amqpOpts = { backlog: 128, nodelay: true };
  const out: JsonObject[] = [];
  if (broker.hasPlainListener) out.push({ node, protocol: "amqp", ip_address: at.amqp ?? bind, port: broker.port, socket_opts: amqpOpts });
  if (broker.tlsPort !== undefined) {
    out.push({ node, protocol: "amqp/ssl", ip_address: at.amqps ?? bind, port: broker.tlsPort, socket_opts: amqpOpts });
  }
  if (broker.httpListener) {
    const port = broker.httpListener.port;
    out.push({ node, protocol: "http", ip_address: at.http ?? bind, port, socket_opts: { port } });
  }
  if (broker.httpsListener) {
    const port = broker.httpsListener.port;
    out.push({ node, protocol: "https", ip_address: at.https ?? bind, port, socket_opts: { port, ssl: true } });
  }
  if (broker.metricsListener) {
    const port = broker.metricsListener.port;
    out.push({
      node,
      protocol: "http/prometheus",
      ip_address: at.metrics ?? bind,
      port,
      socket_opts: { port, protocol: "http/prometheus" },
    });
  }
  for (const l of broker.protocolListeners) {
    out.push({ node, protocol: l.protocol, ip_address: l.bind, port: l.port, socket_opts: l.tls ? { ...amqpOpts, ssl: true } : amqpOpts });
  }
  return out;
}

export function contexts(broker: AmqpBroker): JsonObject[] {
  const node = broker.alarms.node;
  const out: JsonObject[] = [];
  if (broker.httpListener) {
    out.push({
      node,
      description: "RabbitMQ Management",
      path: "/",
      cowboy_opts: "[{sendfile,false}]",
      port: String(broker.httpListener.port),
    });
  }
  if (broker.httpsListener) {
    out.push({
      node,
      description: "RabbitMQ Management",
      path: "/",
      cowboy_opts: "[{sendfile,false}]",
      port: String(broker.httpsListener.port),
      ssl: "true",
    });
  }
  if (broker.metricsListener) {
    out.push({
      node,
      description: "RabbitMQ Prometheus",
      path: "/",
      cowboy_opts: "[{sendfile,false}]",
      port: String(broker.metricsListener.port),
      protocol: "'http/prometheus'",
    });
  }
  return out;
}

function clusterName(broker: AmqpBroker): string {
  return broker.clusterName;
}
