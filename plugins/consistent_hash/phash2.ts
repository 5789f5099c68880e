// erlang:phash2/1 (ERTS make_hash2, masked to 27 bits) for the terms RabbitMQ's consistent-hash
// exchange hashes: a binary (routing key, message_id, correlation_id, timestamp as decimal
// text), the atom `undefined` (header or property missing), and a header's {Type, Value} tuple
// as rabbit_misc:table_lookup returns it. Allocation-free for strings, numbers and booleans:
// state lives in module variables and a reused byte buffer (routing is synchronous).
import { AmqpDecimal, canonicalType, FIELD_TYPES, type FieldTable, type FieldType, type FieldValue } from "../../src/amqp/table.ts";
import { atom, atomHash, bigInteger, binary, float, integer, MASK27, nil, tuple } from "../../src/erlang/make_hash2.ts";

let buffer = new Uint8Array(1024);

/** Writes `text` as UTF-8 into the shared buffer (grown when needed); returns the byte length. */
function utf8(text: string): number {
  if (buffer.length < text.length * 3) buffer = new Uint8Array(text.length * 3);
  const out = buffer;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) out[n++] = c;
    else if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 63);
    } else {
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d < 0xe000) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
          out[n++] = 0xf0 | (c >> 18);
          out[n++] = 0x80 | ((c >> 12) & 63);
          out[n++] = 0x80 | ((c >> 6) & 63);
          out[n++] = 0x80 | (c & 63);
          continue;
        }
      }
      if (c >= 0xd800 && c < 0xe000) c = 0xfffd; // a lone surrogate, as TextEncoder writes it
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 63);
      out[n++] = 0x80 | (c & 63);
    }
  }
  return n;
}

function text(value: string, hash: number): number {
  return binary(buffer, utf8(value), hash);
}

const UNDEFINED = atomHash("undefined");
const TRUE = atomHash("true");
const FALSE = atomHash("false");

/** RabbitMQ's type atom per AMQP field type (rabbit_binary_parser). */
const TYPE_ATOMS: Record<FieldType, number> = {
  S: atomHash("longstr"),
  T: atomHash("timestamp"),
  b: atomHash("byte"),
  B: atomHash("unsignedbyte"),
  s: atomHash("short"),
  u: atomHash("unsignedshort"),
  I: atomHash("signedint"),
  i: atomHash("unsignedint"),
  l: atomHash("long"),
  d: atomHash("double"),
  f: atomHash("float"),
  t: atomHash("bool"),
  D: atomHash("decimal"),
  F: atomHash("table"),
  A: atomHash("array"),
  x: atomHash("binary"),
  V: atomHash("void"),
};

/** The value part of RabbitMQ's {Type, Value} for a field of wire type `type`. */
function fieldValue(type: FieldType, value: FieldValue, hash: number): number {
  switch (type) {
    case "t":
      return atom(value ? TRUE : FALSE, hash);
    case "V":
      return atom(UNDEFINED, hash);
    case "d":
    case "f":
      return float(Number(value), hash);
    case "T":
      return integer(value instanceof Date ? Math.floor(value.getTime() / 1000) : Number(value), hash);
    case "S":
      return typeof value === "string" ? text(value, hash) : fieldBytes(value, hash);
    case "x":
      return fieldBytes(value, hash);
    case "D": {
      const d = value instanceof AmqpDecimal ? value : new AmqpDecimal(0, Number(value));
      return integer(d.value >>> 0, integer(d.scale, tuple(2, hash)));
    }
    case "F":
      return table(value as FieldTable, hash);
    case "A":
      return array(value as FieldValue[], hash);
    default:
      return typeof value === "bigint" ? bigInteger(value, hash) : integer(Number(value), hash);
  }
}

function fieldBytes(value: FieldValue, hash: number): number {
  if (value instanceof Uint8Array) return binary(value, value.length, hash);
  return text(String(value), hash);
}

function typeOf(container: object, key: string | number, value: FieldValue): FieldType {
  const notes = (container as { [FIELD_TYPES]?: Record<string, FieldType> })[FIELD_TYPES];
  return notes?.[key] ?? canonicalType(value);
}

/** [{Name, Type, Value}] in field order. */
function table(t: FieldTable, hash: number): number {
  for (const key in t) {
    const value = t[key]!;
    const type = typeOf(t, key, value);
    hash = fieldValue(type, value, atom(TYPE_ATOMS[type], text(key, tuple(3, hash))));
  }
  return nil(hash);
}

/** [{Type, Value}]. */
function array(items: FieldValue[], hash: number): number {
  for (let i = 0; i < items.length; i++) {
    const value = items[i]!;
    const type = typeOf(items, i, value);
    hash = fieldValue(type, value, atom(TYPE_ATOMS[type], tuple(2, hash)));
  }
  return nil(hash);
}

/** phash2(<<Text/utf8>>). */
export function phash2Text(value: string): number {
  return text(value, 0) & MASK27;
}

/** phash2(undefined). */
export function phash2Undefined(): number {
  return UNDEFINED & MASK27;
}

/** phash2(integer_to_binary(N)) for a non-negative integer (the timestamp property). */
export function phash2Decimal(value: number): number {
  let n = 0;
  let v = Math.floor(value);
  do {
    buffer[n++] = 48 + (v % 10);
    v = Math.floor(v / 10);
  } while (v > 0);
  for (let i = 0, j = n - 1; i < j; i++, j--) {
    const t = buffer[i]!;
    buffer[i] = buffer[j]!;
    buffer[j] = t;
  }
  return binary(buffer, n, 0) & MASK27;
}

/** phash2 of rabbit_misc:table_lookup(Headers, Name): {Type, Value}, or `undefined` when absent. */
export function phash2Header(headers: FieldTable | undefined, name: string): number {
  if (headers === undefined || !Object.prototype.hasOwnProperty.call(headers, name)) return phash2Undefined();
  const value = headers[name]!;
  const type = typeOf(headers, name, value);
  return fieldValue(type, value, atom(TYPE_ATOMS[type], tuple(2, 0))) & MASK27;
}
