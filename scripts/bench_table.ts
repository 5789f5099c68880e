// Issue 22's table: every row against dist/warren, the reference RabbitMQ and LavinMQ in the same
// run, rounds interleaved (W R L W R L …), medians; written between markers in
// docs/performance.md with --write. Each reference is skipped, with a message, when absent.
// Nothing here asserts on timing. Run by `npm run bench` (--skip-table leaves it out).
//   bun scripts/bench_table.ts [--rounds 3] [--seconds 5] [--only row,row] [--write]
//                              [--backlog 10000000 [--backlog-reference 1000000]]
// Rows: t16-auto t16-manual p16-confirm p1k-confirm 4q-16 rate-20k one-in-flight (idle RSS and
// RSS under load come with every run; the backlog row only with --backlog N, it is long).
import { parseArgs } from "node:util";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { binary, dropFromPageCache, freePort, median, root, rssMiB, spawnWarren, waitForPort } from "./bench_common.ts";

const { values: opts } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "5" },
    only: { type: "string" },
    write: { type: "boolean", default: false },
    backlog: { type: "string", default: "0" },
    "backlog-reference": { type: "string", default: "1000000" },
  },
});
const ROUNDS = Number(opts.rounds);
const SECONDS = opts.seconds!;
const progress = (msg: string) => console.error(`bench_table: ${msg}`);
const amqploadBin = resolve(root, "../shared/tools/amqpload/amqpload");
const lavinmqScript = resolve(root, "../shared/tools/lavinmq/reference-lavinmq");
const QUEUE_PREFIX = `bench-table-${process.pid}`;
/** Every amqpload result as it comes (JSON lines), so a long run's figures survive a failure. */
const RAW = join(tmpdir(), `bench_table-${process.pid}.jsonl`);
const MARK_START = "<!-- bench-table:start (scripts/bench_table.ts --write rewrites this section) -->";
const MARK_END = "<!-- bench-table:end -->";

type Result = Record<string, number | boolean | string | object>;
interface Broker {
  name: string;
  url: string;
  pid: number | undefined;
  idleRss: number | undefined;
  idleNote: string;
  maxLoadRss: number;
  stop(): Promise<void>;
}

if (!existsSync(amqploadBin)) {
  progress(`no amqpload at ${amqploadBin} (../shared/tools/amqpload): cannot run the table`);
  process.exit(0);
}

// ------------------------------------------------------------------ the brokers
async function startWarren(): Promise<Broker> {
  // Idle RSS: three fresh starts, the executable read cold each time (see dropFromPageCache).
  const idle: number[] = [];
  for (let i = 0; i < 3; i++) {
    dropFromPageCache(binary);
    const port = await freePort();
    const proc = spawnWarren(port);
    await waitForPort(port);
    await Bun.sleep(1500);
    idle.push(rssMiB(proc.pid));
    proc.kill("SIGTERM");
    await proc.exited;
  }
  const port = await freePort();
  const proc = spawnWarren(port);
  await waitForPort(port);
  return {
    name: "Warren",
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    pid: proc.pid,
    idleRss: median(idle),
    idleNote: "median of 3 fresh starts, 1.5 s after the port opened",
    maxLoadRss: 0,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

function rabbitmq(): Broker | null {
  const url = process.env.RABBITMQ_REF_URL;
  if (!url) {
    progress("RABBITMQ_REF_URL unset (../shared/scripts/reference-rabbitmq start): no RabbitMQ column");
    return null;
  }
  const pidText = process.env.RABBITMQ_REF_PID ??
    (existsSync("/tmp/warren_ref/pid") ? readFileSync("/tmp/warren_ref/pid", "utf8").trim() : "");
  const pid = pidText ? Number(pidText) : undefined;
  const live = pid !== undefined && existsSync(`/proc/${pid}/status`);
  return {
    name: "RabbitMQ",
    url,
    pid: live ? pid : undefined,
    // The reference is shared with other engineers' tests: its RSS now is not an idle broker's.
    idleRss: live ? rssMiB(pid) : undefined,
    idleNote: "the shared reference as found (other sessions' queues and connections included)",
    maxLoadRss: 0,
    async stop() {},
  };
}

async function startLavinmq(): Promise<Broker | null> {
  if (!existsSync(lavinmqScript)) {
    progress(`no ${lavinmqScript}: no LavinMQ column`);
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), "bench-lavinmq-"));
  // Ports of our own (the default 5700 may be another session's), its clustering port is AMQP+1.
  let port = await freePort();
  while (!(await freePortIsFree(port + 1))) port = await freePort();
  const env = { ...process.env, LAVINMQ_PORT: String(port), LAVINMQ_HTTP_PORT: String(await freePort()), LAVINMQ_DIR: dir };
  const started = Bun.spawnSync(["bash", lavinmqScript, "start"], { env, stdout: "pipe", stderr: "inherit" });
  const out = started.stdout.toString();
  const url = /LAVINMQ_URL=(\S+)/.exec(out)?.[1];
  const pid = Number(/LAVINMQ_PID=(\d+)/.exec(out)?.[1]);
  if (started.exitCode !== 0 || !url) {
    progress(`reference-lavinmq start failed (exit ${started.exitCode}): no LavinMQ column`);
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  await Bun.sleep(1500);
  return {
    name: "LavinMQ",
    url,
    pid,
    idleRss: rssMiB(pid),
    idleNote: "fresh start, 1.5 s after the port opened",
    maxLoadRss: 0,
    async stop() {
      Bun.spawnSync(["bash", lavinmqScript, "stop"], { env, stdout: "ignore", stderr: "inherit" });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function freePortIsFree(port: number): Promise<boolean> {
  try {
    Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }).stop(true);
    return true;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------ running amqpload
async function amqpload(broker: Broker, scenario: string, args: string[], label: string): Promise<Result> {
  const pidArgs = broker.pid !== undefined ? ["--pid", String(broker.pid)] : [];
  // Queues named after the bench and the run (the shared reference asks for a prefix per user).
  const queue = ["--queue", `${QUEUE_PREFIX}-${label}`];
  const proc = Bun.spawn([amqploadBin, scenario, "--url", broker.url, "--label", label, ...queue, ...pidArgs, ...args], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const text = await new Response(proc.stdout).text();
  await proc.exited;
  const last = text.trim().split("\n").at(-1) ?? "";
  let result: Result;
  try {
    result = JSON.parse(last) as Result;
  } catch {
    result = { ok: false, error: `no JSON from amqpload (exit ${proc.exitCode})` };
  }
  const rss = Math.max(Number(result.broker_rss_max_mb ?? 0), Number(result.broker_rss_mb ?? 0));
  if (Number.isFinite(rss)) broker.maxLoadRss = Math.max(broker.maxLoadRss, rss);
  if (result.ok !== true) progress(`${label} on ${broker.name} failed: ${String(result.error ?? "see above")}`);
  appendFileSync(RAW, `${JSON.stringify({ broker: broker.name, ...result })}\n`);
  return result;
}

/** Four amqpload throughput runs at once, each with its own queue (amqpload names it by its pid). */
async function fourQueues(broker: Broker, args: string[], label: string): Promise<Result> {
  const runs = await Promise.all([0, 1, 2, 3].map((i) => amqpload(broker, "throughput", args, `${label}-q${i}`)));
  if (runs.some((r) => r.ok !== true)) return { ok: false };
  return { ok: true, consume_rate: runs.reduce((sum, r) => sum + Number(r.consume_rate), 0) };
}

// ------------------------------------------------------------------ the rows
interface Row {
  key: string;
  title: string;
  /** What the table shows: the metric, its unit, and whether higher is better. */
  metric: string;
  unit: string;
  higherBetter: boolean;
  run(broker: Broker, label: string): Promise<Result>;
}
const secs = ["--seconds", SECONDS];
const throughput = (args: string[]) => (b: Broker, label: string) => amqpload(b, "throughput", [...secs, ...args], label);
const persistentConfirms = ["--persistent", "--confirm", "256", "--ack", "manual"];
const ROWS: Row[] = [
  {
    key: "t16-auto",
    title: "transient 16 B, auto-ack",
    metric: "consume_rate",
    unit: "msg/s",
    higherBetter: true,
    run: throughput(["--size", "16", "--ack", "auto"]),
  },
  {
    key: "t16-manual",
    title: "transient 16 B, manual multi-ack, prefetch 256",
    metric: "consume_rate",
    unit: "msg/s",
    higherBetter: true,
    run: throughput(["--size", "16", "--ack", "manual", "--prefetch", "256"]),
  },
  {
    key: "p16-confirm",
    title: "persistent 16 B, confirms 256, fsync on",
    metric: "consume_rate",
    unit: "msg/s",
    higherBetter: true,
    run: throughput(["--size", "16", ...persistentConfirms]),
  },
  {
    key: "p1k-confirm",
    title: "persistent 1 KiB, confirms 256, fsync on",
    metric: "consume_rate",
    unit: "msg/s",
    higherBetter: true,
    run: throughput(["--size", "1024", ...persistentConfirms]),
  },
  {
    key: "4q-16",
    title: "4 publishers / 4 consumers on 4 queues, 16 B, manual multi-ack (sum)",
    metric: "consume_rate",
    unit: "msg/s",
    higherBetter: true,
    run: (b, label) => fourQueues(b, [...secs, "--size", "16", "--ack", "manual"], label),
  },
  {
    key: "rate-20k",
    title: "fixed 20k msg/s, 16 B: end-to-end p99 / p99.9",
    metric: "lat_p99_us",
    unit: "ms",
    higherBetter: false,
    run: throughput(["--size", "16", "--rate", "20000"]),
  },
  {
    key: "one-in-flight",
    title: "one message in flight, transient 16 B: round trips/s",
    metric: "roundtrips_per_s",
    unit: "/s",
    higherBetter: true,
    run: (b, label) => amqpload(b, "latency", ["--iterations", "5000", "--seconds", "20"], label),
  },
];

// ------------------------------------------------------------------ the run
const only = opts.only?.split(",");
const rows = ROWS.filter((r) => !only || only.includes(r.key));
const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const loadBefore = load();
progress(`load average ${loadBefore}; starting the brokers; raw results in ${RAW}`);
const brokers: Broker[] = [await startWarren()];
const rabbit = rabbitmq();
if (rabbit) brokers.push(rabbit);
const lavin = await startLavinmq();
if (lavin) brokers.push(lavin);
const stopAll = async () => {
  for (const b of brokers) await b.stop();
};
process.on("SIGINT", () => void stopAll().then(() => process.exit(130)));

const results = new Map<string, Map<string, Result[]>>();
let backlog: string[] | null = null;
let loadAfter = "";
try {
  for (const row of rows) {
    const byBroker = new Map<string, Result[]>(brokers.map((b) => [b.name, []]));
    results.set(row.key, byBroker);
    for (let round = 1; round <= ROUNDS; round++) {
      for (const broker of brokers) {
        progress(`${row.key} round ${round}/${ROUNDS} on ${broker.name}`);
        byBroker.get(broker.name)!.push(await row.run(broker, `${row.key}-${round}`));
        await Bun.sleep(1000);
      }
    }
  }
  if (Number(opts.backlog) > 0) backlog = await runBacklog();
  loadAfter = load();
} finally {
  // A failed run must not leave LavinMQ or Warren behind.
  await stopAll();
}

// ------------------------------------------------------------------ the table
function medianOf(rs: Result[], key: string): number | undefined {
  const xs = rs.filter((r) => r.ok === true && typeof r[key] === "number").map((r) => r[key] as number);
  return xs.length ? median(xs) : undefined;
}
function fmtRate(v: number | undefined): string {
  return v === undefined ? "—" : Math.round(v).toLocaleString("en-US");
}
const fmtMs = (v: number | undefined) => (v === undefined ? "—" : (v / 1000).toFixed(2));
const ratio = (a: number | undefined, b: number | undefined, higherBetter: boolean) =>
  a === undefined || b === undefined || a === 0 || b === 0 ? "—" : `${(higherBetter ? a / b : b / a).toFixed(2)}×`;

const others = brokers.slice(1);
const head = ["scenario", ...brokers.map((b) => b.name), ...others.map((o) => `Warren vs ${o.name}`)];
const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
const cell = (row: Row, name: string) => {
  const rs = results.get(row.key)!.get(name)!;
  const failed = rs.filter((r) => r.ok !== true).length;
  const note = failed ? ` (${failed} of ${rs.length} runs failed)` : "";
  if (row.key === "rate-20k") return `${fmtMs(medianOf(rs, "lat_p99_us"))} / ${fmtMs(medianOf(rs, "lat_p999_us"))} ms${note}`;
  return `${fmtRate(medianOf(rs, row.metric))}${note}`;
};
for (const row of rows) {
  const w = medianOf(results.get(row.key)!.get("Warren")!, row.metric);
  const vs = others.map((o) => ratio(w, medianOf(results.get(row.key)!.get(o.name)!, row.metric), row.higherBetter));
  lines.push(`| ${row.title} | ${brokers.map((b) => cell(row, b.name)).join(" | ")} | ${vs.join(" | ")} |`);
}
if (results.has("4q-16") && results.has("t16-manual")) {
  const scale = (name: string) => {
    const four = medianOf(results.get("4q-16")!.get(name)!, "consume_rate");
    const one = medianOf(results.get("t16-manual")!.get(name)!, "consume_rate");
    return four !== undefined && one !== undefined ? `${(four / one).toFixed(2)}×` : "—";
  };
  lines.push(
    `| 4 queues ÷ 1 queue (same options) | ${brokers.map((b) => scale(b.name)).join(" | ")} | ${others.map(() => "").join(" | ")} |`,
  );
}
const mib = (v: number | undefined) => (v === undefined ? "—" : `${v.toFixed(1)} MiB`);
lines.push(
  `| idle RSS | ${brokers.map((b) => mib(b.idleRss)).join(" | ")} | ${
    others.map((o) => ratio(brokers[0]!.idleRss, o.idleRss, false)).join(" | ")
  } |`,
);
lines.push(
  `| RSS under load (max over the rows above) | ${
    brokers.map((b) => (b.pid === undefined ? "—" : `${b.maxLoadRss.toFixed(1)} MB`)).join(" | ")
  } | ${others.map((o) => ratio(brokers[0]!.maxLoadRss, o.maxLoadRss, false)).join(" | ")} |`,
);
if (backlog) {
  lines.push(
    "",
    "| persistent 1 KiB backlog: fill with confirms 256, then drain | messages | publish msg/s | drain msg/s | RSS max |",
    "|---|---|---|---|---|",
    ...backlog,
  );
}

const when = new Date().toISOString().slice(0, 16).replace("T", " ");
const notes = [
  `Run of ${when} UTC: ${ROUNDS} interleaved rounds (${brokers.map((b) => b.name).join(" → ")}) × ${SECONDS} s per scenario, medians; ` +
  `load average ${loadBefore} before, ${loadAfter} after (2 cores, shared).`,
  `Warren is \`dist/warren\` with fsync on; idle RSS: ${brokers.map((b) => `${b.name} ${b.idleNote}`).join("; ")}.`,
  "Rates are amqpload's consume rate (closed loop, 2,000 in flight per queue); the 20k row is end-to-end latency at a fixed rate; " +
  "RSS under load is the broker's highest sample during the rows (amqpload reads /proc). Ratios: > 1× means Warren is better.",
];
const section = [MARK_START, "", ...lines, "", ...notes, "", MARK_END].join("\n");
console.log(`\n${section}\n`);
if (opts.write) writeSection(section);

function writeSection(text: string): void {
  const path = join(root, "docs", "performance.md");
  const doc = readFileSync(path, "utf8");
  const start = doc.indexOf(MARK_START);
  const end = doc.indexOf(MARK_END);
  const next = start >= 0 && end > start
    ? doc.slice(0, start) + text + doc.slice(end + MARK_END.length)
    : `${doc.trimEnd()}\n\n## Issue 22's table (generated)\n\n${text}\n`;
  writeFileSync(path, next);
  progress("wrote the table into docs/performance.md");
}

/** 10M × 1 KiB persistent backlog (opt-in): Warren at --backlog, the references at --backlog-reference. */
async function runBacklog(): Promise<string[]> {
  const n = Number(opts.backlog);
  const refN = Number(opts["backlog-reference"]);
  const out: string[] = [];
  for (const broker of brokers) {
    const count = broker.name === "Warren" ? n : refN;
    progress(`backlog of ${count} × 1 KiB on ${broker.name} (fill with confirms, then drain)`);
    const rowsPeak = broker.maxLoadRss; // the backlog's RSS has its own column
    const r = await amqpload(broker, "backlog", ["--messages", String(count), "--size", "1024", "--max-seconds", "7200"], "backlog");
    broker.maxLoadRss = rowsPeak;
    const rate = (k: string) => (r.ok === true ? fmtRate(r[k] as number) : "failed");
    const rss = r.ok === true ? `${Number(r.broker_rss_max_mb).toFixed(0)} MB` : "—";
    out.push(`| ${broker.name} | ${count.toLocaleString("en-US")} | ${rate("publish_rate")} | ${rate("drain_rate")} | ${rss} |`);
  }
  return out;
}
