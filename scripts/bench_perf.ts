// `warren perf` in the bench: the same scenarios against Warren and the reference RabbitMQ in one
// run (alternating W R W R), and, for the client's own cost, the same scenario driven by
// `warren perf` and by the C generator amqpload (when ../shared/tools/amqpload and a C compiler
// are there). Prints medians and ratios; asserts nothing.
//   bun scripts/bench_perf.ts [--rounds 3] [--seconds 5] [--warren-url URL --warren-pid PID]
// Without --warren-url it starts `bun src/main.ts` on a free port with a temp data dir.
import { parseArgs } from "node:util";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const progress = (msg: string) => console.error(`bench perf: ${msg}`);
/**
 * Each load tool runs in a session of its own (setsid), as it would on another machine. In the
 * broker's session it shares the broker's scheduling group (Linux autogroup), and on a loaded
 * machine that alone moved the rates by 2-5x, more for the one-thread `warren perf` than for
 * amqpload's thread per connection (docs/perf.md).
 */
const OWN_SESSION = existsSync("/usr/bin/setsid") ? ["/usr/bin/setsid", "-w"] : [];
const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : NaN);

interface Target {
  name: string;
  url: string;
  pid: number | undefined;
}

interface Case {
  name: string;
  /** warren perf arguments (scenario first). */
  perf: string[];
  /** The same load in amqpload's words, when it has them. */
  amqpload?: string[];
}

function cases(seconds: string): Case[] {
  const s = ["--seconds", seconds];
  return [
    {
      name: "publish-only 16 B, unroutable (client cost)",
      perf: ["throughput", ...s, "-y", "0", "-e", "amq.direct", "-k", "perf-nowhere"],
      amqpload: ["throughput", ...s, "--consumers", "0", "--exchange", "amq.direct", "--routing-key", "perf-nowhere"],
    },
    { name: "1→1 16 B, manual multi-ack", perf: ["throughput", ...s, "-s", "16"], amqpload: ["throughput", ...s, "--size", "16"] },
    { name: "1→1 16 B, confirms 256", perf: ["throughput", ...s, "-c", "256"], amqpload: ["throughput", ...s, "--confirm", "256"] },
    { name: "latency at 1000 msg/s, 16 B", perf: ["latency", ...s, "--rate", "1000"] },
    { name: "latency, one in flight", perf: ["latency", ...s] },
  ];
}

/** CPU seconds (user + system) of a process so far, from /proc. */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

interface Sample {
  rate: number;
  p50: number;
  p99: number;
  clientUsPerMsg: number;
  brokerCpuPct: number;
}

/** A latency summary of `warren perf --json`, in µs (the fields read here). */
interface PerfLatency {
  p50: number;
  p99: number;
}

/** What this bench reads of `warren perf --json` (src/cli/perf/report.ts); a metric the run did not measure is absent. */
interface PerfJson {
  ok: boolean;
  error?: string;
  metrics: {
    roundtrip_rate?: number;
    consume_rate?: number;
    publish_rate?: number;
    client_cpu_us_per_msg?: number;
    latency_us?: PerfLatency;
    confirm_latency_us?: PerfLatency;
  };
}

/** The last line of amqpload's output (the fields read here). */
interface AmqploadJson {
  ok: boolean;
  error?: string;
  params?: { consumers?: number };
  consume_rate: number;
  publish_rate: number;
  gen_us_per_msg: number;
  lat_p50_us?: number;
  confirm_lat_p50_us?: number;
  lat_p99_us?: number;
  broker_cpu_pct?: number;
}

function runPerf(cmd: string[], c: Case, t: Target): Sample | undefined {
  const cpu0 = cpuSeconds(t.pid);
  const t0 = performance.now();
  const r = Bun.spawnSync([...OWN_SESSION, ...cmd, "perf", ...c.perf, "-u", t.url, "--json", "-q"], { stdout: "pipe", stderr: "inherit" });
  const brokerCpuPct = ((cpuSeconds(t.pid) - cpu0) / ((performance.now() - t0) / 1000)) * 100;
  try {
    const j = JSON.parse(r.stdout.toString()) as PerfJson;
    if (!j.ok) return void progress(`${c.name} on ${t.name} failed: ${j.error}`);
    const m = j.metrics;
    const lat = m.latency_us ?? m.confirm_latency_us;
    return {
      rate: m.roundtrip_rate ?? m.consume_rate ?? m.publish_rate ?? NaN,
      p50: lat?.p50 ?? NaN,
      p99: lat?.p99 ?? NaN,
      clientUsPerMsg: m.client_cpu_us_per_msg ?? NaN,
      brokerCpuPct,
    };
  } catch {
    return void progress(`${c.name} on ${t.name}: no JSON (exit ${r.exitCode})`);
  }
}

function runAmqpload(bin: string, c: Case, t: Target): Sample | undefined {
  const r = Bun.spawnSync([...OWN_SESSION, bin, ...c.amqpload!, "--url", t.url, ...(t.pid ? ["--pid", String(t.pid)] : [])], {
    stdout: "pipe",
    stderr: "inherit",
  });
  try {
    const j = JSON.parse(r.stdout.toString().trim().split("\n").at(-1)!) as AmqploadJson;
    if (!j.ok) return void progress(`amqpload ${c.name} on ${t.name} failed: ${j.error}`);
    const consumers = j.params?.consumers ?? 1;
    return {
      rate: consumers > 0 ? j.consume_rate : j.publish_rate,
      p50: j.lat_p50_us ?? j.confirm_lat_p50_us ?? NaN,
      p99: j.lat_p99_us ?? NaN,
      clientUsPerMsg: j.gen_us_per_msg,
      brokerCpuPct: j.broker_cpu_pct ?? NaN,
    };
  } catch {
    return void progress(`amqpload ${c.name} on ${t.name}: no JSON (exit ${r.exitCode})`);
  }
}

/** amqpload's wrapper builds next to its source, which may be read-only: build into a temp dir. */
function buildAmqpload(): string | undefined {
  const src = resolve(root, "../shared/tools/amqpload/src/amqpload.c");
  if (!existsSync(src)) return void progress("no ../shared/tools/amqpload: comparing brokers with warren perf only");
  const out = join(mkdtempSync(join(tmpdir(), "warren-amqpload-")), "amqpload");
  const cc = Bun.spawnSync([process.env.CC ?? "cc", "-O2", "-pthread", "-o", out, src, "-lm"], { stdout: "ignore", stderr: "pipe" });
  if (cc.exitCode !== 0) return void progress(`cannot build amqpload (${cc.stderr.toString().trim().split("\n")[0]}): warren perf only`);
  return out;
}

const f = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits }) : "-");
const ms = (us: number) => (Number.isFinite(us) ? (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(0)} µs`) : "-");

export async function benchPerf(
  opts: { warren: Target; reference: Target | undefined; rounds: number; seconds: string; perfCommand: string[] },
): Promise<void> {
  const amqpload = buildAmqpload();
  const targets = [opts.warren, ...(opts.reference ? [opts.reference] : [])];
  if (!opts.reference) progress("RABBITMQ_REF_URL unset: Warren only, no ratios");
  console.log("\n## warren perf: Warren beside RabbitMQ, and warren perf beside amqpload\n");
  console.log(
    `medians of ${opts.rounds} rounds × ${opts.seconds} s; rate = deliveries/s (publishes/s when nothing consumes); client = CPU µs per message handled\n`,
  );
  console.log("| scenario | broker | tool | msg/s | p50 | p99 | broker CPU | client µs/msg |\n|---|---|---|---|---|---|---|---|");
  for (const c of cases(opts.seconds)) {
    const samples = new Map<string, Sample[]>();
    for (let round = 0; round < opts.rounds; round++) {
      for (const t of targets) {
        progress(`${c.name}: round ${round + 1}, ${t.name}`);
        const runs: [string, Sample | undefined][] = [["warren perf", runPerf(opts.perfCommand, c, t)]];
        if (amqpload && c.amqpload) runs.push(["amqpload", runAmqpload(amqpload, c, t)]);
        for (const [tool, s] of runs) if (s) samples.set(`${t.name}\t${tool}`, [...(samples.get(`${t.name}\t${tool}`) ?? []), s]);
        await Bun.sleep(500);
      }
    }
    const med = (key: string, pick: (s: Sample) => number) => median((samples.get(key) ?? []).map(pick));
    for (const key of samples.keys()) {
      const [broker, tool] = key.split("\t");
      console.log(
        `| ${c.name} | ${broker} | ${tool} | ${f(med(key, (s) => s.rate))} | ${ms(med(key, (s) => s.p50))} | ${
          ms(med(key, (s) => s.p99))
        } | ` +
          `${f(med(key, (s) => s.brokerCpuPct))} % | ${f(med(key, (s) => s.clientUsPerMsg), 3)} |`,
      );
    }
    if (opts.reference) {
      const w = (pick: (s: Sample) => number) => med(`${opts.warren.name}\twarren perf`, pick);
      const refName = opts.reference.name;
      const r = (pick: (s: Sample) => number) => med(`${refName}\twarren perf`, pick);
      // Latency cases run at the same rate on both sides: compare how long messages took instead.
      if (c.perf[0] === "latency") {
        const p50 = r((s) => s.p50) / w((s) => s.p50);
        const p99 = r((s) => s.p99) / w((s) => s.p99);
        console.log(`| ${c.name} | **RabbitMQ / Warren latency** | warren perf | | **${p50.toFixed(2)}×** | **${p99.toFixed(2)}×** | | |`);
      } else {
        console.log(
          `| ${c.name} | **Warren / RabbitMQ** | warren perf | **${(w((s) => s.rate) / r((s) => s.rate)).toFixed(2)}×** | | | | |`,
        );
      }
    }
  }
  if (amqpload) rmSync(dirname(amqpload), { recursive: true, force: true });
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      rounds: { type: "string", default: "3" },
      seconds: { type: "string", default: "5" },
      "warren-url": { type: "string" },
      "warren-pid": { type: "string" },
    },
  });
  const refUrl = process.env.RABBITMQ_REF_URL;
  const refPid = process.env.RABBITMQ_REF_PID ??
    (existsSync("/tmp/warren_ref/pid") ? readFileSync("/tmp/warren_ref/pid", "utf8").trim() : "");
  const bun = join(root, "node_modules/.bin/bun");
  let stop = async () => {};
  let warren: Target;
  if (values["warren-url"]) {
    warren = { name: "Warren", url: values["warren-url"], pid: values["warren-pid"] ? Number(values["warren-pid"]) : undefined };
  } else {
    const dataDir = mkdtempSync(join(tmpdir(), "warren-bench-perf-"));
    const proc = Bun.spawn([
      bun,
      join(root, "src/main.ts"),
      "--port",
      "0",
      "--bind",
      "127.0.0.1",
      "--data-dir",
      dataDir,
      "--http-port",
      "0",
      "--metrics-port",
      "0",
    ], {
      stdout: "pipe",
      stderr: "inherit",
    });
    let log = "";
    const reader = proc.stdout.getReader();
    while (!log.includes("Server startup complete")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`warren did not start:\n${log}`);
      log += new TextDecoder().decode(value);
    }
    const port = /started TCP listener on [^\n]*:(\d+)\n/.exec(log)?.[1];
    warren = { name: "Warren", url: `amqp://guest:guest@127.0.0.1:${port}`, pid: proc.pid };
    stop = async () => {
      proc.kill("SIGTERM");
      await proc.exited;
      rmSync(dataDir, { recursive: true, force: true });
    };
  }
  try {
    await benchPerf({
      warren,
      reference: refUrl ? { name: "RabbitMQ", url: refUrl, pid: refPid ? Number(refPid) : undefined } : undefined,
      rounds: Number(values.rounds),
      seconds: values.seconds,
      perfCommand: [bun, join(root, "src/main.ts")],
    });
  } finally {
    await stop();
  }
}
