// The delayed-message exchange at scale (issue 16), printed as markdown; nothing is asserted.
//   bun scripts/bench_delayed.ts [--messages 1000000] [--max-delay 60000] [--window 2000] [--binary dist/warren]
//                                [--only plain,delayed,held,sustained] [--no-fsync] [--rate <msg/s for the delayed phase>]
//                                [--held-messages 10000000] [--publishers 4]
//                                [--release-rate 10000] [--release-seconds 30] [--prep-rate 5000] [--lead <s>]
// Phases, each on a fresh broker process and data dir (fsync on, the default):
//   plain    N persistent messages with confirms to a durable queue through a direct exchange;
//   delayed  N persistent messages with random x-delay in [0, max-delay] ms and confirms to a
//            durable x-delayed-message exchange while a consumer takes them from its queue:
//            publish rate, broker RSS (max), release lateness = delivery time − (send time +
//            x-delay), so the publisher's own queueing counts against it;
//   held     --held-messages (default N; 10000000 for issue 16's scale target) persistent
//            messages with random delays of 1–2 hours (so the due index takes random inserts),
//            from --publishers connections: publish rate (overall, first and last tenth), RSS
//            while holding them, the data dir's size, then a restart (SIGTERM, start) timed to
//            `Server startup complete`, and RSS after it;
//   sustained  --release-rate × --release-seconds messages published first (at --prep-rate,
//            below saturation, so a message reaches the broker within a few ms of its send),
//            due one after the other at --release-rate from --lead s after publishing starts
//            (default: twice the time publishing should take, plus 5 s, so that it ends first):
//            lateness at a consumer = delivery time − due time (due = send time + x-delay, an
//            upper bound of the broker's due time, which counts from its receipt).
// The broker runs as `bun src/main.ts` (or --binary); the client is @cloudamqp/amqp-client.
import { type AMQPChannel, AMQPClient } from "@cloudamqp/amqp-client";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values: opts } = parseArgs({
  options: {
    messages: { type: "string", default: "1000000" },
    "max-delay": { type: "string", default: "60000" },
    window: { type: "string", default: "2000" },
    binary: { type: "string" },
    only: { type: "string" },
    "no-fsync": { type: "boolean", default: false },
    rate: { type: "string" },
    "held-messages": { type: "string" },
    publishers: { type: "string", default: "1" },
    "release-rate": { type: "string", default: "10000" },
    "release-seconds": { type: "string", default: "30" },
    "prep-rate": { type: "string", default: "5000" },
    lead: { type: "string" },
  },
});
const N = Number(opts.messages);
const MAX_DELAY = Number(opts["max-delay"]);
const WINDOW = Number(opts.window);
const only = opts.only?.split(",");
/** Publishes per second in the delayed phase (unlimited when not given): lateness below saturation. */
const RATE = opts.rate === undefined ? undefined : Number(opts.rate);
const HELD = Number(opts["held-messages"] ?? N);
const PUBLISHERS = Number(opts.publishers);
const RELEASE_RATE = Number(opts["release-rate"]);
const RELEASE_SECONDS = Number(opts["release-seconds"]);
const PREP_RATE = Number(opts["prep-rate"]);
const progress = (msg: string) => console.error(`bench_delayed: ${msg}`);

interface Broker {
  proc: ChildProcess;
  port: number;
  dataDir: string;
  output: () => string;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => done(port));
    });
  });
}

/** Starts a broker on `dataDir`; resolves with it and the ms from spawn to the startup line. */
async function startBroker(dataDir: string): Promise<{ broker: Broker; startupMs: number }> {
  const port = await freePort();
  const argv = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--data-dir",
    dataDir,
    "--log-level",
    "info",
    "--http-port",
    "0",
    "--metrics-port",
    "0",
  ];
  if (opts["no-fsync"]) argv.push("--no-fsync");
  const started = performance.now();
  const proc = opts.binary
    ? spawn(resolve(opts.binary), argv, { stdio: ["ignore", "pipe", "pipe"] })
    : spawn(join(root, "node_modules/.bin/bun"), [join(root, "src/main.ts"), ...argv], { stdio: ["ignore", "pipe", "pipe"], cwd: root });
  let text = "";
  let head = "";
  const startupMs = await new Promise<number>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`no startup line within 120 s:\n${text}`)), 120_000);
    const onData = (chunk: Buffer) => {
      if (head.length < 10_000) head += chunk.toString();
      text = (text + chunk.toString()).slice(-20_000);
      if (text.includes("Server startup complete")) {
        clearTimeout(timer);
        done(performance.now() - started);
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    proc.once("exit", () => fail(new Error(`broker exited:\n${text}`)));
  });
  return { broker: { proc, port, dataDir, output: () => head + text }, startupMs };
}

async function stopBroker(b: Broker): Promise<void> {
  const exited = new Promise((done) => b.proc.once("exit", done));
  b.proc.kill("SIGTERM");
  await exited;
}

function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);
  return kb / 1024;
}

/** CPU time (user + system) the process has used, in ms (from /proc; ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Samples the broker's RSS every 250 ms; stop() answers the largest. */
function rssSampler(pid: number): { stop(): number } {
  let max = 0;
  const timer = setInterval(() => (max = Math.max(max, rssMiB(pid))), 250);
  return { stop: () => (clearInterval(timer), Math.max(max, rssMiB(pid))) };
}

async function channel(port: number): Promise<{ ch: AMQPChannel; close(): Promise<void> }> {
  const conn = await new AMQPClient(`amqp://guest:guest@127.0.0.1:${port}`).connect();
  const ch = await conn.channel();
  return { ch, close: () => conn.close() };
}

/** Publishes N messages with confirms, WINDOW outstanding at most; answers msg/s. */
async function publishAll(ch: AMQPChannel, exchange: string, delayOf: (i: number) => number | undefined, rate?: number): Promise<number> {
  const started = performance.now();
  await publishRange(ch, exchange, 0, N, delayOf, rate);
  return N / ((performance.now() - started) / 1000);
}

/**
 * Publishes messages from..to-1 with confirms (WINDOW outstanding), each body `send time:delay:i`;
 * `rate` limits msg/s; `done(n)` is told every 1,000 confirmed.
 */
async function publishRange(
  ch: AMQPChannel,
  exchange: string,
  from: number,
  to: number,
  delayOf: (i: number) => number | undefined,
  rate?: number,
  done?: (n: number) => void,
): Promise<void> {
  await ch.confirmSelect();
  const started = performance.now();
  let inflight: Promise<number>[] = [];
  for (let i = from; i < to; i++) {
    if (rate !== undefined && i % 10 === 0) {
      const ahead = started + ((i - from) / rate) * 1000 - performance.now();
      if (ahead > 0) await new Promise((resolve) => setTimeout(resolve, ahead));
    }
    const delay = delayOf(i);
    const now = Date.now();
    const headers = delay === undefined ? undefined : { "x-delay": delay };
    inflight.push(ch.basicPublish(exchange, "k", `${now}:${delay ?? 0}:${i}`, { deliveryMode: 2, ...(headers ? { headers } : {}) }));
    if (inflight.length >= WINDOW) {
      await Promise.all(inflight);
      done?.(inflight.length);
      inflight = [];
    }
    if (i % 100_000 === 99_999 && from === 0) progress(`${exchange}: ${i + 1} published by the first publisher`);
  }
  await Promise.all(inflight);
  done?.(inflight.length);
}

/** Publishes `count` messages from PUBLISHERS connections at once; answers rates overall and of the first and last tenth. */
async function publishParallel(
  port: number,
  exchange: string,
  count: number,
  delayOf: (i: number) => number | undefined,
): Promise<{ rate: number; firstTenth: number; lastTenth: number }> {
  const links = await Promise.all(Array.from({ length: PUBLISHERS }, () => channel(port)));
  const started = performance.now();
  let confirmed = 0;
  let tenth = NaN;
  let ninetenths = NaN;
  let nextReport = 1_000_000;
  const done = (n: number) => {
    confirmed += n;
    if (Number.isNaN(tenth) && confirmed >= count / 10) tenth = performance.now();
    if (Number.isNaN(ninetenths) && confirmed >= (count * 9) / 10) ninetenths = performance.now();
    if (confirmed >= nextReport) {
      progress(`${exchange}: ${confirmed} confirmed, ${(confirmed / ((performance.now() - started) / 1000) / 1000).toFixed(1)}k msg/s`);
      nextReport += 1_000_000;
    }
  };
  const per = Math.ceil(count / PUBLISHERS);
  await Promise.all(
    links.map(({ ch }, p) => publishRange(ch, exchange, p * per, Math.min(count, (p + 1) * per), delayOf, undefined, done)),
  );
  const ended = performance.now();
  await Promise.all(links.map((l) => l.close()));
  const perSecond = (n: number, ms: number) => n / (ms / 1000);
  return {
    rate: perSecond(count, ended - started),
    firstTenth: perSecond(count / 10, tenth - started),
    lastTenth: perSecond(count / 10, ended - ninetenths),
  };
}

async function declare(ch: AMQPChannel, exchange: string, type: string, args: Record<string, string> = {}): Promise<void> {
  await ch.exchangeDeclare(exchange, type, { durable: true }, args);
  await ch.queueDeclare(`${exchange}-q`, { durable: true });
  await ch.queueBind(`${exchange}-q`, exchange, "k");
}

/** p50 and p99 of the broker's own lateness histogram (bucket upper bounds), from /metrics. */
async function brokerLateness(b: Broker): Promise<string | undefined> {
  const port = /Prometheus metrics: .* on port (\d+)/.exec(b.output())?.[1];
  if (port === undefined) return undefined;
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const buckets = [...text.matchAll(/rabbitmq_delayed_messages_release_lateness_seconds_bucket\{le="([^"]+)"\} (\d+)/g)]
    .map((m) => ({ le: m[1]!, n: Number(m[2]) }));
  const total = buckets.at(-1)?.n ?? 0;
  if (total === 0) return undefined;
  const at = (p: number) => buckets.find((b) => b.n >= total * p)!.le;
  const ms = (le: string) => (le === "+Inf" ? "> 60000 ms" : `≤ ${Number(le) * 1000} ms`);
  return `${ms(at(0.5))} / ${ms(at(0.99))}`;
}

/** Bytes of the files under `dir`. */
function dirSize(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? dirSize(path) : statSync(path).size;
  }
  return total;
}

const pct = (sorted: Float64Array, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
const rows: [string, string][] = [];
const fresh = () => mkdtempSync(join(tmpdir(), "warren-bench-delayed-"));

let plainRate = NaN;
/** Broker CPU per plain publish (µs). */
let plainCpu = NaN;
if (!only || only.includes("plain")) {
  const dir = fresh();
  const { broker } = await startBroker(dir);
  const { ch, close } = await channel(broker.port);
  await declare(ch, "plain", "direct");
  await close();
  const cpu = cpuMs(broker.proc.pid!);
  plainRate = (await publishParallel(broker.port, "plain", N, () => undefined)).rate;
  plainCpu = ((cpuMs(broker.proc.pid!) - cpu) * 1000) / N;
  rows.push([
    `plain persistent publish with confirms (${N} msgs, ${PUBLISHERS} publisher(s))`,
    `${(plainRate / 1000).toFixed(1)}k msg/s, broker CPU ${plainCpu.toFixed(0)} µs/msg`,
  ]);
  await stopBroker(broker);
  rmSync(dir, { recursive: true, force: true });
}

if (!only || only.includes("delayed")) {
  const dir = fresh();
  const { broker } = await startBroker(dir);
  const { ch, close } = await channel(broker.port);
  await declare(ch, "delayed", "x-delayed-message", { "x-delayed-type": "direct" });
  const consumer = await channel(broker.port);
  const lateness = new Float64Array(N);
  const afterPublishing: number[] = [];
  let received = 0;
  let publishingDone = Infinity;
  let allIn!: () => void;
  const all = new Promise<void>((done) => (allIn = done));
  await consumer.ch.basicConsume("delayed-q", { noAck: true }, (msg) => {
    const now = Date.now();
    const [sent, delay] = msg.bodyToString()!.split(":").map(Number) as [number, number];
    const late = now - (sent + delay);
    lateness[received++] = late;
    if (sent + delay > publishingDone) afterPublishing.push(late);
    if (received === N) allIn();
  });
  const rss = rssSampler(broker.proc.pid!);
  let seed = 16;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const releaseStart = Date.now();
  const rate = await publishAll(ch, "delayed", () => Math.floor(random() * (MAX_DELAY + 1)), RATE);
  publishingDone = Date.now();
  await all;
  const releaseSeconds = (Date.now() - releaseStart) / 1000;
  const brokerSide = await brokerLateness(broker);
  const maxRss = rss.stop();
  const sorted = lateness.slice(0, received).sort();
  const quiet = Float64Array.from(afterPublishing).sort();
  rows.push([
    `delayed publish, random x-delay 0–${MAX_DELAY / 1000} s, confirms${RATE === undefined ? "" : `, limited to ${RATE} msg/s`}`,
    `${(rate / 1000).toFixed(1)}k msg/s${Number.isNaN(plainRate) ? "" : ` (${(rate / plainRate).toFixed(2)}× plain)`}`,
  ]);
  rows.push(["broker RSS max during publish + release", `${maxRss.toFixed(0)} MiB`]);
  rows.push([
    `release lateness, all ${received} (p50 / p99 / max)`,
    `${pct(sorted, 0.5)} / ${pct(sorted, 0.99)} / ${sorted[sorted.length - 1]} ms`,
  ]);
  if (quiet.length > 0) {
    rows.push([
      `release lateness, ${quiet.length} due after publishing ended (p50 / p99 / max)`,
      `${pct(quiet, 0.5)} / ${pct(quiet, 0.99)} / ${quiet[quiet.length - 1]} ms`,
    ]);
  }
  if (brokerSide) rows.push(["release lateness at the broker (release − due; histogram bucket bounds p50 / p99)", brokerSide]);
  rows.push(["average release rate (first publish to last delivery)", `${(N / releaseSeconds / 1000).toFixed(1)}k msg/s`]);
  await consumer.close();
  await close();
  await stopBroker(broker);
  rmSync(dir, { recursive: true, force: true });
}

if (!only || only.includes("held")) {
  const dir = fresh();
  const empty = await startBroker(dir);
  const { ch, close } = await channel(empty.broker.port);
  await declare(ch, "held", "x-delayed-message", { "x-delayed-type": "direct" });
  await close();
  const rss = rssSampler(empty.broker.proc.pid!);
  const cpu = cpuMs(empty.broker.proc.pid!);
  let seed = 23;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const rates = await publishParallel(empty.broker.port, "held", HELD, () => 3_600_000 + Math.floor(random() * 3_600_000));
  const heldCpu = ((cpuMs(empty.broker.proc.pid!) - cpu) * 1000) / HELD;
  await new Promise((done) => setTimeout(done, 3000));
  const settled = rssMiB(empty.broker.proc.pid!);
  const max = rss.stop();
  await stopBroker(empty.broker);
  const diskMiB = dirSize(dir) / 2 ** 20;
  const again = await startBroker(dir);
  await new Promise((done) => setTimeout(done, 1000));
  const afterRestart = rssMiB(again.broker.proc.pid!);
  const logged = /(\d+) delayed message\(s\) held in the store/.exec(again.broker.output())?.[1];
  await stopBroker(again.broker);
  rmSync(dir, { recursive: true, force: true });
  const k = (r: number) => `${(r / 1000).toFixed(1)}k`;
  rows.push([
    `publish of ${HELD} held for 1–2 h (random), ${PUBLISHERS} publisher(s): overall (first tenth / last tenth)`,
    `${k(rates.rate)} msg/s (${k(rates.firstTenth)} / ${k(rates.lastTenth)})${
      Number.isNaN(plainRate) ? "" : `, ${(rates.rate / plainRate).toFixed(2)}× plain (${N} msgs)`
    }; broker CPU ${heldCpu.toFixed(0)} µs/msg${Number.isNaN(plainCpu) ? "" : ` (${(heldCpu / plainCpu).toFixed(2)}× plain)`}`,
  ]);
  rows.push([`broker RSS holding ${HELD} (max while publishing / settled 3 s after)`, `${max.toFixed(0)} / ${settled.toFixed(0)} MiB`]);
  rows.push([`data dir holding ${HELD}`, `${diskMiB.toFixed(0)} MiB (${((diskMiB * 2 ** 20) / HELD).toFixed(0)} B per message)`]);
  rows.push([
    `restart with ${logged ?? "?"} held: spawn → Server startup complete (empty store: ${empty.startupMs.toFixed(0)} ms)`,
    `${again.startupMs.toFixed(0)} ms`,
  ]);
  rows.push(["broker RSS 1 s after that restart", `${afterRestart.toFixed(0)} MiB`]);
}

// Sustained release: M messages published first, then due at RELEASE_RATE per second.
if (!only || only.includes("sustained")) {
  const dir = fresh();
  const { broker } = await startBroker(dir);
  const { ch, close } = await channel(broker.port);
  await declare(ch, "sustained", "x-delayed-message", { "x-delayed-type": "direct" });
  const M = RELEASE_RATE * RELEASE_SECONDS;
  const lead = opts.lead === undefined ? (2 * M) / PREP_RATE + 5 : Number(opts.lead);
  const firstDue = Date.now() + lead * 1000;
  const dueOf = (i: number) => firstDue + Math.floor((i * 1000) / RELEASE_RATE);
  const consumer = await channel(broker.port);
  const lateness = new Float64Array(M);
  let received = 0;
  let allIn!: () => void;
  const all = new Promise<void>((done) => (allIn = done));
  await consumer.ch.basicConsume("sustained-q", { noAck: true }, (msg) => {
    const now = Date.now();
    const [sent, delay] = msg.bodyToString()!.split(":").map(Number) as [number, number];
    lateness[received++] = now - (sent + delay);
    if (received === M) allIn();
  });
  progress(`sustained: publishing ${M} at ${PREP_RATE} msg/s, first due in ${((firstDue - Date.now()) / 1000).toFixed(0)} s`);
  await publishRange(ch, "sustained", 0, M, (i) => Math.max(1, dueOf(i) - Date.now()), PREP_RATE);
  const publishedBy = Date.now();
  if (publishedBy > firstDue) {
    progress(`sustained: publishing ended ${publishedBy - firstDue} ms after the first due time: give a longer --lead`);
    rows.push(["sustained release", `not measured: publishing ended ${publishedBy - firstDue} ms after the first due time (--lead)`]);
  }
  // CPU and RSS are taken over the release only: from the first due time.
  await new Promise((done) => setTimeout(done, Math.max(0, firstDue - Date.now())));
  const rss = rssSampler(broker.proc.pid!);
  const cpuBefore = cpuMs(broker.proc.pid!);
  const cpuFrom = Date.now();
  await all;
  const releaseMs = Date.now() - firstDue;
  const releaseCpu = ((cpuMs(broker.proc.pid!) - cpuBefore) * 1000) / M;
  const cpuShare = (cpuMs(broker.proc.pid!) - cpuBefore) / (Date.now() - cpuFrom);
  const maxRss = rss.stop();
  const brokerSide = await brokerLateness(broker);
  const sorted = lateness.sort();
  rows.push([
    `sustained release: ${M} due at ${RELEASE_RATE} msg/s for ${RELEASE_SECONDS} s; delivered in`,
    `${(releaseMs / 1000).toFixed(1)} s (${(M / (releaseMs / 1000) / 1000).toFixed(1)}k msg/s)`,
  ]);
  rows.push([
    "sustained release lateness at the consumer, delivery − due (p50 / p99 / p99.9 / max)",
    `${pct(sorted, 0.5)} / ${pct(sorted, 0.99)} / ${pct(sorted, 0.999)} / ${sorted[sorted.length - 1]} ms`,
  ]);
  if (brokerSide) rows.push(["sustained release lateness at the broker (histogram bucket bounds p50 / p99)", brokerSide]);
  rows.push(["broker RSS max during the sustained release", `${maxRss.toFixed(0)} MiB`]);
  rows.push([
    "broker CPU per released message (release, delivery, commit)",
    `${releaseCpu.toFixed(0)} µs (${(cpuShare * 100).toFixed(0)} % of one core at this rate)`,
  ]);
  await consumer.close();
  await close();
  await stopBroker(broker);
  rmSync(dir, { recursive: true, force: true });
}

console.log(`## Delayed messages (${N} messages${opts["no-fsync"] ? ", --no-fsync" : ""})`);
console.log("| figure | value |\n|---|---|");
for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
process.exit(0);
