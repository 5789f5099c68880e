// MQTT QoS 1 latency on brokers that are already running, interleaved A B A B (issue 22: fsync
// off the event loop). amqpload covers the AMQP rows; this covers MQTT, which it does not speak.
//   bun scripts/bench_durability.ts --url new=mqtt://guest:guest@127.0.0.1:1883 \
//     --url base=mqtt://guest:guest@127.0.0.1:1884 [--rounds 3] [--count 1000] [--size 64]
// Each round, for each broker: one message at a time, QoS 1, publish -> PUBACK and publish ->
// delivery, with a clean session (a transient queue) and a persistent one (clean=false: a
// durable queue, so every message is stored and its PUBACK waits for the fsync). Prints the
// medians over rounds of each p50/p99/p99.9, and B/A ratios. Nothing here asserts on timing.
import { parseArgs } from "node:util";
import mqtt, { type MqttClient } from "mqtt";

const { values: opts } = parseArgs({
  options: {
    url: { type: "string", multiple: true, default: [] },
    rounds: { type: "string", default: "3" },
    count: { type: "string", default: "1000" },
    size: { type: "string", default: "64" },
  },
});
const targets = (opts.url ?? []).map((spec) => {
  const at = spec.indexOf("=");
  return { name: spec.slice(0, at), url: spec.slice(at + 1) };
});
if (targets.length === 0) {
  console.error("bench_durability: give --url name=mqtt://user:pass@host:port (one per broker)");
  process.exit(2);
}
const count = Number(opts.count);
const payload = Buffer.alloc(Number(opts.size), 120);

function connect(url: string, clientId: string, clean: boolean): Promise<MqttClient> {
  return mqtt.connectAsync(url, { clientId, reconnectPeriod: 0, clean, protocolVersion: 4 });
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function run(url: string, clean: boolean): Promise<Record<string, number>> {
  const tag = `durability-bench-${process.pid}-${clean ? "c" : "p"}`;
  const topic = `${tag}/lat`;
  const sub = await connect(url, `${tag}-sub`, clean);
  await sub.subscribeAsync(topic, { qos: 1 });
  const pub = await connect(url, `${tag}-pub`, clean);
  const acked: number[] = [];
  const delivered: number[] = [];
  let arrived: (() => void) | undefined;
  sub.on("message", () => arrived?.());
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    const got = new Promise<void>((r) => (arrived = r));
    const puback = pub.publishAsync(topic, payload, { qos: 1 }).then(() => acked.push(performance.now() - start));
    await got;
    delivered.push(performance.now() - start);
    await puback;
  }
  await pub.endAsync(true);
  if (!clean) await sub.unsubscribeAsync(topic);
  await sub.endAsync(true);
  // A persistent session leaves its queue behind: end it with a clean session.
  if (!clean) await (await connect(url, `${tag}-sub`, true)).endAsync(true);
  acked.sort((a, b) => a - b);
  delivered.sort((a, b) => a - b);
  return {
    puback_p50: pct(acked, 0.5),
    puback_p99: pct(acked, 0.99),
    puback_p999: pct(acked, 0.999),
    deliver_p50: pct(delivered, 0.5),
    deliver_p99: pct(delivered, 0.99),
    deliver_p999: pct(delivered, 0.999),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const clean of [false, true]) {
  const samples = new Map<string, Record<string, number>[]>();
  for (let round = 1; round <= Number(opts.rounds); round++) {
    for (const t of targets) {
      const r = await run(t.url, clean);
      console.error(`bench_durability: ${clean ? "clean" : "persistent"} session, ${t.name} round ${round}: ${JSON.stringify(r)}`);
      samples.set(t.name, [...(samples.get(t.name) ?? []), r]);
    }
  }
  const names = targets.map((t) => t.name);
  console.log(`\nMQTT QoS 1, one in flight, ${clean ? "clean session (transient queue)" : "persistent session (durable queue)"}, ms:`);
  console.log(`| metric | ${names.join(" | ")} |${names.length > 1 ? ` ${names[1]} / ${names[0]} |` : ""}`);
  console.log(`|---|${names.map(() => "---|").join("")}${names.length > 1 ? "---|" : ""}`);
  for (const metric of Object.keys(samples.get(names[0]!)![0]!)) {
    const values = names.map((n) => median(samples.get(n)!.map((r) => r[metric]!)));
    const ratio = values.length > 1 ? ` ${(values[1]! / values[0]!).toFixed(2)} |` : "";
    console.log(`| ${metric} | ${values.map((v) => v.toFixed(2)).join(" | ")} |${ratio}`);
  }
}
