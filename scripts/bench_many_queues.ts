// Many queues at once against dist/warren (docs/performance.md, "Many queues at once"): N durable
// queues, each bound to amq.direct and holding a message; the big management and Prometheus
// answers while a probe connection in its own process measures its longest round trip; deleting a
// tenth of the queues; and a restart with all of them (boot time, RSS, log lines).
//   bun scripts/bench_many_queues.ts [--queues 20000] [--binary dist/warren]
// The probe is this script run with --probe URL MS (its own process, so the answers' parsing here
// does not count as the broker's stall).
import amqp from "amqplib";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { binary as defaultBinary, freePort, rssMiB, waitForPort } from "./bench_common.ts";

const { values } = parseArgs({
  options: { queues: { type: "string", default: "20000" }, binary: { type: "string" }, probe: { type: "string" }, ms: { type: "string" } },
});

if (values.probe !== undefined) {
  // The probe: passive declares in a loop, the longest round trip printed as JSON at the end.
  const conn = await amqp.connect(values.probe);
  const ch = await conn.createChannel();
  await ch.assertQueue("bench-probe");
  let max = 0;
  const end = performance.now() + Number(values.ms ?? 4000);
  while (performance.now() < end) {
    const t = performance.now();
    await ch.checkQueue("bench-probe");
    max = Math.max(max, performance.now() - t);
  }
  console.log(JSON.stringify({ maxRoundTripMs: Math.round(max) }));
  await conn.close();
  process.exit(0);
}

const QUEUES = Number(values.queues);
const binary = values.binary ?? defaultBinary;
const dataDir = mkdtempSync(join(tmpdir(), "warren-bench-many-"));
const ports = { amqp: await freePort(), http: await freePort(), metrics: await freePort() };
const url = `amqp://guest:guest@127.0.0.1:${ports.amqp}`;
const auth = { authorization: `Basic ${btoa("guest:guest")}` };

function startBroker() {
  const args = ["--port", String(ports.amqp), "--bind", "127.0.0.1", "--data-dir", dataDir, "--log-level", "info"];
  args.push("--http-port", String(ports.http), "--metrics-port", String(ports.metrics));
  return Bun.spawn([binary, ...args], { stdout: "pipe", stderr: "inherit" });
}

/** Runs `request` while the probe runs; the request's time and the probe's longest round trip. */
async function withProbe(label: string, request: () => Promise<number>, probeMs = 3000): Promise<void> {
  const probe = spawn(process.execPath, [import.meta.path, "--probe", url, "--ms", String(probeMs)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  probe.stdout!.on("data", (d) => (out += d));
  const exited = new Promise((resolve) => probe.on("exit", resolve));
  await Bun.sleep(800);
  const t = performance.now();
  const bytes = await request();
  const ms = performance.now() - t;
  await exited;
  const { maxRoundTripMs } = JSON.parse(out) as { maxRoundTripMs: number };
  console.log(`${label}: ${Math.round(ms)} ms, ${bytes} bytes; another connection's longest round trip ${maxRoundTripMs} ms`);
}

let broker = startBroker();
await waitForPort(ports.amqp, 30_000);
const conn = await amqp.connect(url);
const ch = await conn.createConfirmChannel();
let t = performance.now();
for (let i = 0; i < QUEUES; i += 500) {
  const pending: Promise<unknown>[] = [];
  for (let j = i; j < Math.min(QUEUES, i + 500); j++) {
    pending.push(ch.assertQueue(`many-${j}`, { durable: true }), ch.bindQueue(`many-${j}`, "amq.direct", `k${j % 100}`));
    ch.sendToQueue(`many-${j}`, Buffer.alloc(100), { persistent: true });
  }
  await Promise.all(pending);
  await ch.waitForConfirms();
}
console.log(`declare, bind and publish to ${QUEUES} queues: ${Math.round(performance.now() - t)} ms`);

// A quarter as many fanout exchanges, each bound to one of the queues (exchange → queue bindings).
const EXCHANGES = Math.floor(QUEUES / 4);
t = performance.now();
for (let i = 0; i < EXCHANGES; i += 500) {
  const pending: Promise<unknown>[] = [];
  for (let j = i; j < Math.min(EXCHANGES, i + 500); j++) {
    pending.push(ch.assertExchange(`many-x-${j}`, "fanout", { durable: true }), ch.bindQueue(`many-${j}`, `many-x-${j}`, ""));
  }
  await Promise.all(pending);
}
console.log(`declare and bind ${EXCHANGES} exchanges: ${Math.round(performance.now() - t)} ms`);

// Many connections, each with two channels and a consumer on its own queue.
const CONNECTIONS = Math.floor(QUEUES / 20);
const clients: amqp.ChannelModel[] = [];
t = performance.now();
for (let i = 0; i < CONNECTIONS; i += 100) {
  await Promise.all(Array.from({ length: Math.min(100, CONNECTIONS - i) }, async (_, k) => {
    const client = await amqp.connect(url);
    clients.push(client);
    const c1 = await client.createChannel();
    await client.createChannel();
    await c1.consume(`many-${QUEUES - 1 - i - k}`, () => {});
  }));
}
console.log(`open ${CONNECTIONS} connections × 2 channels, a consumer each: ${Math.round(performance.now() - t)} ms`);

const text = async (address: string, headers = {}) => (await (await fetch(address, { headers })).text()).length;
const api = `http://127.0.0.1:${ports.http}/api`;
for (
  const path of [
    "queues",
    "queues?columns=name,messages",
    "queues?sort=messages&sort_reverse=true&columns=name,messages",
    "exchanges",
    "bindings",
    "definitions",
    "connections",
    "channels",
    "consumers",
    // what the web console asks every few seconds
    "overview",
    "vhosts",
    "nodes",
    "queues?page=1&page_size=100&sort=messages&sort_reverse=true",
    "queues?page=150&page_size=100&name=many-1&use_regex=false",
  ]
) {
  await withProbe(`GET /api/${path}`, () => text(`${api}/${path}`, auth));
}
await withProbe("GET /metrics/per-object", () => text(`http://127.0.0.1:${ports.metrics}/metrics/per-object`));

// One object's answers among many: the mean of 20 requests each.
const mean = async (label: string, request: () => Promise<unknown>) => {
  const start = performance.now();
  for (let i = 0; i < 20; i++) await request();
  console.log(`${label}: ${((performance.now() - start) / 20).toFixed(1)} ms each`);
};
const json = { ...auth, "content-type": "application/json" };
await mean("GET one queue's bindings", () => text(`${api}/queues/%2F/many-7/bindings`, auth));
await mean("GET one exchange's destination bindings", () => text(`${api}/exchanges/%2F/many-x-7/bindings/destination`, auth));
await mean("GET the bindings between an exchange and a queue", () => text(`${api}/bindings/%2F/e/many-x-7/q/many-7`, auth));
let n = 0;
await mean("POST a binding", () =>
  fetch(`${api}/bindings/%2F/e/many-x-7/q/many-7`, {
    method: "POST",
    headers: json,
    body: JSON.stringify({ routing_key: `extra-${n++}` }),
  }));
const connections = (await (await fetch(`${api}/connections?columns=name`, { headers: auth })).json()) as { name: string }[];
const connectionName = connections[connections.length >> 1]!.name;
await mean("GET one connection", () => text(`${api}/connections/${encodeURIComponent(connectionName)}`, auth));
await Promise.all(clients.map((client) => client.close()));

// Importing all of it again into a new vhost (RabbitMQ's definitions format, over HTTP).
const exported = (await (await fetch(`${api}/definitions`, { headers: auth })).json()) as Record<string, unknown>;
const copy = (list: unknown) => (list as Record<string, unknown>[]).map((o) => ({ ...o, vhost: "copy" }));
const imported = JSON.stringify({
  vhosts: [{ name: "copy" }],
  permissions: [{ user: "guest", vhost: "copy", configure: ".*", write: ".*", read: ".*" }],
  queues: copy(exported.queues),
  exchanges: copy(exported.exchanges),
  bindings: copy(exported.bindings),
});
await withProbe(
  `POST /api/definitions (${(exported.queues as unknown[]).length} queues, ${(exported.bindings as unknown[]).length} bindings)`,
  async () => {
    const res = await fetch(`${api}/definitions`, { method: "POST", headers: json, body: imported });
    if (res.status !== 204) throw new Error(`import answered ${res.status}: ${await res.text()}`);
    return imported.length;
  },
  10_000,
);
await withProbe("PUT a policy that applies to every imported queue", async () => {
  const body = JSON.stringify({ pattern: "^many-", definition: { "max-length": 1000, "message-ttl": 600000 }, "apply-to": "queues" });
  const res = await fetch(`${api}/policies/copy/limits`, { method: "PUT", headers: json, body });
  if (res.status !== 201 && res.status !== 204) throw new Error(`policy answered ${res.status}: ${await res.text()}`);
  return body.length;
});
await withProbe("DELETE the imported vhost", async () => {
  const res = await fetch(`${api}/vhosts/copy`, { method: "DELETE", headers: auth });
  if (res.status !== 204) throw new Error(`vhost delete answered ${res.status}: ${await res.text()}`);
  return 0;
}, 10_000);

const deleted = Math.floor(QUEUES / 10);
t = performance.now();
await Promise.all(Array.from({ length: deleted }, (_, j) => ch.deleteQueue(`many-${j}`)));
console.log(`delete ${deleted} queues (one channel): ${Math.round(performance.now() - t)} ms`);
await conn.close();

broker.kill("SIGTERM");
await broker.exited;
t = performance.now();
broker = startBroker();
let log = "";
const decoder = new TextDecoder();
for await (const chunk of broker.stdout) {
  log += decoder.decode(chunk);
  if (log.includes("Server startup complete")) break;
}
const bootMs = performance.now() - t;
await Bun.sleep(1000);
console.log(
  `boot with ${QUEUES - deleted} queues: ${Math.round(bootMs)} ms, RSS ${rssMiB(broker.pid).toFixed(1)} MiB, ${
    log.split("\n").length - 1
  } log lines`,
);
broker.kill("SIGTERM");
await broker.exited;
rmSync(dataDir, { recursive: true, force: true });
