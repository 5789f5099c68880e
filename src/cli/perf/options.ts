// The command line of `warren perf <scenario> [options]`, parsed with node:util parseArgs into
// one typed PerfOptions. Every number is checked; a bad value names the option and the value.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { FieldTable, FieldValue } from "../../amqp/table.ts";
import { PerfUsageError } from "./errors.ts";
import { type AmqpUri, parseAmqpUri } from "./uri.ts";

export const SCENARIOS = ["throughput", "latency", "connections", "queues", "backlog"] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface PerfOptions {
  scenario: Scenario;
  uri: AmqpUri;
  json: boolean;
  quiet: boolean;
  /** Per handshake and per setup RPC. */
  timeoutMs: number;
  /** Hard wall-clock limit for the whole run. */
  maxSeconds: number;
  producers: number;
  consumers: number;
  size: number;
  persistent: boolean;
  confirm: number;
  prefetch: number;
  autoAck: boolean;
  multiAck: number;
  rate: number;
  maxBacklog: number;
  queue: string | undefined;
  queueArgs: FieldTable;
  exchange: string | undefined;
  exchangeType: string | undefined;
  routingKeys: string[];
  bindingKey: string | undefined;
  mandatory: boolean;
  seconds: number;
  warmup: number;
  drain: number;
  count: number;
  messages: number;
  connections: number;
  hold: number;
  queues: number;
}

const OPTIONS = {
  uri: { type: "string", short: "u", default: "amqp://guest:guest@127.0.0.1:5672" },
  "tls-ca": { type: "string" },
  "tls-insecure": { type: "boolean", default: false },
  json: { type: "boolean", default: false },
  quiet: { type: "boolean", short: "q", default: false },
  timeout: { type: "string", default: "10" },
  "max-seconds": { type: "string" },
  producers: { type: "string", short: "x" },
  consumers: { type: "string", short: "y" },
  size: { type: "string", short: "s", default: "16" },
  persistent: { type: "boolean", default: false },
  confirm: { type: "string", short: "c" },
  prefetch: { type: "string", default: "256" },
  ack: { type: "string", default: "manual" },
  "multi-ack": { type: "string" },
  rate: { type: "string", short: "r", default: "0" },
  "max-backlog": { type: "string" },
  queue: { type: "string" },
  "queue-arg": { type: "string", multiple: true, default: [] as string[] },
  exchange: { type: "string", short: "e" },
  "exchange-type": { type: "string", short: "t" },
  "routing-key": { type: "string", short: "k", multiple: true, default: [] as string[] },
  "binding-key": { type: "string" },
  mandatory: { type: "boolean", default: false },
  seconds: { type: "string", short: "z" },
  warmup: { type: "string" },
  drain: { type: "string", default: "5" },
  count: { type: "string" },
  messages: { type: "string", default: "100000" },
  connections: { type: "string", default: "100" },
  hold: { type: "string", default: "5" },
  queues: { type: "string", default: "100" },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** "help" for --help or no scenario. */
export function parsePerfArgs(argv: string[]): PerfOptions | "help" {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new PerfUsageError((err as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.help || positionals.length === 0) return "help";
  if (positionals.length > 1) throw new PerfUsageError(`Expected one scenario, got "${positionals.join(" ")}"`);
  const scenario = positionals[0] as Scenario;
  if (!SCENARIOS.includes(scenario)) {
    throw new PerfUsageError(`Unknown scenario "${positionals[0]}": choose one of ${SCENARIOS.join(", ")}`);
  }
  if (v.ack !== "auto" && v.ack !== "manual") throw new PerfUsageError(`Cannot use --ack "${v.ack}": must be auto or manual`);
  const latency = scenario === "latency";
  const backlog = scenario === "backlog";
  const prefetch = int("prefetch", v.prefetch, 0, 65535);
  const consumers = int("consumers", v.consumers ?? "1", latency || backlog ? 1 : 0, 1000);
  const multiAck = v["multi-ack"] !== undefined ? int("multi-ack", v["multi-ack"], 1, 65535) : Math.max(1, Math.floor(prefetch / 2));
  const rate = num("rate", v.rate, 0, 1e9);
  const seconds = num("seconds", v.seconds ?? "10", 0.1, 86400);
  const drain = num("drain", v.drain, 0, 3600);
  const hold = num("hold", v.hold, 0, 86400);
  const opts: PerfOptions = {
    scenario,
    uri: { ...parseAmqpUri(v.uri), ...tlsOptions(v["tls-ca"], v["tls-insecure"]) },
    json: v.json,
    quiet: v.quiet,
    timeoutMs: num("timeout", v.timeout, 0.1, 3600) * 1000,
    maxSeconds: 0,
    producers: int("producers", v.producers ?? "1", latency ? 1 : 0, 1000),
    consumers,
    size: int("size", v.size, 0, 512 * 1024 * 1024),
    persistent: v.persistent,
    confirm: int("confirm", v.confirm ?? (backlog ? "256" : latency ? "0" : "0"), 0, 1_000_000),
    prefetch,
    autoAck: v.ack === "auto",
    multiAck: prefetch > 0 ? Math.min(multiAck, prefetch) : multiAck,
    rate,
    // Closed loop by default (as amqpload): producers pause while this many messages are in flight.
    maxBacklog: int("max-backlog", v["max-backlog"] ?? String(Math.max(2000, 2 * prefetch * consumers)), 0, 1e12),
    queue: v.queue,
    queueArgs: parseQueueArgs(v["queue-arg"]),
    exchange: v.exchange,
    exchangeType: v["exchange-type"],
    routingKeys: v["routing-key"].flatMap((k) => k.split(",")),
    bindingKey: v["binding-key"],
    mandatory: v.mandatory,
    seconds,
    warmup: num("warmup", v.warmup ?? (scenario === "throughput" ? "1" : "0"), 0, 3600),
    drain,
    count: int("count", v.count ?? "0", 0, 1e12),
    messages: int("messages", v.messages, 1, 1e12),
    connections: int("connections", v.connections, 1, 1_000_000),
    hold,
    queues: int("queues", v.queues, 1, 1_000_000),
  };
  if (scenario === "throughput" && opts.producers === 0 && opts.consumers === 0) {
    throw new PerfUsageError("Nothing to do: --producers 0 and --consumers 0");
  }
  const derived = scenario === "connections" ? hold + 120 : scenario === "throughput" || latency ? opts.warmup + seconds + drain + 60 : 600;
  opts.maxSeconds = v["max-seconds"] !== undefined ? num("max-seconds", v["max-seconds"], 1, 7 * 86400) : derived;
  return opts;
}

function tlsOptions(caFile: string | undefined, insecure: boolean): { tlsCa?: string; tlsInsecure?: boolean } {
  if (caFile === undefined) return insecure ? { tlsInsecure: true } : {};
  try {
    return { tlsCa: readFileSync(caFile, "utf8"), tlsInsecure: insecure };
  } catch (err) {
    throw new PerfUsageError(`Cannot read --tls-ca "${caFile}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function num(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    throw new PerfUsageError(`Cannot use --${name} "${text}": must be a number from ${min} to ${max}`);
  }
  return n;
}

function int(name: string, text: string, min: number, max: number): number {
  const n = num(name, text, min, max);
  if (!Number.isInteger(n)) throw new PerfUsageError(`Cannot use --${name} "${text}": must be a whole number`);
  return n;
}

/** k=v; numbers become longs, true/false booleans, anything else a string (as amqpload and PerfTest). */
export function parseQueueArgs(pairs: string[]): FieldTable {
  const table: FieldTable = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new PerfUsageError(`Cannot use --queue-arg "${pair}": expected key=value`);
    const key = pair.slice(0, eq);
    const text = pair.slice(eq + 1);
    let value: FieldValue = text;
    if (text === "true" || text === "false") value = text === "true";
    else if (/^-?\d+$/.test(text)) value = Number(text);
    table[key] = value;
  }
  return table;
}

export const USAGE = `Usage: warren perf <scenario> [options]

Load generator for any AMQP 0-9-1 broker (Warren, RabbitMQ, LavinMQ…).

Scenarios:
  throughput   producers → one queue → consumers, for --seconds (default 10)
  latency      one message in flight (or --rate R), publish → delivery percentiles
  connections  open --connections N (100), hold them --hold S (5), close them
  queues       declare --queues N (100), bind each to an exchange, delete them
  backlog      publish --messages X (100000) with no consumer, then drain them

Common:
  -u, --uri URI          amqp[s]://user:pass@host:port/vhost (default amqp://guest:guest@127.0.0.1:5672)
      --json             one JSON object on stdout instead of the summary table
  -q, --quiet            no progress line on stderr
      --timeout S        per handshake and setup RPC (default 10)
      --max-seconds S    hard limit for the whole run (default: derived from the scenario)
      --tls-ca FILE      amqps: trust this CA (PEM)    --tls-insecure  amqps without verifying the server

Messages (throughput, latency, backlog):
  -x, --producers N      (1)              -y, --consumers N      (1)
  -s, --size BYTES       body size (16; 12 or more carries a send timestamp for latency)
      --persistent       durable queue, delivery mode 2
  -c, --confirm W        publisher confirms, at most W unconfirmed (0 = off; backlog: 256)
      --prefetch P       consumer prefetch (256; 0 = unlimited)
      --ack auto|manual  (manual)          --multi-ack N   ack multiple every N (prefetch/2; 1 = each)
  -r, --rate R           messages/s per producer (0 = as fast as possible)
      --max-backlog N    producers wait while N messages are in flight (max(2000, 2×prefetch×consumers);
                         0 = open loop: the queue may grow for the whole run)
      --queue NAME       use this queue (kept); default perf-<pid>-… (deleted at the end)
      --queue-arg k=v    queue argument, repeatable (numbers are longs): x-queue-type=quorum, x-max-length=1000
  -e, --exchange NAME    publish to this exchange (declared when --exchange-type is given)
  -t, --exchange-type T  declare the exchange with this type (direct, fanout, topic, headers, x-…)
  -k, --routing-key K    repeatable or comma-separated; producers cycle through them
      --binding-key K    the queue's binding (default: the first routing key)
      --mandatory        publish mandatory; returned messages are counted
  -z, --seconds D        how long producers publish (10)   --warmup W  not measured (throughput: 1)
      --drain S          after publishing, wait up to S for consumers to catch up (5)
      --count N          latency: stop after N round trips

Exit codes: 0 ok, 2 usage, 3 cannot connect (refused, auth, vhost, TLS), 4 broker closed a
channel or the connection, 5 messages not accounted for (nacked, returned, lost, wrong depth),
6 time limit.`;
