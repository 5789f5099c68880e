// AMQP field tables as JSON, the way RabbitMQ's management plugin and definitions files write
// them, and back.
import { AmqpDecimal, FIELD_TYPES, type FieldTable, type FieldType, type FieldValue, Typed } from "../amqp/table.ts";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** JSON that does not have the shape a field table needs. */
export class InvalidJson extends Error {}

/** A field value as RabbitMQ's management plugin renders it. */
export function fieldToJson(value: FieldValue): Json {
  if (value === null) return null;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "boolean" || typeof value === "number" || typeof value === "string") return value;
  if (value instanceof Typed) return fieldToJson(value.value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString("latin1");
  if (value instanceof Date) return Math.floor(value.getTime() / 1000);
  if (value instanceof AmqpDecimal) return value.value / 10 ** value.scale;
  if (Array.isArray(value)) return value.map(fieldToJson);
  return tableToJson(value);
}

export function tableToJson(table: FieldTable | undefined): JsonObject {
  const out: JsonObject = {};
  if (table) { for (const key of Object.keys(table)) out[key] = fieldToJson(table[key]!); }
  return out;
}

/**
 * JSON arguments as rabbit_mgmt_util:args → rabbit_misc:to_amqp_table types them: integers are
 * `long`, other numbers `double`, strings `longstr`, objects tables, arrays arrays.
 */
export function jsonToTable(json: Json | undefined, what = "arguments"): FieldTable {
  // An empty array is an empty table: Erlang's JSON decoder reads `[]` as an empty proplist, so
  // RabbitMQ accepts `"arguments": []`, and tools send it.
  if (json === undefined || json === null || (Array.isArray(json) && json.length === 0)) return {};
  if (typeof json !== "object" || Array.isArray(json)) throw new InvalidJson(`${what} must be an object`);
  const table: FieldTable = {};
  const notes: Record<string, FieldType> = {};
  for (const [key, value] of Object.entries(json)) {
    table[key] = jsonToField(value);
    if (typeof value === "number" && Number.isInteger(value)) notes[key] = "l";
  }
  if (Object.keys(notes).length > 0) (table as { [FIELD_TYPES]?: Record<string, FieldType> })[FIELD_TYPES] = notes;
  return table;
}

function jsonToField(value: Json): FieldValue {
  if (value === null) return null;
  if (Array.isArray(value)) return value.map(jsonToField);
  if (typeof value === "object") return jsonToTable(value);
  return value;
}
