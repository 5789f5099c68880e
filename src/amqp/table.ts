// AMQP field tables and arrays with every type RabbitMQ and its clients send:
// t b B s u I i l f d D S x A T F V (RabbitMQ's dialect: 's' is a signed short, 'u' unsigned).
//
// Decoded values are plain JavaScript (boolean, number, string, null, Uint8Array, Date, arrays,
// objects) so feature code can read arguments directly. When the wire type is not the one a
// plain value would encode back to (an amqplib 'b' for a small integer, say), the decoder notes
// it under the FIELD_TYPES symbol, so that re-encoding reproduces the original bytes exactly.

import { Reader } from "./reader.ts";
import { Writer } from "./writer.ts";
import { AmqpError } from "./errors.ts";
import { ReplyCode } from "./spec/constants.gen.ts";

export type FieldType = "t" | "b" | "B" | "s" | "u" | "I" | "i" | "l" | "f" | "d" | "D" | "S" | "x" | "A" | "T" | "F" | "V";

/** A fixed-point decimal: value × 10^-scale. */
export class AmqpDecimal {
  constructor(readonly scale: number, readonly value: number) {}
}

/** A value with an explicit wire type, for callers that need one (e.g. a 'b' or a 'T' from a number). */
export class Typed {
  constructor(readonly type: FieldType, readonly value: FieldValue) {}
}

export type FieldValue =
  | boolean
  | number
  | bigint
  | string
  | null
  | Uint8Array
  | Date
  | AmqpDecimal
  | Typed
  | FieldValue[]
  | FieldTable;

export interface FieldTable {
  [key: string]: FieldValue;
}

/** Where a decoded table or array records wire types that differ from the canonical ones. */
export const FIELD_TYPES: unique symbol = Symbol("amqp.fieldTypes");
type TypeNotes = Record<string, FieldType>;
type Annotated = { [FIELD_TYPES]?: TypeNotes };

// ---------------------------------------------------------------------------------- decoding

export function decodeTable(r: Reader): FieldTable {
  const size = r.u32();
  r.need(size);
  const end = r.pos + size;
  const table: FieldTable = {};
  let notes: TypeNotes | undefined;
  while (r.pos < end) {
    const key = r.shortstr();
    const type = r.u8();
    const value = decodeValue(r, type);
    if (key === "__proto__") {
      Object.defineProperty(table, key, { value, enumerable: true, writable: true, configurable: true });
    } else {
      table[key] = value;
    }
    const fieldType = String.fromCharCode(type) as FieldType;
    if (fieldType !== canonicalType(value)) (notes ??= Object.create(null) as TypeNotes)[key] = fieldType;
  }
  if (r.pos !== end) throw tableError(`field table overran its declared size of ${size} bytes`);
  if (notes) (table as Annotated)[FIELD_TYPES] = notes;
  return table;
}

export function decodeArray(r: Reader): FieldValue[] {
  const size = r.u32();
  r.need(size);
  const end = r.pos + size;
  const array: FieldValue[] = [];
  let notes: TypeNotes | undefined;
  while (r.pos < end) {
    const type = r.u8();
    const value = decodeValue(r, type);
    const fieldType = String.fromCharCode(type) as FieldType;
    if (fieldType !== canonicalType(value)) (notes ??= {})[array.length] = fieldType;
    array.push(value);
  }
  if (r.pos !== end) throw tableError(`field array overran its declared size of ${size} bytes`);
  if (notes) (array as Annotated)[FIELD_TYPES] = notes;
  return array;
}

function decodeValue(r: Reader, type: number): FieldValue {
  switch (type) {
    case 0x74:
      return r.u8() !== 0; // t
    case 0x62:
      return r.i8(); // b
    case 0x42:
      return r.u8(); // B
    case 0x73:
      return r.i16(); // s
    case 0x75:
      return r.u16(); // u
    case 0x49:
      return r.i32(); // I
    case 0x69:
      return r.u32(); // i
    case 0x6c:
      return r.i64(); // l
    case 0x66:
      return r.f32(); // f
    case 0x64:
      return r.f64(); // d
    case 0x44: { // D
      const scale = r.u8();
      return new AmqpDecimal(scale, r.i32());
    }
    case 0x53:
      return r.longstrText(); // S
    case 0x78:
      return r.longstr(); // x
    case 0x41:
      return decodeArray(r); // A
    case 0x54:
      return new Date(r.u64() * 1000); // T
    case 0x46:
      return decodeTable(r); // F
    case 0x56:
      return null; // V
    default:
      throw tableError(`unknown field type '${String.fromCharCode(type)}' (0x${type.toString(16)}) in field table`);
  }
}

function tableError(text: string): AmqpError {
  return new AmqpError(ReplyCode.FRAME_ERROR, text);
}

// ---------------------------------------------------------------------------------- encoding

/** The wire type a plain value encodes to when nothing says otherwise. */
export function canonicalType(value: FieldValue | undefined): FieldType {
  switch (typeof value) {
    case "boolean":
      return "t";
    case "string":
      return "S";
    case "bigint":
      return "l";
    case "number":
      if (!Number.isInteger(value)) return "d";
      return value >= -0x8000_0000 && value < 0x8000_0000 ? "I" : "l";
    case "undefined":
      return "V";
  }
  if (value === null) return "V";
  if (value instanceof Typed) return value.type;
  if (value instanceof Uint8Array) return "x";
  if (value instanceof Date) return "T";
  if (value instanceof AmqpDecimal) return "D";
  if (Array.isArray(value)) return "A";
  return "F";
}

export function encodeTable(w: Writer, table: FieldTable | undefined): void {
  const sizeAt = w.pos;
  w.u32(0);
  if (table) {
    const notes = (table as Annotated)[FIELD_TYPES];
    for (const key of Object.keys(table)) {
      const value = table[key];
      if (value === undefined) continue;
      w.shortstr(key);
      encodeValue(w, value, notes?.[key]);
    }
  }
  w.view.setUint32(sizeAt, w.pos - sizeAt - 4);
}

export function encodeArray(w: Writer, array: readonly FieldValue[]): void {
  const sizeAt = w.pos;
  w.u32(0);
  const notes = (array as Annotated)[FIELD_TYPES];
  for (let i = 0; i < array.length; i++) encodeValue(w, array[i]!, notes?.[i]);
  w.view.setUint32(sizeAt, w.pos - sizeAt - 4);
}

function encodeValue(w: Writer, value: FieldValue, noted: FieldType | undefined): void {
  let type: FieldType;
  if (value instanceof Typed) {
    type = value.type;
    value = value.value;
  } else {
    // A note applies only while the value still has the kind it was decoded with.
    type = noted !== undefined && compatible(noted, value) ? noted : canonicalType(value);
  }
  w.u8(type.charCodeAt(0));
  switch (type) {
    case "t":
      return w.u8(value ? 1 : 0);
    case "b":
      return w.i8(Number(value));
    case "B":
      return w.u8(Number(value));
    case "s":
      return w.i16(Number(value));
    case "u":
      return w.u16(Number(value));
    case "I":
      return w.i32(Number(value));
    case "i":
      return w.u32(Number(value));
    case "l":
      return w.i64(Number(value));
    case "f":
      return w.f32(Number(value));
    case "d":
      return w.f64(Number(value));
    case "D": {
      const d = value as AmqpDecimal;
      w.u8(d.scale);
      return w.i32(d.value);
    }
    case "S":
      return w.longstr(String(value));
    case "x":
      return w.longstr(value as Uint8Array);
    case "A":
      return encodeArray(w, value as FieldValue[]);
    case "T": {
      const seconds = value instanceof Date ? Math.floor(value.getTime() / 1000) : Number(value);
      return w.u64(seconds);
    }
    case "F":
      return encodeTable(w, value as FieldTable);
    case "V":
      return;
  }
}

function compatible(type: FieldType, value: FieldValue): boolean {
  switch (type) {
    case "b":
    case "B":
    case "s":
    case "u":
    case "I":
    case "i":
    case "l":
    case "f":
    case "d":
      return typeof value === "number";
    default:
      return canonicalType(value) === type;
  }
}

/** Reads a numeric argument whatever integer or float type the client used. */
export function numberField(table: FieldTable | undefined, key: string): number | undefined {
  const v = table?.[key];
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (v instanceof Typed && typeof v.value === "number") return v.value;
  return undefined;
}
