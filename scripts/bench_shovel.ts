// Shovel throughput, side by side in one run: 1 KiB persistent messages, on-confirm, a backlog
// preloaded into the source queue and timed until the destination queue holds all of it.
//   Warren→Warren    Warren A's shovel, local queue → Warren B over TCP (two processes)
//   Warren→Warren (same node)   Warren A's shovel, local queue → local queue (direct both sides)
//   Warren→RabbitMQ  Warren A's shovel → the reference RabbitMQ over TCP
//   RabbitMQ→RabbitMQ          the reference's own shovel, local queue → local queue (direct)
//   RabbitMQ→RabbitMQ (TCP)    the reference's own shovel → itself over TCP loopback
// The RabbitMQ rows need RABBITMQ_REF_URL and RABBITMQ_REF_HTTP. Nothing asserts on timing.
//   bun scripts/bench_shovel.ts [--messages 20000] [--rounds 3]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type ClientChannel, connect } from "../src/client/mod.ts";
import { spawnWarren, type WarrenProcess } from "../tests/helpers/warren_process.ts";

const { values: opts } = parseArgs({
  options: { messages: { type: "string", default: "20000" }, rounds: { type: "string", default: "3" } },
});
const N = Number(opts.messages);
const ROUNDS = Number(opts.rounds);
const ROUND_LIMIT_MS = 90_000;
const progress = (msg: string) => console.error(`bench_shovel: ${msg}`);
const refUrl = process.env.RABBITMQ_REF_URL;
const refHttp = process.env.RABBITMQ_REF_HTTP;

interface Side {
  amqp: string;
  http: string;
  auth: string;
}

async function httpOf(proc: WarrenProcess): Promise<string> {
  const line = await proc.waitForLine(/Management plugin: HTTP \(non-TLS\) listener started on port \d+/, 10_000);
  return `http://127.0.0.1:${/port (\d+)/.exec(line)![1]}`;
}

async function call(side: Side, method: string, path: string, body?: unknown): Promise<void> {
  const r = await fetch(side.http + path, {
    method,
    headers: { authorization: side.auth, "content-type": "application/json" },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (r.status >= 300 && !(method === "DELETE" && r.status === 404)) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
}

async function channel(uri: string): Promise<{ ch: ClientChannel; close: () => Promise<void> }> {
  const conn = await connect({ uri });
  const ch = await conn.openChannel();
  return { ch, close: () => conn.close() };
}

/** Fills `queue` with N persistent 1 KiB messages, confirmed. */
async function preload(uri: string, queue: string): Promise<void> {
  const { ch, close } = await channel(uri);
  await ch.declareQueue(queue, { durable: true });
  await ch.purgeQueue(queue);
  await ch.confirmSelect();
  const body = new Uint8Array(1024).fill(120);
  let confirmed = 0;
  const done = new Promise<void>((resolve) => ch.onConfirm((seq) => (confirmed = seq) >= N && resolve()));
  for (let i = 0; i < N; i++) {
    if (!ch.writable) await ch.whenWritable();
    ch.publish("", queue, body, { deliveryMode: 2 });
  }
  await done;
  void confirmed;
  await close();
}

/** One round: preload, start the shovel, wait for all N at the destination; messages per second. */
async function round(host: Side, srcUri: string, destUri: string, shovelSrc: string, shovelDest: string, tag: string): Promise<number> {
  const src = `shovel-bench-${tag}-src`;
  const dst = `shovel-bench-${tag}-dst`;
  await preload(srcUri, src);
  const { ch, close } = await channel(destUri);
  await ch.declareQueue(dst, { durable: true });
  await ch.purgeQueue(dst);
  const started = performance.now();
  try {
    await call(host, "PUT", `/api/parameters/shovel/%2f/shovel-bench-${tag}`, {
      value: { "src-uri": shovelSrc, "src-queue": src, "dest-uri": shovelDest, "dest-queue": dst, "ack-mode": "on-confirm" },
    });
    while ((await ch.declareQueue(dst, { passive: true })).messageCount < N) {
      if (performance.now() - started > ROUND_LIMIT_MS) {
        throw new Error(`the shovel did not move ${N} messages within ${ROUND_LIMIT_MS / 1000} s`);
      }
      await Bun.sleep(20);
    }
    return N / ((performance.now() - started) / 1000);
  } finally {
    await call(host, "DELETE", `/api/parameters/shovel/%2f/shovel-bench-${tag}`).catch(() => undefined);
    await ch.deleteQueue(dst).catch(() => undefined);
    await ch.deleteQueue(src).catch(() => undefined);
    await close().catch(() => undefined);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const dirs: string[] = [];
const procs: WarrenProcess[] = [];
const results: { name: string; rate: number }[] = [];
const failed = new Map<string, string>();
try {
  const start = async () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-shovel-"));
    dirs.push(dir);
    const p = await spawnWarren({ dataDir: dir, logLevel: "info" });
    procs.push(p);
    return p;
  };
  const [pa, pb] = await Promise.all([start(), start()]);
  const guest = "Basic " + btoa("guest:guest");
  const a: Side = { amqp: pa.url, http: await httpOf(pa), auth: guest };
  const scenarios: { name: string; run: () => Promise<number> }[] = [
    { name: "Warren→Warren (TCP)", run: () => round(a, pa.url, pb.url, "amqp://", pb.url, "w2w") },
    { name: "Warren→Warren (same node)", run: () => round(a, pa.url, pa.url, "amqp://", "amqp://", "w2self") },
  ];
  const refReachable = refUrl !== undefined && await connect({ uri: refUrl }).then((c) => c.close().then(() => true), (err: Error) => {
    progress(`the reference RabbitMQ at ${refUrl} refused us (${err.message}): only the Warren rows`);
    return false;
  });
  if (refUrl && refHttp && refReachable) {
    const u = new URL(refHttp);
    const ref: Side = {
      amqp: refUrl,
      http: `${u.protocol}//${u.host}`,
      auth: "Basic " + btoa(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`),
    };
    scenarios.push(
      { name: "Warren→RabbitMQ (TCP)", run: () => round(a, pa.url, refUrl, "amqp://", refUrl, "w2r") },
      { name: "RabbitMQ→RabbitMQ (same node, its shovel)", run: () => round(ref, refUrl, refUrl, "amqp://", "amqp://", "r2self") },
      { name: "RabbitMQ→RabbitMQ (TCP, its shovel)", run: () => round(ref, refUrl, refUrl, "amqp://", refUrl, "r2r") },
    );
  } else progress("RABBITMQ_REF_URL / RABBITMQ_REF_HTTP unset: only the Warren rows");
  for (let r = 0; r < ROUNDS; r++) {
    // Interleaved rounds: load on the shared machine hits every scenario alike.
    for (const s of scenarios) {
      if (failed.has(s.name)) continue;
      progress(`round ${r + 1}: ${s.name}`);
      try {
        results.push({ name: s.name, rate: await s.run() });
      } catch (err) {
        // A broken reference broker must not cost the other rows.
        failed.set(s.name, (err as Error).message);
        progress(`${s.name} failed: ${(err as Error).message}`);
      }
    }
  }
  const byName = new Map<string, number>();
  for (const s of scenarios) {
    const rates = results.filter((x) => x.name === s.name).map((x) => x.rate);
    if (rates.length > 0) byName.set(s.name, median(rates));
  }
  const base = byName.get("RabbitMQ→RabbitMQ (same node, its shovel)");
  console.log(`\n## shovel throughput: ${N} × 1 KiB persistent, on-confirm, prefetch 1000 (median of ${ROUNDS})\n`);
  console.log(`| scenario | msg/s | vs RabbitMQ→RabbitMQ (same node) |\n|---|---|---|`);
  for (const [name, rate] of byName) console.log(`| ${name} | ${rate.toFixed(0)} | ${base ? (rate / base).toFixed(2) : "—"} |`);
  for (const [name, why] of failed) console.log(`| ${name} | failed: ${why.replaceAll("|", "/").slice(0, 120)} | — |`);
} finally {
  await Promise.all(procs.map((p) => p.kill9()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
