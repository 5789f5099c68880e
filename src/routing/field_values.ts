// Field values seen the way RabbitMQ sees them. RabbitMQ decodes a table into a list of
// {Key, Type, Value} triples and compares values with Erlang's `==`: at the top level of a
// headers match only the Value part counts (a 'b' 5 equals an 'I' 5 and a 'd' 5.0; an 'S' and
// an 'x' with the same bytes are equal; a timestamp equals the integer of its seconds), while
// nested tables and arrays compare as lists that include each element's type atom, in order.
// Our codec decodes to plain JavaScript and notes non-canonical wire types under FIELD_TYPES,
// which is enough to recover RabbitMQ's view.
import { encodeUtf8 } from "../amqp/utf8.ts";
import { AmqpDecimal, canonicalType, FIELD_TYPES, type FieldTable, type FieldType, type FieldValue, Typed } from "../amqp/table.ts";

type Notes = { [FIELD_TYPES]?: Record<string | number, FieldType> };

/** RabbitMQ's name for each wire type (rabbit_binary_parser), as its error texts print them. */
export const ERLANG_TYPE_NAMES: Readonly<Record<FieldType, string>> = {
  t: "bool",
  b: "byte",
  B: "unsignedbyte",
  s: "short",
  u: "unsignedshort",
  I: "signedint",
  i: "unsignedint",
  l: "long",
  f: "float",
  d: "double",
  D: "decimal",
  S: "longstr",
  x: "binary",
  A: "array",
  T: "timestamp",
  F: "table",
  V: "void",
};

/** The wire type of `value`, an element of `container` under `key`, as received or as it would be sent. */
export function fieldTypeOf(container: object, key: string | number, value: FieldValue): FieldType {
  if (value instanceof Typed) return value.type;
  const noted = (container as Notes)[FIELD_TYPES]?.[key];
  // A note holds only while the value keeps the kind it was decoded with (numbers, in practice).
  if (noted !== undefined && (typeof value === "number" || canonicalType(value) === noted)) return noted;
  return canonicalType(value);
}

/** The value without a Typed wrapper. */
export function plain(value: FieldValue): FieldValue {
  return value instanceof Typed ? value.value : value;
}

// ------------------------------------------------------------------------------ equality

const enum Kind {
  Number,
  Bool,
  Binary,
  Decimal,
  List,
  Void,
}

function kindOf(type: FieldType): Kind {
  switch (type) {
    case "t":
      return Kind.Bool;
    case "S":
    case "x":
      return Kind.Binary;
    case "D":
      return Kind.Decimal;
    case "F":
    case "A":
      return Kind.List;
    case "V":
      return Kind.Void;
    default:
      return Kind.Number; // b B s u I i l f d, and T (integer seconds)
  }
}

/**
 * Erlang's `==` between the Value parts of two fields of the given wire types (types
 * themselves are not compared, as in a top-level headers match).
 */
export function erlangEqual(a: FieldValue, aType: FieldType, b: FieldValue, bType: FieldType): boolean {
  a = plain(a);
  b = plain(b);
  const kind = kindOf(aType);
  if (kind !== kindOf(bType)) return false;
  switch (kind) {
    case Kind.Number:
      return toNumber(a) === toNumber(b);
    case Kind.Bool:
      return Boolean(a) === Boolean(b);
    case Kind.Void:
      return true;
    case Kind.Binary:
      if (typeof a === "string" && typeof b === "string") return a === b;
      return bytesEqual(toBytes(a), toBytes(b));
    case Kind.Decimal:
      return a instanceof AmqpDecimal && b instanceof AmqpDecimal &&
        a.scale === b.scale && a.value >>> 0 === b.value >>> 0;
    case Kind.List:
      return listsEqual(a, aType, b, bType);
  }
}

function toNumber(v: FieldValue): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (v instanceof Date) return v.getTime() / 1000;
  return NaN;
}

function toBytes(v: FieldValue): Uint8Array {
  if (v instanceof Uint8Array) return v;
  return encodeUtf8(typeof v === "string" ? v : String(v));
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Tables are lists of {Key, Type, Value}, arrays lists of {Type, Value}; `[] == []` either way. */
function listsEqual(a: FieldValue, aType: FieldType, b: FieldValue, bType: FieldType): boolean {
  const aKeys = aType === "F" ? Object.keys(a as FieldTable) : undefined;
  const bKeys = bType === "F" ? Object.keys(b as FieldTable) : undefined;
  const aLength = aKeys ? aKeys.length : (a as FieldValue[]).length;
  const bLength = bKeys ? bKeys.length : (b as FieldValue[]).length;
  if (aLength !== bLength) return false;
  if (aLength === 0) return true;
  if (aType !== bType) return false; // a triple never equals a pair
  for (let i = 0; i < aLength; i++) {
    const aKey: string | number = aKeys ? aKeys[i]! : i;
    const bKey: string | number = bKeys ? bKeys[i]! : i;
    if (aKey !== bKey) return false;
    const av = (a as Record<string | number, FieldValue>)[aKey]!;
    const bv = (b as Record<string | number, FieldValue>)[bKey]!;
    const at = fieldTypeOf(a as object, aKey, av);
    if (at !== fieldTypeOf(b as object, bKey, bv) || !erlangEqual(av, at, bv, at)) return false;
  }
  return true;
}

// ------------------------------------------------------------------------------ printing

/** The value as Erlang's `~p` prints RabbitMQ's decoded form of it (single line). */
export function formatErlang(value: FieldValue, type: FieldType): string {
  const v = plain(value);
  switch (kindOf(type)) {
    case Kind.Void:
      return "undefined";
    case Kind.Bool:
      return v ? "true" : "false";
    case Kind.Binary:
      return formatBinary(v);
    case Kind.Decimal: {
      const d = v instanceof AmqpDecimal ? v : new AmqpDecimal(0, 0);
      return `{${d.scale},${d.value >>> 0}}`;
    }
    case Kind.Number: {
      const n = type === "T" ? toNumber(v) : v;
      if (typeof n === "bigint") return String(n);
      return type === "f" || type === "d" ? formatFloat(Number(n)) : String(n);
    }
    case Kind.List: {
      const parts: string[] = [];
      if (type === "F") {
        const t = v as FieldTable;
        for (const k of Object.keys(t)) {
          const x = t[k]!;
          const xt = fieldTypeOf(t, k, x);
          parts.push(`{${formatBinary(k)},${ERLANG_TYPE_NAMES[xt]},${formatErlang(x, xt)}}`);
        }
      } else {
        const a = v as FieldValue[];
        for (let i = 0; i < a.length; i++) {
          const xt = fieldTypeOf(a, i, a[i]!);
          parts.push(`{${ERLANG_TYPE_NAMES[xt]},${formatErlang(a[i]!, xt)}}`);
        }
      }
      return `[${parts.join(",")}]`;
    }
  }
}

function formatFloat(n: number): string {
  const s = String(n);
  if (!/^-?\d/.test(s)) return s; // NaN, Infinity: not representable in Erlang anyway
  const [mantissa, exponent] = s.split("e") as [string, string | undefined];
  const m = mantissa.includes(".") ? mantissa : `${mantissa}.0`;
  return exponent === undefined ? m : `${m}e${exponent.replace("+", "")}`;
}

const ESCAPES: Record<number, string> = {
  8: "\\b",
  9: "\\t",
  10: "\\n",
  11: "\\v",
  12: "\\f",
  13: "\\r",
  27: "\\e",
  34: '\\"',
  92: "\\\\",
};

/** `<<"text">>` when every byte is printable Latin-1 (as `~p` decides), else `<<1,2,3>>`. */
function formatBinary(v: FieldValue): string {
  const bytes = toBytes(v);
  let printable = true;
  for (const b of bytes) {
    if (!((b >= 32 && b <= 126) || b >= 160 || ESCAPES[b] !== undefined)) {
      printable = false;
      break;
    }
  }
  if (bytes.length === 0) return "<<>>";
  if (!printable) return `<<${bytes.join(",")}>>`;
  // The Latin-1 characters ~p prints become the same bytes again in the reply text, so the
  // original text (escaped) is what a client reads.
  const text = typeof v === "string" ? v : new TextDecoder().decode(bytes);
  let out = "";
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    out += code < 128 ? (ESCAPES[code] ?? ch) : ch;
  }
  return `<<"${out}">>`;
}

// ------------------------------------------------------------------------------ identity

/**
 * A canonical string for binding arguments: RabbitMQ sorts the top level by key and identifies
 * a binding by the decoded triples, so key order does not matter but wire types do.
 */
export function argumentsKey(args: FieldTable): string {
  const keys = Object.keys(args);
  if (keys.length === 0) return "";
  keys.sort();
  let out = "";
  for (const k of keys) {
    const v = args[k];
    if (v === undefined) continue;
    const t = fieldTypeOf(args, k, v);
    out += `{${formatBinary(k)},${t},${identityTerm(v, t)}}`;
  }
  return out;
}

/** Like formatErlang, but injective (floats exactly, binaries as bytes, S and x apart by type). */
function identityTerm(value: FieldValue, type: FieldType): string {
  const v = plain(value);
  switch (kindOf(type)) {
    case Kind.Number:
      return type === "T" ? String(toNumber(v)) : String(v);
    case Kind.Binary:
      return `<<${toBytes(v).join(",")}>>`;
    case Kind.List: {
      let out = "[";
      if (type === "F") {
        const t = v as FieldTable;
        for (const k of Object.keys(t)) {
          const xt = fieldTypeOf(t, k, t[k]!);
          out += `{${formatBinary(k)},${xt},${identityTerm(t[k]!, xt)}}`;
        }
      } else {
        const a = v as FieldValue[];
        for (let i = 0; i < a.length; i++) {
          const xt = fieldTypeOf(a, i, a[i]!);
          out += `{${xt},${identityTerm(a[i]!, xt)}}`;
        }
      }
      return `${out}]`;
    }
    default:
      return formatErlang(v, type);
  }
}
