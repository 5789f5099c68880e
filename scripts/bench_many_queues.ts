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
async function withProbe(label: string, request: () => Promise<number>): Promise<void> {
  const probe = spawn(process.execPath, [import.meta.path, "--probe", url, "--ms", "3000"], { stdio: ["ignore", "pipe", "inherit"] });
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

const text = async (address: string, headers = {}) => (await (await fetch(address, { headers })).text()).length;
await withProbe("GET /api/queues", () => text(`http://127.0.0.1:${ports.http}/api/queues`, auth));
await withProbe("GET /metrics/per-object", () => text(`http://127.0.0.1:${ports.metrics}/metrics/per-object`));

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
