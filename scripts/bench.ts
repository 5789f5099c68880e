// npm run bench: measures dist/warren (start-up, idle memory, size) and, when the amqpload tool
// and a reference RabbitMQ are present, runs the same load scenarios against both and prints
// ratios. Numbers go to docs/performance.md by hand; nothing here asserts on timing.
//   bun scripts/bench.ts [--runs 10] [--rounds 3] [--seconds 10] [--only name,name] [--skip-compare] [--skip-delayed]
//                        [--skip-reclaim] [--reclaim-messages 1000000] [--skip-mqtt] [--skip-console] [--skip-perf] [--skip-deno]
//                        [--skip-hotpath]
//                        [--skip-table] [--table-seconds 5] [--backlog 10000000 [--backlog-reference 1000000]]
import { parseArgs } from "node:util";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { benchPerf } from "./bench_perf.ts";
import { binary, freePort, median, root, spawnWarren, startupRun, tryConnect } from "./bench_common.ts";

const { values: opts } = parseArgs({
  options: {
    runs: { type: "string", default: "10" },
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "10" },
    only: { type: "string" },
    "skip-compare": { type: "boolean", default: false },
    "skip-delayed": { type: "boolean", default: false },
    "skip-reclaim": { type: "boolean", default: false },
    "reclaim-messages": { type: "string", default: "1000000" },
    "skip-mqtt": { type: "boolean", default: false },
    "skip-console": { type: "boolean", default: false },
    "skip-perf": { type: "boolean", default: false },
    "skip-deno": { type: "boolean", default: false },
    "skip-hotpath": { type: "boolean", default: false },
    "skip-table": { type: "boolean", default: false },
    "table-seconds": { type: "string", default: "5" },
    backlog: { type: "string", default: "0" },
    "backlog-reference": { type: "string", default: "1000000" },
  },
});
const amqpload = resolve(root, "../shared/tools/amqpload");
const progress = (msg: string) => console.error(`bench: ${msg}`);

if (!existsSync(binary)) {
  progress("dist/warren missing: building it");
  const build = Bun.spawnSync([process.execPath, join(root, "scripts", "build.ts")], { stdout: "inherit", stderr: "inherit" });
  if (build.exitCode !== 0) process.exit(1);
}

const runs = Number(opts.runs);
const results: { portOpenMs: number; idleRssMiB: number }[] = [];
for (let i = 0; i < runs; i++) {
  results.push(await startupRun());
  progress(`start-up run ${i + 1}/${runs}: port open after ${results.at(-1)!.portOpenMs.toFixed(1)} ms`);
}
const sizeMiB = statSync(binary).size / (1024 * 1024);
console.log("## dist/warren");
console.log(`| metric | median of ${runs} |\n|---|---|`);
console.log(`| process start → port accepts | ${median(results.map((r) => r.portOpenMs)).toFixed(1)} ms |`);
console.log(`| idle RSS | ${median(results.map((r) => r.idleRssMiB)).toFixed(1)} MiB |`);
console.log(`| executable size | ${sizeMiB.toFixed(1)} MiB |`);

// Issue 22's table (scripts/bench_table.ts): every row against Warren, RabbitMQ and LavinMQ in one
// run, written into docs/performance.md. The backlog row only with --backlog N (it is long).
if (!opts["skip-table"]) {
  const table = ["--rounds", String(opts.rounds), "--seconds", String(opts["table-seconds"]), "--write"];
  if (Number(opts.backlog) > 0) table.push("--backlog", String(opts.backlog), "--backlog-reference", String(opts["backlog-reference"]));
  Bun.spawnSync([process.execPath, join(root, "scripts", "bench_table.ts"), ...table], { stdout: "inherit", stderr: "inherit" });
}

// The delayed-message exchange at scale (scripts/bench_delayed.ts): --skip-delayed skips it.
if (!opts["skip-delayed"]) {
  Bun.spawnSync([process.execPath, join(root, "scripts", "bench_delayed.ts"), "--binary", binary], {
    stdout: "inherit",
    stderr: "inherit",
  });
}

// Issue 23: the fill–drain–reclaim cycle, with and without reclaim (--reclaim-messages 10000000
// for the full size; --skip-reclaim leaves it out).
if (!opts["skip-reclaim"]) {
  Bun.spawnSync([process.execPath, join(root, "scripts", "bench_reclaim.ts"), "--messages", String(opts["reclaim-messages"])], {
    stdout: "inherit",
    stderr: "inherit",
  });
}

// MQTT (issue 19) has its own script: scripts/bench_mqtt.ts.
if (!opts["skip-mqtt"]) Bun.spawnSync([process.execPath, join(root, "scripts", "bench_mqtt.ts")], { stdout: "inherit", stderr: "inherit" });

// The web console: bundle size and time to first render (its own script; needs chromium).
if (!opts["skip-console"]) {
  Bun.spawnSync([process.execPath, join(root, "scripts", "bench_console.ts")], { stdout: "inherit", stderr: "inherit" });
}

// Issue 22: the hot-path rows beside LavinMQ (scripts/bench_hotpath.ts); --skip-hotpath leaves it out.
if (!opts["skip-hotpath"]) {
  Bun.spawnSync([process.execPath, join(root, "scripts", "bench_hotpath.ts"), "--candidate", binary], {
    stdout: "inherit",
    stderr: "inherit",
  });
}

// Issue 21: the broker on Deno beside Bun and RabbitMQ (scripts/bench_deno.ts); --skip-deno leaves it out.
if (!opts["skip-deno"]) {
  Bun.spawnSync([process.execPath, join(root, "scripts", "bench_deno.ts"), ...(opts["skip-compare"] ? ["--skip-compare"] : [])], {
    stdout: "inherit",
    stderr: "inherit",
  });
}

// ------------------------------------------------------------------ side by side with RabbitMQ
const refUrl = process.env.RABBITMQ_REF_URL;
if (opts["skip-compare"]) process.exit(0);
if (!existsSync(join(amqpload, "compare.sh"))) {
  progress(`no amqpload at ${amqpload}: skipping the comparison with RabbitMQ`);
  process.exit(0);
}
if (!refUrl) {
  progress("RABBITMQ_REF_URL unset (run ../shared/scripts/reference-rabbitmq start): skipping the comparison");
  process.exit(0);
}
const refPid = process.env.RABBITMQ_REF_PID ??
  (existsSync("/tmp/warren_ref/pid") ? readFileSync("/tmp/warren_ref/pid", "utf8").trim() : "");

const port = await freePort();
const warren = spawnWarren(port);
while (!(await tryConnect(port))) await Bun.sleep(5);
const warrenUrl = `amqp://guest:guest@127.0.0.1:${port}`;

const secs = ["--seconds", String(opts.seconds)];
/** The same load against both brokers: amqpload scenario and options. */
const scenarios: { name: string; scenario: string; args: string[] }[] = [
  { name: "transient-16B-autoack", scenario: "throughput", args: [...secs, "--size", "16", "--ack", "auto"] },
  { name: "transient-1KiB-manual-ack", scenario: "throughput", args: [...secs, "--size", "1024", "--ack", "manual"] },
  // Issue 5: a TTL that never fires and a priority queue must cost about what a plain queue does.
  {
    name: "ttl-queue-1KiB-manual-ack",
    scenario: "throughput",
    args: [...secs, "--size", "1024", "--ack", "manual", "--qarg", "x-message-ttl=3600000"],
  },
  {
    name: "priority-queue-1KiB-manual-ack",
    scenario: "throughput",
    args: [...secs, "--size", "1024", "--ack", "manual", "--qarg", "x-max-priority=10"],
  },
  { name: "fanout-10-queues-16B", scenario: "fanout", args: [...secs, "--size", "16", "--queues", "10"] },
  { name: "confirms-256-16B", scenario: "throughput", args: [...secs, "--size", "16", "--confirm", "256"] },
  {
    name: "persistent-1KiB-confirms-256",
    scenario: "throughput",
    args: [...secs, "--size", "1024", "--persistent", "--confirm", "256", "--ack", "manual"],
  },
  { name: "connections-500", scenario: "connections", args: ["--conns", "500", "--hold", "3"] },
];
const only = opts.only?.split(",");
for (const scenario of scenarios.filter((s) => !only || only.includes(s.name))) {
  progress(`comparing ${scenario.name} (${opts.rounds} rounds, Warren vs RabbitMQ)`);
  const args = [
    join(amqpload, "compare.sh"),
    "--rounds",
    String(opts.rounds),
    "--name-a",
    "warren",
    "--name-b",
    "rabbitmq",
    "--pid-a",
    String(warren.pid),
    ...(refPid ? ["--pid-b", refPid] : []),
    scenario.scenario,
    warrenUrl,
    refUrl,
    "--",
    ...scenario.args,
  ];
  const run = Bun.spawnSync(["bash", ...args], { stdout: "pipe", stderr: "inherit" });
  const text = run.stdout.toString();
  console.log(`\n## ${scenario.name}: warren / rabbitmq\n`);
  // compare.sh prints every run as JSON, then the table of medians and ratios: keep the table.
  console.log(text.split("\n").filter((line) => !line.startsWith("{")).join("\n"));
}
// warren perf (scripts/bench_perf.ts): Warren beside RabbitMQ in the same run, and its own
// client cost beside amqpload's. `--only perf` runs just this part; --skip-perf leaves it out.
if (!opts["skip-perf"] && (!only || only.includes("perf"))) {
  await benchPerf({
    warren: { name: "Warren", url: warrenUrl, pid: warren.pid },
    reference: { name: "RabbitMQ", url: refUrl, pid: refPid ? Number(refPid) : undefined },
    rounds: Number(opts.rounds),
    seconds: String(Math.min(Number(opts.seconds), 5)),
    perfCommand: [binary],
  });
}
warren.kill("SIGTERM");
await warren.exited;

// Shovel throughput side by side (scripts/bench_shovel.ts); `--only` without "shovel" skips it.
if (!only || only.includes("shovel")) {
  progress("shovel throughput (scripts/bench_shovel.ts)");
  Bun.spawnSync([process.execPath, join(root, "scripts", "bench_shovel.ts")], { stdout: "inherit", stderr: "inherit" });
}

// Edge → RabbitMQ cluster (scripts/bench_cluster.ts; it skips, saying why, without
// RABBITMQ_CLUSTER_URLS or ../shared/scripts/reference-rabbitmq-cluster).
if (!only || only.includes("cluster")) {
  progress("edge → cluster (scripts/bench_cluster.ts)");
  Bun.spawnSync([process.execPath, join(root, "scripts", "bench_cluster.ts"), "--rounds", String(opts.rounds)], {
    stdout: "inherit",
    stderr: "inherit",
  });
}

// Federation throughput (its own script; skip with --only naming other scenarios).
if (!only || only.includes("federation")) {
  progress("federation: scripts/bench_federation.ts");
  Bun.spawnSync([process.execPath, join(root, "scripts", "bench_federation.ts"), "--rounds", String(opts.rounds)], {
    stdout: "inherit",
    stderr: "inherit",
  });
}
