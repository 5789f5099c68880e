// The fill–drain–reclaim cycle of issue 23: a persistent backlog of N × 1 KiB builds with no
// consumer, then drains; the data directory is measured at full, right after the drain and 60 s
// later, with publish and drain rates and RSS. A latency probe (one confirmed persistent message
// every 2 ms on another queue, consumed at once) runs through the drain and the minute after it;
// the same cycle with --no-reclaim gives the baseline, and the ratio of the probe's p99 is
// reported. Nothing here asserts; numbers go to docs/storage.md by hand (the machine is shared).
//   bun scripts/bench_reclaim.ts [--messages 1000000] [--keep 0] [--after 60] [--only reclaim|baseline]
//   bun scripts/bench_reclaim.ts --messages 10000000        the full size (about 14 GB of disk)
import amqp, { type ConfirmChannel } from "amqplib";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values: opts } = parseArgs({
  options: {
    messages: { type: "string", default: "1000000" },
    size: { type: "string", default: "1024" },
    keep: { type: "string", default: "0" },
    after: { type: "string", default: "60" },
    only: { type: "string" },
    "probe-ms": { type: "string", default: "2" },
  },
});
const N = Number(opts.messages);
const SIZE = Number(opts.size);
const KEEP = Number(opts.keep);
const AFTER_S = Number(opts.after);
const PROBE_MS = Number(opts["probe-ms"]);
const progress = (msg: string) => console.error(`bench_reclaim: ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    total += e.isDirectory() ? dirBytes(join(dir, e.name)) : statSync(join(dir, e.name)).size;
  }
  return total;
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;
const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function startBroker(dataDir: string, reclaim: boolean) {
  const child = spawn(join(root, "node_modules/.bin/bun"), [
    join(root, "src/main.ts"),
    "--port",
    "0",
    "--bind",
    "127.0.0.1",
    "--data-dir",
    dataDir,
    "--http-port",
    "none",
    "--metrics-port",
    "none",
    ...(reclaim ? [] : ["--no-reclaim"]),
  ], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (c) => {
    out += c;
    for (const line of String(c).split("\n")) {
      if (/reclaim pass|Upgrad|disk/i.test(line)) progress(`  broker: ${line.replace(/^\S+ \S+ /, "")}`);
    }
  });
  child.stderr!.on("data", (c) => (out += c));
  for (let i = 0; i < 600 && !out.includes("Server startup complete"); i++) await sleep(50);
  const port = Number(/started TCP listener on [^\n]*:(\d+)/.exec(out)?.[1]);
  if (!port) throw new Error(`broker did not start:\n${out}`);
  return { child, url: `amqp://guest:guest@127.0.0.1:${port}` };
}

/** One confirmed persistent message every PROBE_MS on its own queue; confirm latencies by phase. */
async function startProbe(url: string) {
  const conn = await amqp.connect(url);
  const ch: ConfirmChannel = await conn.createConfirmChannel();
  await ch.assertQueue("reclaim-probe", { durable: true });
  await ch.consume("reclaim-probe", () => {}, { noAck: true });
  const samples: { phase: string; ms: number }[] = [];
  let phase = "idle";
  let running = true;
  const body = Buffer.alloc(SIZE, 1);
  void (async () => {
    while (running) {
      const sent = performance.now();
      const at = phase;
      ch.sendToQueue("reclaim-probe", body, { persistent: true }, () => samples.push({ phase: at, ms: performance.now() - sent }));
      await sleep(PROBE_MS);
    }
  })();
  return {
    setPhase: (p: string) => (phase = p),
    latencies: (p: string) => samples.filter((s) => s.phase === p).map((s) => s.ms),
    stop: async () => {
      running = false;
      await ch.waitForConfirms().catch(() => {});
      await conn.close();
    },
  };
}

interface Result {
  mode: string;
  publishRate: number;
  drainRate: number;
  rssFull: number;
  rssPeak: number;
  atFull: number;
  afterDrain: number;
  after60: number;
  boundReachedS: number;
  drainP50: number;
  drainP99: number;
  afterP50: number;
  afterP99: number;
}

async function cycle(reclaim: boolean): Promise<Result> {
  const mode = reclaim ? "reclaim" : "baseline (--no-reclaim)";
  const dataDir = mkdtempSync(join(tmpdir(), "warren-bench-reclaim-"));
  const broker = await startBroker(dataDir, reclaim);
  let rssPeak = 0;
  const rssTimer = setInterval(() => (rssPeak = Math.max(rssPeak, rssMb(broker.child.pid!))), 500);
  try {
    const conn = await amqp.connect(broker.url);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue("reclaim-backlog", { durable: true });
    const body = Buffer.alloc(SIZE, 7);
    progress(`${mode}: publishing ${N} × ${SIZE} B`);
    let t = performance.now();
    for (let i = 0; i < N; i += 2000) {
      for (let j = i; j < Math.min(N, i + 2000); j++) ch.sendToQueue("reclaim-backlog", body, { persistent: true });
      await ch.waitForConfirms();
    }
    const publishRate = N / ((performance.now() - t) / 1000);
    const rssFull = rssMb(broker.child.pid!);
    const atFull = dirBytes(dataDir);
    progress(`${mode}: ${publishRate.toFixed(0)} msg/s in, data dir ${mb(atFull)}, RSS ${rssFull.toFixed(0)} MB`);
    const probe = await startProbe(broker.url);
    await sleep(3000);
    probe.setPhase("drain");
    const consumer = await conn.createChannel();
    await consumer.prefetch(2000);
    const toDrain = N - KEEP;
    let got = 0;
    t = performance.now();
    await new Promise<void>((done) => {
      void consumer.consume("reclaim-backlog", (msg) => {
        if (!msg || got >= toDrain) return;
        got++;
        if (got % 500 === 0 || got === toDrain) consumer.ack(msg, true);
        if (got === toDrain) done();
      });
    });
    const drainRate = toDrain / ((performance.now() - t) / 1000);
    probe.setPhase("after");
    const drainedAt = performance.now();
    const afterDrain = dirBytes(dataDir);
    const bound = 64e6 + 1.1 * KEEP * SIZE;
    let boundReachedS = afterDrain <= bound ? 0 : NaN;
    progress(`${mode}: ${drainRate.toFixed(0)} msg/s out, data dir ${mb(afterDrain)} right after the drain`);
    while (performance.now() - drainedAt < AFTER_S * 1000) {
      await sleep(1000);
      if (Number.isNaN(boundReachedS) && dirBytes(dataDir) <= bound) boundReachedS = (performance.now() - drainedAt) / 1000;
    }
    const after60 = dirBytes(dataDir);
    await probe.stop();
    await conn.close();
    const d = probe.latencies("drain");
    const a = probe.latencies("after");
    return {
      mode,
      publishRate,
      drainRate,
      rssFull,
      rssPeak,
      atFull,
      afterDrain,
      after60,
      boundReachedS,
      drainP50: percentile(d, 50),
      drainP99: percentile(d, 99),
      afterP50: percentile(a, 50),
      afterP99: percentile(a, 99),
    };
  } finally {
    clearInterval(rssTimer);
    broker.child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const modes = opts.only === "reclaim" ? [true] : opts.only === "baseline" ? [false] : [true, false];
const results: Result[] = [];
for (const reclaim of modes) results.push(await cycle(reclaim));

console.log(
  `\nfill–drain–reclaim: ${N} × ${SIZE} B persistent, ${KEEP} left in the queue, probe every ${PROBE_MS} ms (machine shared and loaded)\n`,
);
console.log(`| | ${results.map((r) => r.mode).join(" | ")} |`);
console.log(`|---|${results.map(() => "---").join("|")}|`);
const row = (name: string, f: (r: Result) => string) => console.log(`| ${name} | ${results.map(f).join(" | ")} |`);
row("publish rate", (r) => `${r.publishRate.toFixed(0)} msg/s`);
row("drain rate", (r) => `${r.drainRate.toFixed(0)} msg/s`);
row("RSS at full / peak", (r) => `${r.rssFull.toFixed(0)} / ${r.rssPeak.toFixed(0)} MB`);
row("data dir at full", (r) => mb(r.atFull));
row("data dir right after the drain", (r) => mb(r.afterDrain));
row(`data dir ${AFTER_S} s later`, (r) => mb(r.after60));
row("bound (64 MB + 10 % live) reached after", (r) => (Number.isNaN(r.boundReachedS) ? "never" : `${r.boundReachedS.toFixed(0)} s`));
row("probe confirm p50 / p99 during the drain", (r) => `${r.drainP50.toFixed(2)} / ${r.drainP99.toFixed(2)} ms`);
row(`probe confirm p50 / p99 in the ${AFTER_S} s after`, (r) => `${r.afterP50.toFixed(2)} / ${r.afterP99.toFixed(2)} ms`);
if (results.length === 2) {
  const [on, off] = results as [Result, Result];
  console.log(
    `\np99 ratio reclaim / baseline: during the drain ${(on.drainP99 / off.drainP99).toFixed(2)}×, after it ${
      (on.afterP99 / off.afterP99).toFixed(2)
    }×`,
  );
}
