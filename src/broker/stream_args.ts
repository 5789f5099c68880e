// Streams' own arguments, parsed and checked as rabbit_stream_queue does, with RabbitMQ's error
// terms: x-max-age on declare ("7D") and a consumer's x-stream-offset (where it starts reading).
import { preconditionFailed } from "../amqp/errors.ts";
import type { FieldTable } from "../amqp/table.ts";
import { typedLookup, typeName } from "./equivalence.ts";

/** Where a stream consumer starts: x-stream-offset. */
export type StreamStart =
  | { kind: "first" | "last" | "next" }
  | { kind: "offset"; offset: number }
  | { kind: "time"; ms: number };

const UNIT_MS: Record<string, number> = {
  Y: 365 * 86_400_000,
  M: 30 * 86_400_000,
  D: 86_400_000,
  h: 3_600_000,
  m: 60_000,
  s: 1000,
};

/** "7D", "12h", "30m", "10s", "1M", "1Y" in ms; undefined when not such a positive interval. */
export function maxAgeMs(value: string): number | undefined {
  const m = /^(\d+)([YMDhms])$/.exec(value);
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms > 0 ? ms : undefined;
}

const INTEGER_TYPES = "bBsuIil";

/**
 * A consumer's x-stream-offset: first, last, next (the default), an offset, a timestamp (seconds)
 * or an interval back from now ("10m"). Anything else is 406, naming the value as RabbitMQ does
 * ({invalid_stream_offset_arg,{longstr,<<"5">>}}; RabbitMQ 3.10.8 crashes with 541 on a boolean, a float
 * or a string that does not start with a digit).
 */
export function streamStart(args: FieldTable, resource: string): StreamStart {
  const arg = typedLookup(args, "x-stream-offset");
  if (arg === undefined) return { kind: "next" };
  const { type, value } = arg;
  if (type === "S" && (value === "first" || value === "last" || value === "next")) return { kind: value };
  if (type === "S" && typeof value === "string") {
    const back = maxAgeMs(value);
    if (back !== undefined) return { kind: "time", ms: Date.now() - back };
  }
  if (INTEGER_TYPES.includes(type) && (typeof value === "number" || typeof value === "bigint")) {
    return { kind: "offset", offset: Math.max(0, Number(value)) };
  }
  if (type === "T" && value instanceof Date) return { kind: "time", ms: value.getTime() };
  const shown = typeof value === "string" ? `<<"${value}">>` : String(value);
  throw preconditionFailed(`invalid arg 'x-stream-offset' for ${resource}: {invalid_stream_offset_arg,{${typeName(type)},${shown}}}`);
}
