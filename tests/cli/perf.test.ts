// `warren perf` over real TCP: every scenario runs against Warren and against the reference
// RabbitMQ (skipped without RABBITMQ_REF_URL), its counts add up and its JSON parses; failures
// end with their exit codes. No timing thresholds: only counts, and bounds that always hold.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ExitCode, type Result, runPerf } from "../../src/cli/perf/mod.ts";
import type { LatencySummary } from "../../src/cli/perf/histogram.ts";
import { referenceBroker, startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { freePort } from "../helpers/warren_process.ts";
import { hasOpenssl, serverCertificates } from "../helpers/certs.ts";
import { run as runWarren, WARREN } from "../helpers/warren_command.ts";

const REF = referenceBroker();
const REF_HTTP = process.env.RABBITMQ_REF_HTTP;
if (!REF) console.warn("RABBITMQ_REF_URL unset: skipping warren perf runs against the reference RabbitMQ");
if (!hasOpenssl) console.warn("openssl not found: skipping the warren perf amqps test");

interface Outcome {
  code: number;
  result: Result;
  stderr: string;
}

/** Runs `warren perf …argv --json` in-process. */
async function perf(argv: string[]): Promise<Outcome> {
  let stdout = "";
  let stderr = "";
  const code = await runPerf([...argv, "--json"], { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
  const result = JSON.parse(stdout) as Result;
  expect(result.exit_code).toBe(code);
  return { code, result, stderr };
}

/** The metrics these tests read (the scenarios' JSON): counts, rates, flags and latency summaries in µs. */
type Metrics = {
  published: number;
  confirmed: number;
  nacked: number;
  returned: number;
  consumed: number;
  redelivered: number;
  roundtrips: number;
  opened: number;
  alive_after_hold: number;
  drained: boolean;
  drain_rate: number;
  client_cpu_us_per_msg: number;
  latency_us: LatencySummary;
  confirm_latency_us: LatencySummary;
  open_latency_us: LatencySummary;
};
const m = (o: Outcome) => o.result.metrics as Metrics;

/** Queue names this process's runs declared that are still there (management API). */
async function leftoverQueues(httpBase: string): Promise<string[]> {
  const u = new URL(httpBase);
  const auth = "Basic " + btoa(`${decodeURIComponent(u.username || "guest")}:${decodeURIComponent(u.password || "guest")}`);
  const res = await fetch(`${u.protocol}//${u.host}/api/queues`, { headers: { authorization: auth } });
  const queues = (await res.json()) as { name: string }[];
  return queues.map((q) => q.name).filter((n) => n.startsWith(`perf-${process.pid}-`));
}

/** The same scenarios against one broker. */
function scenarios(name: string, target: () => { uri: string; http: string | undefined }) {
  describe(`warren perf against ${name}`, () => {
    const uri = () => ["-u", target().uri, "-q"];
    /** `throughput` for `seconds`, measured from the start (no warm-up). */
    const flow = (seconds: string, ...args: string[]) => perf(["throughput", ...uri(), "--seconds", seconds, "--warmup", "0", ...args]);

    test("throughput with confirms: every message published is confirmed and consumed once", async () => {
      const o = await flow("1", "-x", "2", "-y", "2", "-c", "64", "-s", "100");
      expect(o.code).toBe(ExitCode.OK);
      expect(m(o).published).toBeGreaterThan(0);
      expect(m(o).confirmed).toBe(m(o).published);
      expect(m(o).nacked).toBe(0);
      expect(m(o).consumed).toBe(m(o).published);
      expect(m(o).redelivered).toBe(0);
      expect(m(o).drained).toBe(true);
      expect(m(o).latency_us.count).toBeGreaterThan(0);
      expect(m(o).confirm_latency_us.count).toBeGreaterThan(0);
      expect(m(o).client_cpu_us_per_msg).toBeGreaterThan(0);
      expect(o.result.params).toMatchObject({ producers: 2, consumers: 2, confirm: 64, size: 100 });
    });

    test("throughput through a topic exchange: unroutable keys come back as returns", async () => {
      const o = await flow("1", "-t", "topic", "-k", "perf.a,other.b", "--binding-key", "perf.*", "--mandatory", "--ack", "auto");
      expect(o.code).toBe(ExitCode.OK);
      expect(m(o).returned).toBeGreaterThan(0);
      expect(m(o).consumed).toBeGreaterThan(0);
      expect(m(o).consumed + m(o).returned).toBe(m(o).published);
      // Producers cycle through the keys: half go to each.
      expect(Math.abs(m(o).consumed - m(o).returned)).toBeLessThanOrEqual(1);
    });

    test("closed loop: returned messages leave the backlog cap, so producers are not held back by them", async () => {
      // Half the keys route nowhere. Were returns still counted as in flight, the cap of 8 would
      // stop all producers for good once 8 had come back.
      const o = await flow(
        "1",
        "-x",
        "3",
        "-y",
        "2",
        "-t",
        "direct",
        "-k",
        "perf-in,perf-out",
        "--binding-key",
        "perf-in",
        "--mandatory",
        "--max-backlog",
        "8",
      );
      expect(o.code).toBe(ExitCode.OK);
      expect(o.result.params.max_backlog).toBe(8);
      expect(m(o).returned).toBeGreaterThan(8);
      expect(m(o).consumed + m(o).returned).toBe(m(o).published);
    });

    test("publish-only to an unroutable key needs no consumer", async () => {
      const o = await flow("0.5", "-y", "0", "-e", "amq.direct", "-k", "perf-nowhere");
      expect(o.code).toBe(ExitCode.OK);
      expect(m(o).published).toBeGreaterThan(0);
      expect(m(o).consumed).toBeUndefined();
    });

    test("a rate limit is never exceeded; persistent messages with queue arguments", async () => {
      const started = performance.now();
      const o = await flow("1", "--rate", "200", "--persistent", "--queue-arg", "x-max-priority=5", "--multi-ack", "1");
      const elapsed = (performance.now() - started) / 1000;
      expect(o.code).toBe(ExitCode.OK);
      expect(m(o).published).toBeGreaterThan(0);
      expect(m(o).published).toBeLessThanOrEqual(Math.ceil(200 * elapsed) + 1);
      expect(m(o).consumed).toBe(m(o).published);
    });

    test("latency, one in flight: exactly --count round trips, each timed", async () => {
      const o = await perf(["latency", ...uri(), "--count", "100", "--seconds", "30", "-c", "1"]);
      expect(o.code).toBe(ExitCode.OK);
      expect(m(o).roundtrips).toBe(100);
      expect(m(o).published).toBe(100);
      expect(m(o).latency_us.count).toBe(100);
      expect(m(o).confirm_latency_us.count).toBe(100);
      expect(m(o).latency_us.p50).toBeLessThanOrEqual(m(o).latency_us.p99);
    });

    test("latency at a fixed rate", async () => {
      const o = await perf(["latency", ...uri(), "--rate", "100", "--seconds", "0.5"]);
      expect(o.code).toBe(ExitCode.OK);
      expect(m(o).roundtrips).toBe(m(o).published);
      expect(o.result.params.max_backlog).toBe(0);
    });

    test("connections: all opened, all alive after the hold", async () => {
      const o = await perf(["connections", ...uri(), "--connections", "20", "--hold", "0.2"]);
      expect(o.code).toBe(ExitCode.OK);
      expect(m(o).opened).toBe(20);
      expect(m(o).alive_after_hold).toBe(20);
      expect(m(o).open_latency_us.count).toBe(20);
    });

    test("queues: declared, bound, routed and deleted (direct and fanout)", async () => {
      for (const type of ["direct", "fanout"]) {
        const o = await perf(["queues", ...uri(), "--queues", "12", "-t", type]);
        expect(o.code).toBe(ExitCode.OK);
        expect(m(o)).toMatchObject({ declared: 12, bound: 12, routed_ok: 12, deleted: 12 });
      }
    });

    test("backlog: the queue holds what was published, and all of it drains", async () => {
      const o = await perf(["backlog", ...uri(), "--messages", "3000", "--persistent", "-x", "2"]);
      expect(o.code).toBe(ExitCode.OK);
      expect(m(o)).toMatchObject({ published: 3000, confirmed: 3000, nacked: 0, queue_depth: 3000, consumed: 3000 });
      expect(m(o).drain_rate).toBeGreaterThan(0);
    });

    test("bodies larger than frame_max (split into body frames) and empty bodies are counted right", async () => {
      const big = await flow("0.5", "-s", "300000", "-c", "4", "--prefetch", "4");
      expect(big.code).toBe(ExitCode.OK);
      expect(big.result.metrics.consumed).toBe(big.result.metrics.published);
      expect(m(big).latency_us.count).toBe(m(big).consumed);
      const empty = await flow("0.5", "-s", "0");
      expect(empty.code).toBe(ExitCode.OK);
      expect(m(empty).consumed).toBe(m(empty).published);
      expect(m(empty).latency_us).toBeUndefined(); // no room for a timestamp
    });

    test("publishing to a missing exchange: the broker closes the channel, exit 4", async () => {
      const o = await perf(["throughput", ...uri(), "--seconds", "2", "-y", "0", "-e", "perf-no-such-exchange"]);
      expect(o.code).toBe(ExitCode.BROKER_CLOSED);
      expect(o.result.error).toContain("404");
      expect(o.result.error).toContain("perf-no-such-exchange");
    });

    test("a queue that rejects publishes: nacks, exit 5", async () => {
      const o = await flow("0.5", "-y", "0", "-c", "50", "--queue-arg", "x-max-length=10", "--queue-arg", "x-overflow=reject-publish");
      expect(o.code).toBe(ExitCode.MESSAGES);
      expect(m(o).nacked).toBeGreaterThan(0);
      expect(m(o).confirmed + m(o).nacked).toBe(m(o).published);
      expect(o.result.error).toContain("nacked");
    });

    test("a wrong password or vhost cannot connect: exit 3", async () => {
      const u = new URL(target().uri);
      u.password = "perf-wrong-password";
      const bad = await perf(["throughput", "-u", u.toString(), "-q"]);
      expect(bad.code).toBe(ExitCode.CONNECT);
      expect(bad.result.error).toContain("403");
      const vhost = await perf(["connections", "-u", `${target().uri}/perf-no-such-vhost`, "-q"]);
      expect(vhost.code).toBe(ExitCode.CONNECT);
    });

    test("runs leave no queues behind", async () => {
      const http = target().http;
      if (!http) return console.warn(`no management URL for ${name}: not checking leftovers`);
      expect(await leftoverQueues(http)).toEqual([]);
    });
  });
}

let warren: TestBroker;
beforeAll(async () => {
  warren = await startTestBroker();
});
afterAll(async () => {
  await warren.stop();
});

scenarios("Warren", () => ({ uri: warren.url, http: `http://guest:guest@127.0.0.1:${warren.httpPort}` }));
if (REF) scenarios("the reference RabbitMQ", () => ({ uri: REF.url, http: REF_HTTP }));

describe("warren perf failures", () => {
  test("nothing listening: connection refused, exit 3", async () => {
    const port = await freePort();
    const o = await perf(["throughput", "-u", `amqp://127.0.0.1:${port}`, "-q"]);
    expect(o.code).toBe(ExitCode.CONNECT);
    expect(o.result.error).toContain("ECONNREFUSED");
  });

  test("a server that never answers the handshake: exit 3 after --timeout", async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const port = (silent.address() as { port: number }).port;
      const o = await perf(["connections", "-u", `amqp://127.0.0.1:${port}`, "--timeout", "0.3", "-q"]);
      expect(o.code).toBe(ExitCode.CONNECT);
      expect(o.result.error).toContain("no handshake");
    } finally {
      silent.close();
    }
  });

  test.skipIf(!hasOpenssl)(
    "amqps: with --tls-ca it connects, an untrusted certificate is exit 3, --tls-insecure skips the check",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "warren-perf-tls-"));
      serverCertificates(dir);
      const tls = await startTestBroker({ tlsPort: 0, tlsCert: join(dir, "server.pem"), tlsKey: join(dir, "server.key") });
      try {
        const uri = `amqps://guest:guest@127.0.0.1:${tls.broker.tlsPort}`;
        const args = ["throughput", "-u", uri, "-q", "--seconds", "0.3", "--warmup", "0", "-c", "8"];
        const trusted = await perf([...args, "--tls-ca", join(dir, "ca.pem")]);
        expect(trusted.result.error).toBeUndefined();
        expect(trusted.code).toBe(ExitCode.OK);
        expect(m(trusted).consumed).toBe(m(trusted).published);
        const untrusted = await perf(args);
        expect(untrusted.code).toBe(ExitCode.CONNECT);
        expect((await perf([...args, "--tls-insecure"])).code).toBe(ExitCode.OK);
      } finally {
        await tls.stop();
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  test("the hard time limit ends the run: exit 6", async () => {
    const o = await perf(["throughput", "-u", warren.url, "-q", "--seconds", "60", "--max-seconds", "1"]);
    expect(o.code).toBe(ExitCode.TIMEOUT);
    expect(o.result.error).toContain("time limit");
  });

  test("the broker going away mid-run: exit 4", async () => {
    const doomed = await startTestBroker();
    const running = perf(["throughput", "-u", doomed.url, "-q", "--seconds", "20", "--warmup", "0"]);
    await new Promise((r) => setTimeout(r, 700));
    await doomed.stop();
    const o = await running;
    expect(o.code).toBe(ExitCode.BROKER_CLOSED);
  });

  test("a progress line each second on stderr, none with --quiet", async () => {
    let stderr = "";
    const code = await runPerf(["throughput", "-u", warren.url, "--seconds", "2.5", "--warmup", "0", "-c", "16"], {
      stdout: () => {},
      stderr: (t) => void (stderr += t),
    });
    expect(code).toBe(ExitCode.OK);
    const lines = stderr.trim().split("\n");
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines[0]).toMatch(/^perf throughput: \d+s {2}sent [\d,]+\/s {2}confirmed [\d,]+\/s {2}received [\d,]+\/s/);
    expect(stderr).toContain("unconfirmed");
  });

  test("interrupted (Ctrl-C): stops early and still reports, exit 0", async () => {
    let stdout = "";
    let progressed!: () => void;
    const firstProgress = new Promise<void>((r) => (progressed = r));
    const control: { interrupt?: () => void } = {};
    const running = runPerf(["throughput", "-u", warren.url, "--seconds", "60", "--warmup", "0", "--json"], {
      stdout: (t) => void (stdout += t),
      stderr: () => progressed(),
    }, control);
    await firstProgress; // publishing is under way
    control.interrupt!();
    expect(await running).toBe(ExitCode.OK);
    const result = JSON.parse(stdout) as Result;
    expect(result.metrics.interrupted).toBe(true);
    expect(result.metrics.published).toBeGreaterThan(0);
    expect(result.metrics.consumed).toBe(result.metrics.published);
  });

  test("the executable stops on SIGINT with a report", async () => {
    const child = spawn(WARREN[0]!, [...WARREN.slice(1), "perf", "throughput", "-u", warren.url, "--seconds", "60", "--json"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((r) => child.once("exit", r));
    await new Promise((r) => child.stderr!.once("data", r)); // the first progress line: running
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ ok: true, metrics: { interrupted: true } });
  });

  test("bad options: exit 2 and a message naming the option", async () => {
    let stderr = "";
    const code = await runPerf(["throughput", "--prefetch", "lots"], { stdout: () => {}, stderr: (t) => void (stderr += t) });
    expect(code).toBe(ExitCode.USAGE);
    expect(stderr).toContain('--prefetch "lots"');
  });

  test("the executable: `warren perf` runs a scenario, prints JSON and answers the exit code", async () => {
    const ok = await runWarren(["perf", "connections", "-u", warren.url, "--connections", "3", "--hold", "0", "--json", "-q"]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ scenario: "connections", ok: true, metrics: { opened: 3 } });
    const table = await runWarren(["perf", "connections", "-u", warren.url, "--connections", "2", "--hold", "0"]);
    expect(table.stdout).toContain("opened");
    expect(table.stdout).toContain("result  ok");
    const refused = await runWarren(["perf", "throughput", "-u", `amqp://127.0.0.1:${await freePort()}`, "-q"]);
    expect(refused.code).toBe(ExitCode.CONNECT);
    expect(refused.stderr).toContain("ECONNREFUSED");
    const help = await runWarren(["perf", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: warren perf");
  });
});
