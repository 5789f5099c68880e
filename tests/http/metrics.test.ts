// Prometheus metrics: exposition format, RabbitMQ's names, and every metric the RabbitMQ-Overview
// Grafana dashboard (rabbitmq_prometheus 3.10, docker/grafana/dashboards) queries.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import amqp from "amqplib";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";

/** Metric names in the RabbitMQ-Overview dashboard's queries (labels like rabbitmq_node left out). */
const DASHBOARD_METRICS = [
  "rabbitmq_build_info",
  "rabbitmq_channel_consumers",
  "rabbitmq_channels",
  "rabbitmq_channels_closed_total",
  "rabbitmq_channels_opened_total",
  "rabbitmq_connections",
  "rabbitmq_connections_closed_total",
  "rabbitmq_connections_opened_total",
  "rabbitmq_consumers",
  "rabbitmq_disk_space_available_bytes",
  "rabbitmq_global_messages_acknowledged_total",
  "rabbitmq_global_messages_confirmed_total",
  "rabbitmq_global_messages_delivered_consume_auto_ack_total",
  "rabbitmq_global_messages_delivered_consume_manual_ack_total",
  "rabbitmq_global_messages_delivered_get_auto_ack_total",
  "rabbitmq_global_messages_delivered_get_manual_ack_total",
  "rabbitmq_global_messages_get_empty_total",
  "rabbitmq_global_messages_received_confirm_total",
  "rabbitmq_global_messages_received_total",
  "rabbitmq_global_messages_redelivered_total",
  "rabbitmq_global_messages_routed_total",
  "rabbitmq_global_messages_unroutable_dropped_total",
  "rabbitmq_global_messages_unroutable_returned_total",
  "rabbitmq_identity_info",
  "rabbitmq_process_max_fds",
  "rabbitmq_process_max_tcp_sockets",
  "rabbitmq_process_open_fds",
  "rabbitmq_process_open_tcp_sockets",
  "rabbitmq_process_resident_memory_bytes",
  "rabbitmq_queue_messages_ready",
  "rabbitmq_queue_messages_unacked",
  "rabbitmq_queues",
  "rabbitmq_queues_created_total",
  "rabbitmq_queues_declared_total",
  "rabbitmq_queues_deleted_total",
  "rabbitmq_resident_memory_limit_bytes",
];

let tb: TestBroker;
let conn: amqp.ChannelModel;

beforeAll(async () => {
  tb = await startTestBroker();
  conn = await amqp.connect(tb.url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue("http-mq", { durable: false });
  ch.sendToQueue("http-mq", Buffer.from("a"));
  ch.sendToQueue("http-mq", Buffer.from("bb"));
  await ch.waitForConfirms();
  const m = await ch.get("http-mq");
  if (m) ch.ack(m);
  await ch.get("http-mq"); // one unacked
});
afterAll(async () => {
  await conn.close().catch(() => {});
  await tb.stop();
});

async function scrape(path: string): Promise<{ text: string; type: string | null; samples: Map<string, number> }> {
  const r = await fetch(`http://127.0.0.1:${tb.metricsPort}${path}`);
  const text = await r.text();
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { text, type: r.headers.get("content-type"), samples };
}

describe("/metrics", () => {
  test("text exposition format with TYPE and HELP for each family, no authentication", async () => {
    const { text, type } = await scrape("/metrics");
    expect(type).toBe("text/plain; version=0.0.4");
    expect(text).toContain(
      "# TYPE rabbitmq_queue_messages_ready gauge\n# HELP rabbitmq_queue_messages_ready Messages ready to be delivered to consumers\n",
    );
    expect(text).toContain("# TYPE rabbitmq_global_messages_received_total counter\n");
  });

  test("every metric the RabbitMQ-Overview dashboard queries is there", async () => {
    const { text } = await scrape("/metrics");
    const names = new Set(text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).map((l) => l.split(/[ {]/)[0]));
    const missing = DASHBOARD_METRICS.filter((m) => !names.has(m));
    expect(missing).toEqual([]);
  });

  test("aggregated values follow the broker", async () => {
    const { samples } = await scrape("/metrics");
    expect(samples.get("rabbitmq_connections")).toBe(1);
    expect(samples.get("rabbitmq_channels")).toBe(1);
    expect(samples.get("rabbitmq_queues")).toBe(1);
    expect(samples.get("rabbitmq_queue_messages_ready")).toBe(0);
    expect(samples.get("rabbitmq_queue_messages_unacked")).toBe(1);
    expect(samples.get('rabbitmq_global_messages_received_total{protocol="amqp091"}')).toBe(2);
    expect(samples.get('rabbitmq_global_messages_received_confirm_total{protocol="amqp091"}')).toBe(2);
    expect(samples.get('rabbitmq_global_messages_confirmed_total{protocol="amqp091"}')).toBe(2);
    expect(samples.get('rabbitmq_global_messages_routed_total{protocol="amqp091"}')).toBe(2);
    expect(samples.get('rabbitmq_global_messages_delivered_get_manual_ack_total{protocol="amqp091"}')).toBe(2);
    expect(samples.get('rabbitmq_global_messages_delivered_total{protocol="amqp091"}')).toBe(2);
    expect(samples.get('rabbitmq_global_messages_acknowledged_total{protocol="amqp091"}')).toBe(1);
    expect(samples.get("rabbitmq_process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(samples.get("rabbitmq_disk_space_available_bytes")).toBeGreaterThan(0);
    expect(samples.get("rabbitmq_resident_memory_limit_bytes")).toBe(tb.broker.alarms.memoryThreshold);
    expect(samples.get("rabbitmq_process_open_fds")).toBeGreaterThan(0);
    const identity = [...samples.keys()].find((k) => k.startsWith("rabbitmq_identity_info{"));
    expect(identity).toContain(`rabbitmq_node="${tb.broker.alarms.node}"`);
  });
});

describe("/metrics/per-object", () => {
  test("queue metrics labelled by vhost and queue", async () => {
    const { samples } = await scrape("/metrics/per-object");
    expect(samples.get('rabbitmq_queue_messages_unacked{vhost="/",queue="http-mq"}')).toBe(1);
    expect(samples.get('rabbitmq_queue_messages{vhost="/",queue="http-mq"}')).toBe(1);
    expect(samples.get('rabbitmq_queue_messages_unacked_bytes{vhost="/",queue="http-mq"}')).toBe(2);
    expect(samples.get('rabbitmq_queue_messages_published_total{vhost="/",queue="http-mq"}')).toBe(2);
    const channel = [...samples.keys()].find((k) => k.startsWith("rabbitmq_channel_messages_unacked{channel="));
    expect(channel && samples.get(channel)).toBe(1);
    const label = channel!.slice(channel!.indexOf("{"));
    expect(samples.get(`rabbitmq_channel_messages_published_total${label}`)).toBe(2);
    expect(samples.get(`rabbitmq_channel_messages_confirmed_total${label}`)).toBe(2);
    expect(samples.get(`rabbitmq_channel_get_ack_total${label}`)).toBe(2);
    expect(samples.get(`rabbitmq_channel_messages_acked_total${label}`)).toBe(1);
  });
});
