// Sample history in *_details objects, as rabbit_mgmt_stats formats it when a request asks for a
// range: `lengths_age`/`lengths_incr` (queue lengths), `msg_rates_age`/`msg_rates_incr`
// (message_stats), `data_rates_age`/`data_rates_incr` (octets; nothing on queues). Each details
// object then carries `samples` (newest first, `{sample, timestamp}`), `avg` (their mean) and
// `avg_rate` (the change over the range per second) beside `rate`.
import { badRequest } from "./errors.ts";
import type { JsonObject } from "./json.ts";
import { type Point, QUEUE_SERIES, type RateSampler } from "./rates.ts";

/** A requested range, in milliseconds. */
export interface Range {
  age: number;
  incr: number;
}

/** rabbit_mgmt_util's cap on age / incr. */
const MAX_SAMPLES = 500;

export interface Ranges {
  lengths?: Range;
  msgRates?: Range;
  dataRates?: Range;
}

/** rabbit_mgmt_util:range: both parameters integers (else no range), age / incr within bounds. */
function rangeParam(query: (name: string) => string | undefined, prefix: string): Range | undefined {
  const age = intParam(query(`${prefix}_age`));
  const incr = intParam(query(`${prefix}_incr`));
  if (age === undefined || incr === undefined) return undefined;
  if (!(incr > 0 && age > 0 && Math.floor(age / incr) <= MAX_SAMPLES)) {
    throw badRequest(`Invalid range parameters: age ${age}, incr ${incr}`);
  }
  return { age: age * 1000, incr: incr * 1000 };
}

function intParam(raw: string | undefined): number | undefined {
  return raw !== undefined && /^[+-]?\d+$/.test(raw) ? Number(raw) : undefined;
}

/** The ranges a request asks for (none: undefined); 400 for bad ones. Turns history on. */
export function requestedRanges(query: (name: string) => string | undefined, rates: RateSampler): Ranges | undefined {
  const ranges: Ranges = {};
  const lengths = rangeParam(query, "lengths");
  const msgRates = rangeParam(query, "msg_rates");
  const dataRates = rangeParam(query, "data_rates");
  if (lengths) ranges.lengths = lengths;
  if (msgRates) ranges.msgRates = msgRates;
  if (dataRates) ranges.dataRates = dataRates;
  if (!lengths && !msgRates && !dataRates) return undefined;
  rates.keepHistory();
  return ranges;
}

/** `details` with samples of `value` over `range` from `points` (newest first). */
function withSamples(details: unknown, points: Point[], value: (p: Point) => number, range: Range, now: number): JsonObject {
  const n = Math.floor(range.age / range.incr) + 1;
  const newest = Math.ceil(now / 1000) * 1000;
  const samples: JsonObject[] = [];
  let sum = 0;
  let j = 0;
  for (let k = 0; k < n; k++) {
    const at = newest - k * range.incr;
    while (j < points.length - 1 && points[j]!.at > at) j++; // the latest point at or before `at` (else the oldest)
    const sample = points.length > 0 ? value(points[j]!) : 0;
    sum += sample;
    samples.push({ sample, timestamp: at });
  }
  const first = samples[0]!.sample as number, last = samples[n - 1]!.sample as number;
  const span = ((n - 1) * range.incr) / 1000;
  return { ...(details as JsonObject), samples, avg: sum / n, avg_rate: span > 0 ? (first - last) / span : 0 };
}

const LENGTHS = ["messages", "messages_ready", "messages_unacknowledged"] as const;
const MSG_RATES = ["publish", "deliver", "deliver_no_ack", "get", "get_no_ack", "get_empty", "ack", "redeliver"] as const;
const DELIVER_GET = ["deliver", "deliver_no_ack", "get", "get_no_ack"] as const;

const series = (name: string) => (QUEUE_SERIES as readonly string[]).indexOf(name);

/** Adds samples to a formatted queue's lengths and message_stats details, for the ranges asked. */
export function addQueueSamples(json: JsonObject, points: Point[], ranges: Ranges, now = Date.now()): JsonObject {
  // The live values first, then the sampler's points.
  const live: Point = { at: now, values: QUEUE_SERIES.map(() => 0) };
  const stats = (json.message_stats ?? {}) as JsonObject;
  for (const [i, name] of QUEUE_SERIES.entries()) {
    const v = (LENGTHS as readonly string[]).includes(name) ? json[name] : stats[name];
    live.values[i] = typeof v === "number" ? v : (points[0]?.values[i] ?? 0);
  }
  const all = [live, ...points.filter((p) => p.at < now)];
  const out: JsonObject = { ...json };
  if (ranges.lengths) {
    for (const name of LENGTHS) {
      const i = series(name);
      out[`${name}_details`] = withSamples(json[`${name}_details`], all, (p) => p.values[i]!, ranges.lengths, now);
    }
  }
  if (ranges.msgRates && json.message_stats) {
    const s: JsonObject = { ...stats };
    for (const name of MSG_RATES) {
      const i = series(name);
      if (s[name] !== undefined) s[`${name}_details`] = withSamples(s[`${name}_details`], all, (p) => p.values[i]!, ranges.msgRates, now);
    }
    if (s.deliver_get !== undefined) {
      const idx = DELIVER_GET.map(series);
      s.deliver_get_details = withSamples(
        s.deliver_get_details,
        all,
        (p) => idx.reduce((a, i) => a + p.values[i]!, 0),
        ranges.msgRates,
        now,
      );
    }
    out.message_stats = s;
  }
  return out;
}
