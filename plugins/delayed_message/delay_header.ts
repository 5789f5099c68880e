// The x-delay header as RabbitMQ's plugin reads it (rabbit_delayed_message_utils): an integer
// of any AMQP integer type, a float (truncated) or a numeric string; > 0 holds the message. Unlike
// the plugin (which routes a malformed or too large value at once, or crashes on a non-numeric
// string), a value Warren cannot honour is refused with 406 naming it.
import { preconditionFailed } from "../../src/amqp/errors.ts";
import { AmqpDecimal, type FieldValue, Typed } from "../../src/amqp/table.ts";
import type { Message } from "../../src/broker/message.ts";

export const DELAY_HEADER = "x-delay";
/** The default longest delay: ten years, as the longest message TTL RabbitMQ accepts. */
export const DEFAULT_MAX_DELAY_MS = 315_360_000_000;

const INTEGER_TEXT = /^\s*[+-]?[0-9]+\s*$/;

/**
 * The delay asked for, in ms: undefined when the message routes at once (no header, or a value
 * ≤ 0, e.g. a re-published message whose header the release made negative). Throws 406 for a
 * value that is not a number or exceeds `maxDelay`.
 */
export function requestedDelay(message: Message, maxDelay: number): number | undefined {
  if (!message.hasHeaders) return undefined;
  const headers = message.props.headers;
  if (headers === undefined || !Object.prototype.hasOwnProperty.call(headers, DELAY_HEADER)) return undefined;
  const delay = delayValue(headers[DELAY_HEADER]!);
  if (delay <= 0) return undefined;
  if (delay > maxDelay) {
    throw preconditionFailed(`x-delay header ${delay} exceeds the maximum delay of ${maxDelay} ms of this exchange`);
  }
  return delay;
}

function delayValue(raw: FieldValue): number {
  const value = raw instanceof Typed ? raw.value : raw;
  if (typeof value === "number") {
    if (Number.isFinite(value)) return Math.trunc(value);
  } else if (typeof value === "bigint") {
    return Number(value);
  } else if (value instanceof AmqpDecimal) {
    return Math.trunc(value.value / 10 ** value.scale);
  } else if (typeof value === "string" || value instanceof Uint8Array) {
    const text = typeof value === "string" ? value : new TextDecoder().decode(value);
    if (INTEGER_TEXT.test(text)) return Number(text);
    throw preconditionFailed(`invalid x-delay header '${text.slice(0, 64)}': it must be an integer number of milliseconds`);
  }
  throw preconditionFailed(`invalid x-delay header of type ${describe(value)}: it must be an integer number of milliseconds`);
}

function describe(value: FieldValue): string {
  if (value === null) return "void";
  if (Array.isArray(value)) return "array";
  if (value instanceof Date) return "timestamp";
  return typeof value === "object" ? "table" : typeof value;
}

/**
 * The message's properties with x-delay set to minus the delay, as RabbitMQ's plugin does on
 * release (so a consumer can tell it was delayed, and re-publishing it is not delayed again).
 */
export function releasedProperties(message: Message, delay: number): Uint8Array {
  const negative = -delay;
  const value = negative >= -0x8000_0000 ? negative : new Typed("l", negative);
  return message.propertiesWithHeader(DELAY_HEADER, value);
}
