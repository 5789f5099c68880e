// erlang:phash2/1 (ERTS make_hash2, masked to 27 bits) for the terms RabbitMQ's consistent-hash
// exchange hashes: a binary (routing key, message_id, correlation_id, timestamp as decimal
// text), the atom `undefined` (header or property missing), and a header's {Type, Value} tuple
// as rabbit_misc:table_lookup returns it. Allocation-free for strings, numbers and booleans:
// state lives in module variables and a reused byte buffer (routing is synchronous).
import { AmqpDecimal, canonicalType, FIELD_TYPES, type FieldTable, type FieldType, type FieldValue } from "../../src/amqp/table.ts";

const HCONST = 0x9e3779b9;
const HCONST_2 = 0x3c6ef372;
const HCONST_3 = 0xdaa66d2b;
const HCONST_9 = 0x8ff34781;
const HCONST_10 = 0x2e2ac13a;
const HCONST_11 = 0xcc623af3;
const HCONST_12 = 0x6a99b4ac;
const HCONST_13 = 0x08d12e65;
const NIL_DEF = 0x2;
const MASK27 = (1 << 27) - 1;

let ma = 0, mb = 0, mc = 0;

/** Bob Jenkins' lookup2 mix over (ma, mb, mc). */
function mix(): void {
  let a = ma, b = mb, c = mc;
  a = (a - b - c) >>> 0; a = (a ^ (c >>> 13)) >>> 0;
  b = (b - c - a) >>> 0; b = (b ^ (a << 8)) >>> 0;
  c = (c - a - b) >>> 0; c = (c ^ (b >>> 13)) >>> 0;
  a = (a - b - c) >>> 0; a = (a ^ (c >>> 12)) >>> 0;
  b = (b - c - a) >>> 0; b = (b ^ (a << 16)) >>> 0;
  c = (c - a - b) >>> 0; c = (c ^ (b >>> 5)) >>> 0;
  a = (a - b - c) >>> 0; a = (a ^ (c >>> 3)) >>> 0;
  b = (b - c - a) >>> 0; b = (b ^ (a << 10)) >>> 0;
  c = (c - a - b) >>> 0; c = (c ^ (b >>> 15)) >>> 0;
  ma = a; mb = b; mc = c;
}

/** make_hash2's UINT32_HASH_2. */
function hash2(x: number, y: number, aconst: number, hash: number): number {
  ma = (aconst + x) >>> 0;
  mb = (aconst + y) >>> 0;
  mc = hash >>> 0;
  mix();
  return mc;
}

/** ERTS block_hash over bytes[0, length), seeded with `initval`. */
function blockHash(k: Uint8Array, length: number, initval: number): number {
  let a = HCONST, b = HCONST, c = initval >>> 0;
  let i = 0;
  for (; length - i >= 12; i += 12) {
    ma = (a + (k[i]! | (k[i + 1]! << 8) | (k[i + 2]! << 16) | (k[i + 3]! << 24))) >>> 0;
    mb = (b + (k[i + 4]! | (k[i + 5]! << 8) | (k[i + 6]! << 16) | (k[i + 7]! << 24))) >>> 0;
    mc = (c + (k[i + 8]! | (k[i + 9]! << 8) | (k[i + 10]! << 16) | (k[i + 11]! << 24))) >>> 0;
    mix();
    a = ma; b = mb; c = mc;
  }
  c = (c + length) >>> 0;
  const rest = length - i;
  if (rest >= 11) c = (c + (k[i + 10]! << 24)) >>> 0;
  if (rest >= 10) c = (c + (k[i + 9]! << 16)) >>> 0;
  if (rest >= 9) c = (c + (k[i + 8]! << 8)) >>> 0;
  if (rest >= 8) b = (b + (k[i + 7]! << 24)) >>> 0;
  if (rest >= 7) b = (b + (k[i + 6]! << 16)) >>> 0;
  if (rest >= 6) b = (b + (k[i + 5]! << 8)) >>> 0;
  if (rest >= 5) b = (b + k[i + 4]!) >>> 0;
  if (rest >= 4) a = (a + (k[i + 3]! << 24)) >>> 0;
  if (rest >= 3) a = (a + (k[i + 2]! << 16)) >>> 0;
  if (rest >= 2) a = (a + (k[i + 1]! << 8)) >>> 0;
  if (rest >= 1) a = (a + k[i]!) >>> 0;
  ma = a; mb = b; mc = c;
  mix();
  return mc;
}

/** Folds a binary of bytes[0, length) into the running hash. */
function binary(bytes: Uint8Array, length: number, hash: number): number {
  const seed = (HCONST_13 + hash) >>> 0;
  return length === 0 ? seed : blockHash(bytes, length, seed);
}

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

/** hashpjw over the atom's name (atom.c's atom_hash; names here are ASCII). */
function atomHash(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) {
    h = ((h << 4) + name.charCodeAt(i)) >>> 0;
    const g = h & 0xf0000000;
    if (g !== 0) h = ((h ^ (g >>> 24)) ^ g) >>> 0;
  }
  return h;
}

function atom(value: number, hash: number): number {
  return hash === 0 ? value : hash2(value, 0, HCONST_3, hash);
}

/** An integer held exactly in a double. */
function integer(value: number, hash: number): number {
  if (value >= -(2 ** 27) && value < 2 ** 27) {
    if (value < 0) hash = hash2(-value, 0, HCONST, hash);
    return hash2(value >>> 0, 0, HCONST, hash);
  }
  const magnitude = Math.abs(value);
  return hash2(magnitude % 2 ** 32, Math.floor(magnitude / 2 ** 32) % 2 ** 32, value < 0 ? HCONST_10 : HCONST_11, hash);
}

function bigInteger(value: bigint, hash: number): number {
  if (value >= -(2n ** 53n) && value <= 2n ** 53n) return integer(Number(value), hash);
  let t = value < 0n ? -value : value;
  const con = value < 0n ? HCONST_10 : HCONST_11;
  do {
    hash = hash2(Number(t & 0xffffffffn), Number((t >> 32n) & 0xffffffffn), con, hash);
    t >>= 64n;
  } while (t > 0n);
  return hash;
}

const floatWords = new Float64Array(1);
const floatHalves = new Uint32Array(floatWords.buffer);

function float(value: number, hash: number): number {
  floatWords[0] = value === 0 ? 0 : value; // ERTS hashes -0.0 as 0.0
  return hash2(floatHalves[1]!, floatHalves[0]!, HCONST_12, hash);
}

function tuple(arity: number, hash: number): number {
  return hash2(arity, 0, HCONST_9, hash);
}

function nil(hash: number): number {
  return hash === 0 ? 3468870702 : hash2(NIL_DEF, 0, HCONST_2, hash);
}

const UNDEFINED = atomHash("undefined");
const TRUE = atomHash("true");
const FALSE = atomHash("false");

/** RabbitMQ's type atom per AMQP field type (rabbit_binary_parser). */
const TYPE_ATOMS: Record<FieldType, number> = {
  S: atomHash("longstr"), T: atomHash("timestamp"), b: atomHash("byte"), B: atomHash("unsignedbyte"),
  s: atomHash("short"), u: atomHash("unsignedshort"), I: atomHash("signedint"), i: atomHash("unsignedint"),
  l: atomHash("long"), d: atomHash("double"), f: atomHash("float"), t: atomHash("bool"),
  D: atomHash("decimal"), F: atomHash("table"), A: atomHash("array"), x: atomHash("binary"), V: atomHash("void"),
};

/** The value part of RabbitMQ's {Type, Value} for a field of wire type `type`. */
function fieldValue(type: FieldType, value: FieldValue, hash: number): number {
  switch (type) {
    case "t": return atom(value ? TRUE : FALSE, hash);
    case "V": return atom(UNDEFINED, hash);
    case "d": case "f": return float(Number(value), hash);
    case "T": return integer(value instanceof Date ? Math.floor(value.getTime() / 1000) : Number(value), hash);
    case "S": return typeof value === "string" ? text(value, hash) : fieldBytes(value, hash);
    case "x": return fieldBytes(value, hash);
    case "D": {
      const d = value instanceof AmqpDecimal ? value : new AmqpDecimal(0, Number(value));
      return integer(d.value >>> 0, integer(d.scale, tuple(2, hash)));
    }
    case "F": return table(value as FieldTable, hash);
    case "A": return array(value as FieldValue[], hash);
    default: return typeof value === "bigint" ? bigInteger(value, hash) : integer(Number(value), hash);
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
