// Issue 22's hot-path rows, side by side in one run: Warren (dist/warren, or --candidate), an
// optional baseline build of Warren (--baseline, e.g. dist/warren built from main) and LavinMQ
// (../shared/tools/lavinmq/reference-lavinmq, when present), driven by amqpload with the same
// scenario, interleaved A B C A B C. Prints medians and ratios to the first target; asserts nothing.
//   bun scripts/bench_hotpath.ts [--rounds 3] [--seconds 5] [--baseline PATH] [--candidate PATH]
//                                [--only autoack,manual,rate,inflight] [--no-lavinmq]
import { parseArgs } from "node:util";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const progress = (msg: string) => console.error(`bench hotpath: ${msg}`);
const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : NaN);

const { values: opts } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "5" },
    baseline: { type: "string" },
    candidate: { type: "string", default: join(root, "dist", "warren") },
    only: { type: "string" },
    "no-lavinmq": { type: "boolean", default: false },
  },
});

interface Target {
  name: string;
  url: string;
  pid: number;
  stop(): void;
}

interface Scenario {
  key: string;
  name: string;
  args: string[];
  /** The metric that ranks brokers (higher is better unless `lower`). */
  metric: string;
  lower?: boolean;
}

const s = ["--seconds", opts.seconds!];
const SCENARIOS: Scenario[] = [
  { key: "autoack", name: "transient 16 B, auto-ack (msg/s)", args: ["throughput", ...s, "--ack", "auto"], metric: "consume_rate" },
  {
    key: "manual",
    name: "transient 16 B, manual multi-ack, prefetch 256 (msg/s)",
    args: ["throughput", ...s, "--ack", "manual", "--prefetch", "256"],
    metric: "consume_rate",
  },
  {
    key: "rate",
    name: "fixed 20k msg/s 16 B, end-to-end p99 (µs)",
    args: ["throughput", ...s, "--ack", "auto", "--rate", "20000"],
    metric: "lat_p99_us",
    lower: true,
  },
  {
    key: "inflight",
    name: "one message in flight (round trips/s)",
    args: ["latency", "--iterations", "20000"],
    metric: "roundtrips_per_s",
  },
];
const EXTRA = ["lat_p50_us", "lat_p99_us", "lat_p999_us", "broker_cpu_pct", "machine_busy_pct"];

/** Starts a Warren executable on free ports with a temp data dir; resolves once it accepts. */
async function startWarren(name: string, binary: string): Promise<Target | undefined> {
  if (!existsSync(binary)) return void progress(`${name}: no executable at ${binary} (bun scripts/build.ts): skipped`);
  const dataDir = mkdtempSync(join(tmpdir(), "warren-bench-hotpath-"));
  const proc = Bun.spawn([binary, "--port", "0", "--http-port", "0", "--metrics-port", "0", "--mqtt-port", "0", "--data-dir", dataDir], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const stop = () => {
    proc.kill();
    rmSync(dataDir, { recursive: true, force: true });
  };
  let log = "";
  const reader = proc.stdout.getReader();
  const deadline = Date.now() + 20_000;
  while (!log.includes("Server startup complete") && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    log += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  void proc.stdout.pipeTo(new WritableStream()); // keep draining its log
  const port = /started TCP listener on .*:(\d+)/.exec(log)?.[1];
  if (!port) {
    stop();
    return void progress(`${name}: did not start (${log.trim().split("\n").at(-1) ?? "no output"})`);
  }
  return { name, url: `amqp://guest:guest@127.0.0.1:${port}`, pid: proc.pid, stop };
}

/** LavinMQ on its own port and directory (so that it does not replace anyone else's instance). */
function startLavinmq(): Target | undefined {
  const script = resolve(root, "../shared/tools/lavinmq/reference-lavinmq");
  if (opts["no-lavinmq"]) return undefined;
  if (!existsSync(script)) return void progress(`no ${script}: LavinMQ skipped`);
  const env = {
    ...process.env,
    LAVINMQ_PORT: "5790",
    LAVINMQ_HTTP_PORT: "15790",
    LAVINMQ_DIR: join(tmpdir(), "warren-bench-hotpath-lavinmq"),
  };
  const r = Bun.spawnSync([script, "start"], { env, stdout: "pipe", stderr: "inherit" });
  const out = r.stdout.toString();
  const url = /LAVINMQ_URL=(\S+)/.exec(out)?.[1];
  const pid = Number(/LAVINMQ_PID=(\d+)/.exec(out)?.[1]);
  if (r.exitCode !== 0 || !url) return void progress(`LavinMQ did not start: skipped`);
  return { name: "LavinMQ", url, pid, stop: () => Bun.spawnSync([script, "stop"], { env }) };
}

/** amqpload's wrapper builds next to its source, which may be read-only: build into a temp dir. */
function buildAmqpload(): string | undefined {
  const src = resolve(root, "../shared/tools/amqpload/src/amqpload.c");
  if (!existsSync(src)) return void progress("no ../shared/tools/amqpload: nothing to measure with, skipped");
  const out = join(mkdtempSync(join(tmpdir(), "warren-amqpload-")), "amqpload");
  const cc = Bun.spawnSync([process.env.CC ?? "cc", "-O2", "-pthread", "-o", out, src, "-lm"], { stdout: "ignore", stderr: "pipe" });
  if (cc.exitCode !== 0) return void progress(`cannot build amqpload (${cc.stderr.toString().trim().split("\n")[0]}): skipped`);
  return out;
}

function run(amqpload: string, scenario: Scenario, t: Target): Record<string, number> | undefined {
  const r = Bun.spawnSync([amqpload, ...scenario.args, "--url", t.url, "--pid", String(t.pid)], { stdout: "pipe", stderr: "pipe" });
  const line = r.stdout.toString().trim().split("\n").at(-1) ?? "";
  try {
    const j = JSON.parse(line);
    if (!j.ok) return void progress(`${scenario.key} on ${t.name} failed: ${j.error}`);
    return j;
  } catch {
    return void progress(`${scenario.key} on ${t.name}: no JSON (exit ${r.exitCode})`);
  }
}

const fmt = (v: number) => (Number.isNaN(v) ? "—" : v >= 1000 ? Math.round(v).toLocaleString("en") : v.toFixed(1));

async function main(): Promise<void> {
  const amqpload = buildAmqpload();
  if (!amqpload) return;
  const targets: Target[] = [];
  try {
    const candidate = await startWarren("Warren", opts.candidate!);
    if (!candidate) return;
    targets.push(candidate);
    if (opts.baseline) {
      const baseline = await startWarren("Warren baseline", opts.baseline);
      if (baseline) targets.push(baseline);
    }
    const lavin = startLavinmq();
    if (lavin) targets.push(lavin);
    const only = opts.only?.split(",");
    const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
    console.log(`\n## Hot path (issue 22): ${targets.map((t) => t.name).join(" / ")}, ${opts.rounds} rounds, load average ${load}\n`);
    console.log(
      `| scenario | ${targets.map((t) => t.name).join(" | ")} | ${targets.slice(1).map((t) => `Warren / ${t.name}`).join(" | ")} |`,
    );
    console.log(`|---|${targets.map(() => "---|").join("")}${targets.slice(1).map(() => "---|").join("")}`);
    for (const scenario of SCENARIOS) {
      if (only && !only.includes(scenario.key)) continue;
      const results = targets.map(() => [] as Record<string, number>[]);
      for (let round = 0; round < Number(opts.rounds); round++) {
        targets.forEach((t, i) => {
          const r = run(amqpload, scenario, t);
          if (r) results[i]!.push(r);
        });
      }
      const med = (i: number, key: string) => median(results[i]!.map((r) => Number(r[key])));
      const main = targets.map((_, i) => med(i, scenario.metric));
      const ratios = main.slice(1).map((v) => (scenario.lower ? v / main[0]! : main[0]! / v).toFixed(2) + "×");
      console.log(`| ${scenario.name} | ${main.map(fmt).join(" | ")} | ${ratios.join(" | ")} |`);
      for (const key of EXTRA) {
        if (key === scenario.metric) continue;
        console.log(`| … ${key} | ${targets.map((_, i) => fmt(med(i, key))).join(" | ")} |${targets.slice(1).map(() => " |").join("")}`);
      }
    }
    console.log("\nRatios: higher is better for Warren (latency rows are the other broker's p99 over Warren's).");
  } finally {
    for (const t of targets) t.stop();
    rmSync(dirname(amqpload), { recursive: true, force: true });
  }
}

await main();
