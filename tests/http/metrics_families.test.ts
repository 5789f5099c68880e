// Prometheus metrics RabbitMQ 3.10 exposes for features Warren has: dead-lettered counters by
// reason, queue type and strategy; auth attempts; rabbitmq_global_publishers; consumer prefetch;
// queue memory and in-memory gauges; and /metrics/detailed with its family and vhost parameters.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import amqp from "amqplib";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";

let tb: TestBroker;
let conn: amqp.ChannelModel;

beforeAll(async () => {
  tb = await startTestBroker();
  conn = await amqp.connect(tb.url);
});
afterAll(async () => {
  await conn.close().catch(() => {});
  await tb.stop();
});

async function scrape(path: string): Promise<{ text: string; samples: Map<string, number> }> {
  const text = await (await fetch(`http://127.0.0.1:${tb.metricsPort}${path}`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { text, samples };
}

const dl = (reason: string, type: string, strategy: string) =>
  `rabbitmq_global_messages_dead_lettered_${reason}_total{queue_type="rabbit_${type}_queue",dead_letter_strategy="${strategy}"}`;

describe("rabbitmq_global_messages_dead_lettered_*_total", () => {
  test("count by reason, queue type and strategy (disabled: no dead-letter exchange)", async () => {
    const ch = await conn.createConfirmChannel();
    await ch.assertExchange("mf-dlx", "fanout", { durable: false });
    // rejected, with a dead-letter exchange: at_most_once
    await ch.assertQueue("mf-rej", { durable: false, arguments: { "x-dead-letter-exchange": "mf-dlx" } });
    ch.sendToQueue("mf-rej", Buffer.from("r"));
    await ch.waitForConfirms();
    const got = await ch.get("mf-rej");
    if (!got) throw new Error("no message");
    ch.nack(got, false, false);
    // maxlen without one: disabled
    await ch.assertQueue("mf-max", { durable: false, arguments: { "x-max-length": 1 } });
    ch.sendToQueue("mf-max", Buffer.from("1"));
    ch.sendToQueue("mf-max", Buffer.from("2"));
    await ch.waitForConfirms();
    // delivery limit on a quorum queue, without a dead-letter exchange
    await ch.assertQueue("mf-quorum", { durable: true, arguments: { "x-queue-type": "quorum", "x-delivery-limit": 0 } });
    ch.sendToQueue("mf-quorum", Buffer.from("q"));
    await ch.waitForConfirms();
    const q = await ch.get("mf-quorum");
    if (!q) throw new Error("no quorum message");
    ch.nack(q, false, true);
    await ch.checkQueue("mf-quorum");
    const { samples } = await scrape("/metrics");
    expect(samples.get(dl("rejected", "classic", "at_most_once"))).toBe(1);
    expect(samples.get(dl("maxlen", "classic", "disabled"))).toBe(1);
    expect(samples.get(dl("delivery_limit", "quorum", "disabled"))).toBe(1);
    expect(samples.get(dl("expired", "classic", "disabled"))).toBe(0);
    expect(samples.has(dl("delivery_limit", "classic", "disabled"))).toBe(false);
    await ch.close();
  });
});

describe("node-wide gauges and counters", () => {
  test("auth attempts count AMQP logins, failed and succeeded", async () => {
    const before = (await scrape("/metrics")).samples;
    const at = (s: Map<string, number>, n: string) => s.get(`rabbitmq_auth_attempts_${n}{protocol="amqp091"}`) ?? NaN;
    await amqp.connect(tb.url.replace("guest:guest", "guest:wrong")).then((c) => c.close(), () => {});
    const ok = await amqp.connect(tb.url);
    await ok.close();
    const after = (await scrape("/metrics")).samples;
    expect(at(after, "failed_total") - at(before, "failed_total")).toBe(1);
    expect(at(after, "succeeded_total") - at(before, "succeeded_total")).toBe(1);
    expect(at(after, "total") - at(before, "total")).toBe(2);
  });

  test("rabbitmq_global_publishers counts open channels that have published", async () => {
    const publishers = async () => (await scrape("/metrics")).samples.get('rabbitmq_global_publishers{protocol="amqp091"}');
    const base = await publishers();
    const ch = await conn.createConfirmChannel();
    const idle = await conn.createChannel();
    ch.sendToQueue("mf-none", Buffer.from("x"));
    await ch.waitForConfirms();
    expect(await publishers()).toBe(base! + 1);
    await ch.close();
    await idle.close();
    expect(await publishers()).toBe(base!);
  });

  test("consumer prefetch per channel, and queue in-memory and memory gauges", async () => {
    const ch = await conn.createChannel();
    await ch.prefetch(7);
    await ch.assertQueue("mf-mem", { durable: false });
    ch.sendToQueue("mf-mem", Buffer.from("12345"));
    await ch.checkQueue("mf-mem");
    const { samples, text } = await scrape("/metrics/per-object");
    expect([...samples].some(([k, v]) => k.startsWith("rabbitmq_consumer_prefetch{channel=") && v === 7)).toBe(true);
    expect(samples.get('rabbitmq_queue_messages_ready_ram{vhost="/",queue="mf-mem"}')).toBe(1);
    expect(samples.get('rabbitmq_queue_messages_unacked_ram{vhost="/",queue="mf-mem"}')).toBe(0);
    expect(samples.get('rabbitmq_queue_process_memory_bytes{vhost="/",queue="mf-mem"}')).toBeGreaterThan(5);
    expect(text).toContain("# TYPE rabbitmq_consumer_prefetch gauge");
    await ch.close();
  });
});

describe("/metrics/detailed", () => {
  test("only the families asked for, per object, under rabbitmq_detailed_; none asked: empty", async () => {
    expect((await scrape("/metrics/detailed")).text).toBe("");
    const { samples, text } = await scrape("/metrics/detailed?family=queue_coarse_metrics&family=connection_churn_metrics");
    expect(samples.get('rabbitmq_detailed_queue_messages_ready{vhost="/",queue="mf-mem"}')).toBe(1);
    expect(samples.has("rabbitmq_detailed_connections_opened_total")).toBe(true);
    expect(text).not.toContain("rabbitmq_detailed_channel_");
    expect(text).not.toContain("rabbitmq_queue_");
  });

  test("vhost narrows the queue families; queue_consumer_count is skipped with queue_metrics", async () => {
    tb.broker.addVhost("mf-other");
    tb.broker.setPermissions("guest", "mf-other", { configure: ".*", write: ".*", read: ".*" });
    const other = await amqp.connect(`${tb.url}/mf-other`);
    const ch = await other.createChannel();
    await ch.assertQueue("mf-elsewhere", { durable: false });
    const narrowed = (await scrape("/metrics/detailed?family=queue_consumer_count&vhost=mf-other")).text;
    expect(narrowed).toContain('rabbitmq_detailed_queue_consumers{vhost="mf-other",queue="mf-elsewhere"}');
    expect(narrowed).not.toContain('vhost="/"');
    const both = (await scrape("/metrics/detailed?family=queue_metrics&family=queue_consumer_count")).text;
    expect(both.match(/# TYPE rabbitmq_detailed_queue_consumers /g)?.length).toBe(1);
    expect(both).toContain("rabbitmq_detailed_queue_messages_paged_out");
    await other.close();
  });
});
