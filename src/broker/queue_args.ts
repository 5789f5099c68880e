// Queue argument validation on declare, worded as rabbit_amqqueue:check_arguments does
// ("invalid arg 'x-max-length' for queue 'q' in vhost '/': {value_negative,-1}").
// Covers the numeric arguments; the extensions issue adds the rest (x-overflow, x-queue-type …).
import { preconditionFailed } from "../amqp/errors.ts";
import type { FieldTable } from "../amqp/table.ts";
import { typedLookup, typeName } from "./equivalence.ts";

const INTEGER_TYPES = new Set(["b", "B", "s", "u", "I", "i", "l"]);
/** rabbit_misc:check_expiry's upper bound: ten years in milliseconds. */
export const MAX_EXPIRY = 315_360_000_000;

type Check = (value: number) => string | undefined;

const nonNegative: Check = (v) => (v < 0 ? `{value_negative,${v}}` : undefined);
const expiry: Check = (v) => nonNegative(v) ?? (v > MAX_EXPIRY ? `{value_too_large,${v}}` : undefined);

const NUMERIC_ARGS: Record<string, Check> = {
  "x-expires": (v) => (v === 0 ? `{value_zero,0}` : expiry(v)),
  "x-message-ttl": expiry,
  "x-max-length": nonNegative,
  "x-max-length-bytes": nonNegative,
  "x-max-in-memory-length": nonNegative,
  "x-max-in-memory-bytes": nonNegative,
  "x-max-priority": (v) => nonNegative(v) ?? (v > 255 ? `{max_value_exceeded,${v}}` : undefined),
};

export function validateQueueArgs(args: FieldTable, resource: string): void {
  const sac = typedLookup(args, "x-single-active-consumer");
  if (sac && sac.type !== "t") {
    throw preconditionFailed(`invalid arg 'x-single-active-consumer' for ${resource}: {unacceptable_type,${typeName(sac.type)}}`);
  }
  for (const key of Object.keys(NUMERIC_ARGS)) {
    const arg = typedLookup(args, key);
    if (!arg) continue;
    let error: string | undefined;
    if (!INTEGER_TYPES.has(arg.type) || typeof arg.value !== "number") {
      error = `"expected integer, got ${typeName(arg.type)}"`;
    } else error = NUMERIC_ARGS[key]!(arg.value);
    if (error) throw preconditionFailed(`invalid arg '${key}' for ${resource}: ${error}`);
  }
}

/**
 * basic.consume arguments of a classic queue (rabbit_amqqueue:check_consume_arguments):
 * x-priority must be an integer, x-cancel-on-ha-failover a boolean. Returns the priority.
 */
export function consumerPriority(args: FieldTable, resource: string): number {
  const priority = typedLookup(args, "x-priority");
  if (priority && (!INTEGER_TYPES.has(priority.type) || typeof priority.value !== "number")) {
    throw preconditionFailed(`invalid arg 'x-priority' for ${resource}: "expected integer, got ${typeName(priority.type)}"`);
  }
  const failover = typedLookup(args, "x-cancel-on-ha-failover");
  if (failover && failover.type !== "t") {
    throw preconditionFailed(`invalid arg 'x-cancel-on-ha-failover' for ${resource}: {unacceptable_type,${typeName(failover.type)}}`);
  }
  return priority ? (priority.value as number) : 0;
}
