// The headers exchange, as RabbitMQ's rabbit_exchange_type_headers. A binding's arguments are
// the pattern; "x-match" says how its keys combine:
//   all (the default)  every key present with an equal value (no keys: matches everything)
//   any                at least one key present with an equal value (no keys: matches nothing)
//   all-with-x, any-with-x   the same, but keys starting "x-" take part too
// Keys starting "x-" are otherwise ignored, and "x-match" always is. A pattern value of void
// matches a header that is present with any value. Values compare as Erlang's `==` compares
// RabbitMQ's decoded values (see field_values.ts): numbers by value whatever their width.
import { AmqpError } from "../amqp/errors.ts";
import { ReplyCode } from "../amqp/spec/constants.gen.ts";
import type { FieldTable, FieldType, FieldValue } from "../amqp/table.ts";
import { ERLANG_TYPE_NAMES, erlangEqual, fieldTypeOf, formatErlang, plain } from "./field_values.ts";
import { type Binding, BindingList, IndexedRouter } from "./indexed_router.ts";
import type { RoutableMessage } from "./router.ts";

export type XMatch = "all" | "any" | "all-with-x" | "any-with-x";

function isXMatch(value: string): value is XMatch {
  return value === "all" || value === "any" || value === "all-with-x" || value === "any-with-x";
}

/** Rejects an x-match argument RabbitMQ rejects, with its text (PRECONDITION_FAILED). */
export function validateHeadersBinding(args: FieldTable): void {
  const value = Object.hasOwn(args, "x-match") ? args["x-match"] : undefined;
  if (value === undefined) return; // the spec is vague; RabbitMQ allows leaving it out
  const type = fieldTypeOf(args, "x-match", value);
  if (type !== "S") {
    throw new AmqpError(
      ReplyCode.PRECONDITION_FAILED,
      `Invalid x-match field type ${ERLANG_TYPE_NAMES[type]} (value ${formatErlang(value, type)}); expected longstr`,
    );
  }
  if (!isXMatch(text(value))) {
    throw new AmqpError(
      ReplyCode.PRECONDITION_FAILED,
      `Invalid x-match field value ${formatErlang(value, type)}; expected all, any, all-with-x, or any-with-x`,
    );
  }
}

function text(value: FieldValue): string {
  const v = plain(value);
  return typeof v === "string" ? v : v instanceof Uint8Array ? new TextDecoder().decode(v) : "";
}

interface HeadersBinding<D> extends Binding<D> {
  readonly any: boolean;
  /** The pattern: keys that take part, their values (plain) and wire types ("V": presence only). */
  readonly keys: string[];
  readonly values: FieldValue[];
  readonly types: FieldType[];
}

export class HeadersRouter<D> extends IndexedRouter<D, HeadersBinding<D>> {
  private readonly all = new BindingList<HeadersBinding<D>>();

  route(_routingKey: string, message: RoutableMessage, out: Set<D>): void {
    const items = this.all.items;
    let table: FieldTable | undefined;
    let fetched = false;
    for (let i = 0; i < items.length; i++) {
      const b = items[i]!;
      if (b.keys.length === 0) {
        if (!b.any) out.add(b.destination);
        continue;
      }
      if (!fetched) {
        table = message.headerTable();
        fetched = true;
      }
      if (table !== undefined && (b.any ? matchesAny(b, table) : matchesAll(b, table))) out.add(b.destination);
    }
  }

  protected attach(routingKey: string, args: FieldTable, destination: D): HeadersBinding<D> {
    const xMatch = Object.hasOwn(args, "x-match") ? args["x-match"] : undefined;
    // As RabbitMQ's parse_x_match: anything but the four known values means "all" (legacy).
    const mode: XMatch = xMatch !== undefined && fieldTypeOf(args, "x-match", xMatch) === "S" &&
        isXMatch(text(xMatch))
      ? text(xMatch) as XMatch
      : "all";
    const withX = mode === "all-with-x" || mode === "any-with-x";
    const keys: string[] = [];
    const values: FieldValue[] = [];
    const types: FieldType[] = [];
    for (const key of Object.keys(args)) {
      const value = args[key];
      if (value === undefined || key === "x-match" || (!withX && key.startsWith("x-"))) continue;
      keys.push(key);
      values.push(plain(value));
      types.push(fieldTypeOf(args, key, value));
    }
    const any = mode === "any" || mode === "any-with-x";
    const binding: HeadersBinding<D> = { routingKey, args, destination, any, keys, values, types, slot: -1 };
    this.all.add(binding);
    return binding;
  }

  protected detach(binding: HeadersBinding<D>): void {
    this.all.remove(binding);
  }
}

function matchesAll(b: HeadersBinding<unknown>, headers: FieldTable): boolean {
  const { keys, values, types } = b;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (!Object.hasOwn(headers, key)) return false;
    if (types[i] !== "V" && !valueMatches(values[i]!, types[i]!, headers, key)) return false;
  }
  return true;
}

function matchesAny(b: HeadersBinding<unknown>, headers: FieldTable): boolean {
  const { keys, values, types } = b;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (!Object.hasOwn(headers, key)) continue;
    if (types[i] === "V" || valueMatches(values[i]!, types[i]!, headers, key)) return true;
  }
  return false;
}

function valueMatches(pattern: FieldValue, patternType: FieldType, headers: FieldTable, key: string): boolean {
  const value = headers[key]!;
  if (pattern === value) return true;
  const t = typeof pattern;
  if ((t === "string" || t === "number") && typeof value === t) return false;
  return erlangEqual(pattern, patternType, value, fieldTypeOf(headers, key, value));
}
