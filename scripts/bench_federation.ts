// Federated exchange throughput, side by side in one run: RabbitMQ -> Warren, Warren ->
// RabbitMQ, RabbitMQ -> RabbitMQ (two vhosts of the reference) and Warren -> Warren. Each case
// publishes N messages to the upstream exchange (publisher confirms) and times until a consumer
// on the downstream's bound queue has all of them. Needs the reference RabbitMQ
// (RABBITMQ_REF_URL, RABBITMQ_REF_HTTP); prints a Markdown table. Nothing asserts on timing.
//   bun scripts/bench_federation.ts [--messages 20000] [--size 256] [--rounds 3]
import { parseArgs } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import amqp from "amqplib";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values: opts } = parseArgs({
  options: {
    messages: { type: "string", default: "20000" },
    size: { type: "string", default: "256" },
    rounds: { type: "string", default: "3" },
  },
});
const N = Number(opts.messages);
const body = Buffer.alloc(Number(opts.size), 120);
const progress = (msg: string) => console.error(`bench_federation: ${msg}`);

const refUrl = process.env.RABBITMQ_REF_URL;
const refHttp = process.env.RABBITMQ_REF_HTTP;
if (!refUrl || !refHttp) {
  progress("RABBITMQ_REF_URL/RABBITMQ_REF_HTTP unset: skipping the federation benchmark");
  process.exit(0);
}

interface Broker {
  name: string;
  /** AMQP URL of vhost "/" (or the bench vhost). */
  url: string;
  /** How an upstream URI names this broker (from the other broker's point of view). */
  uri: string;
  http: (method: string, path: string, body?: unknown) => Promise<Response>;
  vhost: string;
}

function httpClient(base: string): Broker["http"] {
  const u = new URL(base);
  const auth = "Basic " +
    Buffer.from(`${decodeURIComponent(u.username) || "guest"}:${decodeURIComponent(u.password) || "guest"}`).toString("base64");
  return (method, path, b) =>
    fetch(`${u.protocol}//${u.host}${path}`, {
      method,
      headers: { authorization: auth, "content-type": "application/json" },
      ...(b !== undefined ? { body: JSON.stringify(b) } : {}),
    });
}

async function freePort(): Promise<number> {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

/** A Warren process from source on free ports (the same code as dist/warren). */
async function spawnWarren(cluster: string): Promise<{ broker: Broker; stop: () => Promise<void> }> {
  const [port, httpPort] = [await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), "warren-bench-fed-"));
  const proc = Bun.spawn([
    process.execPath,
    join(root, "src/main.ts"),
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--data-dir",
    dataDir,
    "--log-level",
    "warning",
    "--http-port",
    String(httpPort),
    "--metrics-port",
    "0",
  ], { stdout: "ignore", stderr: "inherit" });
  const http = httpClient(`http://guest:guest@127.0.0.1:${httpPort}`);
  for (;;) {
    try {
      if ((await http("GET", "/api/overview")).ok) break;
    } catch { /* not yet */ }
    await Bun.sleep(20);
  }
  await http("PUT", "/api/cluster-name", { name: cluster });
  const url = `amqp://guest:guest@127.0.0.1:${port}/%2f`;
  return {
    broker: { name: "Warren", url, uri: url, http, vhost: "/" },
    stop: async () => {
      proc.kill("SIGTERM");
      await proc.exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The reference RabbitMQ, in a bench vhost of its own (it is shared). */
async function rabbit(vhost: string): Promise<Broker> {
  const http = httpClient(refHttp!);
  await http("PUT", `/api/vhosts/${vhost}`);
  await http("PUT", `/api/permissions/${vhost}/guest`, { configure: ".*", write: ".*", read: ".*" });
  const url = `${refUrl}/${vhost}`;
  return { name: "RabbitMQ", url, uri: url, http, vhost };
}

/** One run: N messages published upstream, timed until all are consumed downstream. */
async function run(up: Broker, down: Broker, x: string): Promise<number> {
  const q = `${x}-q`;
  const v = encodeURIComponent(down.vhost);
  const dc = await amqp.connect(down.url);
  const dch = await dc.createChannel();
  await dch.assertExchange(x, "fanout", { durable: true });
  await dch.assertQueue(q, { durable: true });
  await dch.bindQueue(q, x, "");
  const uc = await amqp.connect(up.url);
  const uch = await uc.createConfirmChannel();
  await uch.assertExchange(x, "fanout", { durable: true });
  await down.http("PUT", `/api/parameters/federation-upstream/${v}/${x}`, { value: { uri: up.uri } });
  await down.http("PUT", `/api/policies/${v}/${x}`, {
    pattern: `^${x}$`,
    "apply-to": "exchanges",
    definition: { "federation-upstream": x },
  });
  for (;;) {
    const links = ((await (await down.http("GET", `/api/federation-links/${v}`)).json()) ?? []) as { exchange: string; status: string }[];
    if (links.some((l) => l.exchange === x && l.status === "running")) break;
    await Bun.sleep(50);
  }
  await Bun.sleep(500); // RabbitMQ binds upstream just after it reports running
  let got = 0;
  let resolveAll: () => void;
  const all = new Promise<void>((r) => (resolveAll = r));
  await dch.prefetch(1000);
  await dch.consume(q, (m) => {
    if (!m) return;
    dch.ack(m);
    if (++got === N) resolveAll();
  });
  const started = performance.now();
  for (let i = 0; i < N; i += 1000) {
    for (let k = i; k < Math.min(N, i + 1000); k++) uch.publish(x, "", body);
    await uch.waitForConfirms();
  }
  await all;
  const seconds = (performance.now() - started) / 1000;
  await down.http("DELETE", `/api/policies/${v}/${x}`);
  await down.http("DELETE", `/api/parameters/federation-upstream/${v}/${x}`);
  await dch.deleteQueue(q);
  await dch.deleteExchange(x);
  await uch.deleteExchange(x);
  await dc.close();
  await uc.close();
  return N / seconds;
}

const w1 = await spawnWarren("federation-bench-warren-1");
const w2 = await spawnWarren("federation-bench-warren-2");
const r1 = await rabbit("federation-bench-up");
const r2 = await rabbit("federation-bench-down");
const cases: [string, Broker, Broker][] = [
  ["RabbitMQ -> RabbitMQ (two vhosts)", r1, r2],
  ["RabbitMQ -> Warren", r1, w1.broker],
  ["Warren -> RabbitMQ", w1.broker, r2],
  ["Warren -> Warren", w1.broker, w2.broker],
];
const results = new Map<string, number[]>();
try {
  for (let round = 1; round <= Number(opts.rounds); round++) {
    for (const [name, up, down] of cases) {
      const rate = await run(up, down, `federation-bench-${round}-${Math.random().toString(36).slice(2, 6)}`);
      progress(`round ${round}: ${name}: ${rate.toFixed(0)} msg/s`);
      results.set(name, [...(results.get(name) ?? []), rate]);
    }
  }
} finally {
  await w1.stop();
  await w2.stop();
  for (const v of [r1.vhost, r2.vhost]) await r1.http("DELETE", `/api/vhosts/${v}`);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(results.get(cases[0]![0])!);
console.log(
  `## Federated exchange throughput (${N} messages of ${body.length} B, confirms upstream, acks downstream, median of ${opts.rounds})`,
);
console.log("| link | msg/s | vs RabbitMQ -> RabbitMQ |\n|---|---|---|");
for (const [name] of cases) {
  const m = median(results.get(name)!);
  console.log(`| ${name} | ${m.toFixed(0)} | ${(m / base).toFixed(2)} |`);
}
