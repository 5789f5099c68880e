// Queue and consumer argument validation, worded as rabbit_amqqueue:check_declare_arguments
// and check_consume_arguments do ("invalid arg 'x-max-length' for queue 'q' in vhost '/':
// {value_negative,-1}"), in RabbitMQ's order: x-queue-type first, then the arguments the queue
// type knows, then arguments that belong to another queue type.
import { preconditionFailed } from "../amqp/errors.ts";
import type { FieldTable } from "../amqp/table.ts";
import { typedLookup, type TypedValue, typeName } from "./equivalence.ts";
import { maxAgeMs } from "./stream_args.ts";

export type QueueType = "classic" | "quorum" | "stream";

const INTEGER_TYPES = new Set(["b", "B", "s", "u", "I", "i", "l"]);
/** rabbit_misc:check_expiry's upper bound: ten years in milliseconds. */
export const MAX_EXPIRY = 315_360_000_000;

/** An argument check: the error term as RabbitMQ prints it, or undefined when valid. */
type Check = (arg: TypedValue, args: FieldTable) => string | undefined;

const integer = (v: TypedValue) => (INTEGER_TYPES.has(v.type) && typeof v.value === "number" ? v.value : undefined);
const expectInteger = (v: TypedValue) => `"expected integer, got ${typeName(v.type)}"`;
const unacceptable = (v: TypedValue) => `{unacceptable_type,${typeName(v.type)}}`;

function numeric(check: (n: number) => string | undefined): Check {
  return (v) => {
    const n = integer(v);
    return n === undefined ? expectInteger(v) : check(n);
  };
}
const nonNegative = (n: number) => (n < 0 ? `{value_negative,${n}}` : undefined);
const expiry = (n: number) => nonNegative(n) ?? (n > MAX_EXPIRY ? `{value_too_large,${n}}` : undefined);

/** A string argument whose value must be one of `known` (else `invalid`). */
function oneOf(known: readonly string[], invalid: (value: string) => string): Check {
  return (v) => (v.type !== "S" ? unacceptable(v) : known.includes(String(v.value)) ? undefined : invalid(String(v.value)));
}

/** rabbit_amqqueue:declare_args(), in its order. */
const DECLARE_CHECKS: [string, Check][] = [
  ["x-expires", numeric((n) => (n === 0 ? `{value_zero,0}` : expiry(n)))],
  ["x-message-ttl", numeric(expiry)],
  ["x-dead-letter-exchange", (v) => (v.type === "S" ? undefined : unacceptable(v))],
  [
    "x-dead-letter-routing-key",
    (v, args) =>
      v.type !== "S" ? unacceptable(v) : args["x-dead-letter-exchange"] === undefined ? "routing_key_but_no_dlx_defined" : undefined,
  ],
  ["x-dead-letter-strategy", oneOf(["at-most-once", "at-least-once"], () => "invalid_dlx_strategy")],
  ["x-max-length", numeric(nonNegative)],
  ["x-max-length-bytes", numeric(nonNegative)],
  ["x-max-in-memory-length", numeric(nonNegative)],
  ["x-max-in-memory-bytes", numeric(nonNegative)],
  ["x-max-priority", numeric((n) => nonNegative(n) ?? (n > 255 ? `{max_value_exceeded,${n}}` : undefined))],
  ["x-overflow", oneOf(["drop-head", "reject-publish", "reject-publish-dlx"], () => "invalid_overflow")],
  ["x-queue-mode", oneOf(["default", "lazy"], (m) => `"unsupported queue mode '${m}'"`)],
  ["x-queue-version", numeric((n) => nonNegative(n) ?? (n === 1 || n === 2 ? undefined : `"unsupported queue version '${n}'"`))],
  ["x-single-active-consumer", (v) => (v.type === "t" ? undefined : unacceptable(v))],
  ["x-quorum-initial-group-size", numeric((n) => nonNegative(n) ?? (n === 0 ? "{value_zero,0}" : undefined))],
  ["x-queue-leader-locator", oneOf(["client-local", "balanced", "random", "least-leaders"], () => "invalid_queue_locator_arg")],
  // Streams (rabbit_stream_queue).
  ["x-max-age", (v) => (v.type !== "S" ? unacceptable(v) : maxAgeMs(String(v.value)) === undefined ? "invalid_max_age" : undefined)],
  ["x-stream-max-segment-size-bytes", numeric(nonNegative)],
  ["x-initial-cluster-size", numeric((n) => nonNegative(n) ?? (n === 0 ? "{value_zero,0}" : undefined))],
];

/** Each queue type's queue_arguments (rabbit_*_queue:capabilities()). */
const TYPE_ARGS: Record<QueueType, readonly string[]> = {
  classic: [
    "x-expires",
    "x-message-ttl",
    "x-dead-letter-exchange",
    "x-dead-letter-routing-key",
    "x-max-length",
    "x-max-length-bytes",
    "x-max-priority",
    "x-overflow",
    "x-queue-mode",
    "x-queue-version",
    "x-single-active-consumer",
    "x-queue-type",
    "x-queue-master-locator",
  ],
  quorum: [
    "x-dead-letter-exchange",
    "x-dead-letter-routing-key",
    "x-dead-letter-strategy",
    "x-expires",
    "x-max-length",
    "x-max-length-bytes",
    "x-max-in-memory-length",
    "x-max-in-memory-bytes",
    "x-overflow",
    "x-single-active-consumer",
    "x-queue-type",
    "x-quorum-initial-group-size",
    "x-delivery-limit",
    "x-message-ttl",
    "x-queue-leader-locator",
  ],
  stream: [
    "x-max-length-bytes",
    "x-queue-type",
    "x-max-age",
    "x-stream-max-segment-size-bytes",
    "x-initial-cluster-size",
    "x-queue-leader-locator",
  ],
};
const ALL_TYPE_ARGS = new Set(Object.values(TYPE_ARGS).flat());

/**
 * The arguments compared when a queue of this type is redeclared, in the order RabbitMQ
 * compares them (rabbit_amqqueue:assert_args_equivalence walks the type's queue_arguments).
 */
export function equivalenceArgs(type: QueueType): readonly string[] {
  return TYPE_ARGS[type];
}

/** How RabbitMQ names queue types in errors (their modules). */
export const TYPE_MODULES: Record<QueueType, string> = {
  classic: "rabbit_classic_queue",
  quorum: "rabbit_quorum_queue",
  stream: "rabbit_stream_queue",
};

/** The x-queue-type of a declaration (classic when absent), after checking it. */
export function queueTypeOf(args: FieldTable, resource: string): QueueType {
  const arg = typedLookup(args, "x-queue-type");
  if (!arg) return "classic";
  const error = oneOf(["classic", "quorum", "stream"], (t) => `"unsupported queue type '${t}'"`)(arg, args);
  if (error) throw preconditionFailed(`invalid arg 'x-queue-type' for ${resource}: ${error}`);
  return arg.value as QueueType;
}

/** Checks a queue declaration's arguments; returns its queue type. */
export function validateQueueArgs(args: FieldTable, resource: string): QueueType {
  const type = queueTypeOf(args, resource);
  const allowed = TYPE_ARGS[type];
  for (const [key, check] of DECLARE_CHECKS) {
    if (!allowed.includes(key)) continue;
    const arg = typedLookup(args, key);
    const error = arg && check(arg, args);
    if (error) throw preconditionFailed(`invalid arg '${key}' for ${resource}: ${error}`);
  }
  for (const key of Object.keys(args)) {
    if (ALL_TYPE_ARGS.has(key) && !allowed.includes(key)) {
      throw preconditionFailed(`invalid arg '${key}' for ${resource} of queue type ${TYPE_MODULES[type]}`);
    }
  }
  return type;
}

const CONSUMER_ARGS: Record<QueueType, readonly string[]> = {
  classic: ["x-cancel-on-ha-failover", "x-priority", "x-credit"],
  quorum: ["x-priority", "x-credit"],
  stream: ["x-stream-offset", "x-credit"],
};
const ALL_CONSUMER_ARGS = new Set(Object.values(CONSUMER_ARGS).flat());

/**
 * basic.consume arguments (rabbit_amqqueue:check_consume_arguments): x-priority must be an
 * integer, x-cancel-on-ha-failover a boolean, and arguments of another queue type are refused.
 * Returns the consumer's priority.
 */
export function consumerPriority(args: FieldTable, type: QueueType, resource: string): number {
  const allowed = CONSUMER_ARGS[type];
  const priority = typedLookup(args, "x-priority");
  if (priority && allowed.includes("x-priority") && integer(priority) === undefined) {
    throw preconditionFailed(`invalid arg 'x-priority' for ${resource}: ${expectInteger(priority)}`);
  }
  const failover = typedLookup(args, "x-cancel-on-ha-failover");
  if (failover && allowed.includes("x-cancel-on-ha-failover") && failover.type !== "t") {
    throw preconditionFailed(`invalid arg 'x-cancel-on-ha-failover' for ${resource}: ${unacceptable(failover)}`);
  }
  for (const key of Object.keys(args)) {
    if (ALL_CONSUMER_ARGS.has(key) && !allowed.includes(key)) {
      throw preconditionFailed(`invalid arg '${key}' for ${resource} of queue type ${TYPE_MODULES[type]}`);
    }
  }
  return priority ? (integer(priority) ?? 0) : 0;
}
