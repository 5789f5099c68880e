// The broker on Deno beside the broker on Bun and the reference RabbitMQ (issue 21): start-up
// (spawn → the AMQP port accepts), idle RSS, and amqpload throughput with transient messages and
// with persistent messages under confirms. Both Warrens run the same source (`bun src/main.ts`,
// `deno run -A src/main.ts`) with fsync on; every comparison alternates A B A B in one run, so
// read the ratios. Numbers go to docs/performance.md by hand; nothing here asserts on timing.
//   bun scripts/bench_deno.ts [--runs 5] [--rounds 3] [--seconds 8] [--skip-compare]
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values: opts } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "8" },
    "skip-compare": { type: "boolean", default: false },
  },
});
const amqpload = resolve(root, "../shared/tools/amqpload");
const progress = (msg: string) => console.error(`bench_deno: ${msg}`);
const main = join(root, "src", "main.ts");

/** The brokers started here: the same source on each runtime, and the Bun executable if built. */
const RUNTIMES: { name: string; command: string[] }[] = [
  { name: "bun src/main.ts", command: [join(root, "node_modules/.bin/bun"), main] },
  {
    name: "deno run -A src/main.ts",
    command: [join(root, "node_modules/.bin/deno"), "run", "-A", "--config", join(root, "deno.json"), main],
  },
  ...(existsSync(join(root, "dist/warren")) ? [{ name: "dist/warren (bun build --compile)", command: [join(root, "dist/warren")] }] : []),
  ...(existsSync(join(root, "dist/warren-deno"))
    ? [{ name: "dist/warren-deno (deno compile)", command: [join(root, "dist/warren-deno")] }]
    : []),
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer().once("error", fail).listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      done(true);
    });
    socket.on("error", () => done(false));
  });
}

function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);
  return kb / 1024;
}

interface Broker {
  proc: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

async function startBroker(command: string[], port: number): Promise<Broker> {
  const dataDir = mkdtempSync(join(tmpdir(), "warren-bench-deno-"));
  const [cmd, ...pre] = command;
  const proc = spawn(cmd!, [
    ...pre,
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--data-dir",
    dataDir,
    "--log-level",
    "warning",
    "--http-port",
    "0",
    "--metrics-port",
    "0",
  ], { stdio: ["ignore", "ignore", "inherit"] });
  const exited = new Promise<void>((done) => proc.once("exit", () => done()));
  return {
    proc,
    port,
    async stop() {
      proc.kill("SIGTERM");
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Spawn → first accepted connection, and RSS after half a second idle. */
async function startupRun(command: string[]): Promise<{ ms: number; rss: number }> {
  const port = await freePort();
  const started = performance.now();
  const broker = await startBroker(command, port);
  let ms = NaN;
  while (performance.now() - started < 20_000) {
    if (await accepts(port)) {
      ms = performance.now() - started;
      break;
    }
    await sleep(1);
  }
  await sleep(500);
  const rss = rssMiB(broker.proc.pid!);
  await broker.stop();
  return { ms, rss };
}

// ---------------------------------------------------------------- start-up and idle memory
const runs = Number(opts.runs);
const startup = new Map(RUNTIMES.map((r) => [r.name, [] as { ms: number; rss: number }[]]));
for (const r of RUNTIMES) await startupRun(r.command); // warm-up: Deno's transpile cache, the page cache
for (let i = 0; i < runs; i++) {
  // Interleaved, so load from the rest of the machine falls on every runtime alike.
  for (const r of RUNTIMES) startup.get(r.name)!.push(await startupRun(r.command));
  progress(`start-up round ${i + 1}/${runs}`);
}
console.log(`## Start-up and idle memory (median of ${runs}, interleaved)\n`);
console.log("| broker | spawn → port accepts | idle RSS |\n|---|---|---|");
for (const [name, xs] of startup) {
  console.log(`| ${name} | ${median(xs.map((x) => x.ms)).toFixed(0)} ms | ${median(xs.map((x) => x.rss)).toFixed(1)} MiB |`);
}

// ---------------------------------------------------------------- throughput, side by side
if (opts["skip-compare"]) process.exit(0);
if (!existsSync(join(amqpload, "compare.sh"))) {
  progress(`no amqpload at ${amqpload}: skipping the throughput comparison`);
  process.exit(0);
}
const refUrl = process.env.RABBITMQ_REF_URL;
const refPid = process.env.RABBITMQ_REF_PID ??
  (existsSync("/tmp/warren_ref/pid") ? readFileSync("/tmp/warren_ref/pid", "utf8").trim() : "");
const bun = await startBroker(RUNTIMES[0]!.command, await freePort());
const deno = await startBroker(RUNTIMES[1]!.command, await freePort());
try {
  for (const b of [bun, deno]) while (!(await accepts(b.port))) await sleep(5);
  const url = (b: Broker) => `amqp://guest:guest@127.0.0.1:${b.port}`;
  const secs = ["--seconds", String(opts.seconds)];
  const scenarios = [
    { name: "transient 16 B, autoack", args: [...secs, "--size", "16", "--ack", "auto"] },
    {
      name: "persistent 1 KiB, confirms 256, manual ack",
      args: [...secs, "--size", "1024", "--persistent", "--confirm", "256", "--ack", "manual"],
    },
  ];
  const pairs: { b: string; url: string | undefined; pid: string }[] = [
    { b: "bun", url: url(bun), pid: String(bun.proc.pid) },
    { b: "rabbitmq", url: refUrl, pid: refPid },
  ];
  for (const scenario of scenarios) {
    for (const pair of pairs) {
      if (!pair.url) {
        progress("RABBITMQ_REF_URL unset: Deno is compared with Bun only");
        continue;
      }
      progress(`${scenario.name}: deno vs ${pair.b}, ${opts.rounds} rounds`);
      const run = spawnSync("bash", [
        join(amqpload, "compare.sh"),
        "--rounds",
        String(opts.rounds),
        "--name-a",
        "deno",
        "--name-b",
        pair.b,
        "--pid-a",
        String(deno.proc.pid),
        ...(pair.pid ? ["--pid-b", pair.pid] : []),
        "throughput",
        url(deno),
        pair.url,
        "--",
        ...scenario.args,
      ], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
      console.log(`\n## ${scenario.name}: deno / ${pair.b}\n`);
      console.log(run.stdout.split("\n").filter((line) => !line.startsWith("{")).join("\n"));
    }
  }
} finally {
  await Promise.all([bun.stop(), deno.stop()]);
}
