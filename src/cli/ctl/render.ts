// How a value looks in rabbitmqctl's two formatters: the table formatter prints Erlang-ish
// terms (`[{"x-max-length",10}]`, `[administrator, monitoring]`), the JSON formatter typed
// AMQP table entries (`[["x-max-length","long",10]]`) and "" for a missing value.

/** What a column holds, which decides how each formatter prints it. */
export type ValueKind = "plain" | "table" | "list" | "json";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function tableCell(value: unknown, kind: ValueKind): string {
  if (value === null || value === undefined) return "";
  if (kind === "table" && isObject(value)) return erlangTable(value);
  if (kind === "list" && Array.isArray(value)) return `[${value.map((v) => tableCell(v, "plain")).join(", ")}]`;
  if (kind === "json") return typeof value === "string" ? value : JSON.stringify(value);
  if (typeof value === "object") return JSON.stringify(value);
  return escapeCell(String(value));
}

export function jsonCell(value: unknown, kind: ValueKind): Json {
  if (value === null || value === undefined) return "";
  if (kind === "table" && isObject(value)) return typedTable(value);
  if (kind === "json") return typeof value === "string" ? value : JSON.stringify(value);
  return value as Json;
}

/** Tabs and newlines inside a cell would break the table's rows and columns. */
function escapeCell(text: string): string {
  return text.replace(/[\t\n\r\\]/g, (c) => (c === "\t" ? "\\t" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : "\\\\"));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** `[{"key",value},…]`, as rabbitmqctl prints an AMQP table. */
function erlangTable(table: Record<string, unknown>): string {
  return `[${Object.entries(table).map(([k, v]) => `{${JSON.stringify(k)},${erlangValue(v)}}`).join(",")}]`;
}

function erlangValue(value: unknown): string {
  if (value === null || value === undefined) return "void";
  if (typeof value === "string") return escapeCell(JSON.stringify(value));
  if (Array.isArray(value)) return `[${value.map(erlangValue).join(",")}]`;
  if (isObject(value)) return erlangTable(value);
  return String(value);
}

/** `[["key","type",value],…]`, as rabbitmqctl's JSON formatter prints an AMQP table. */
function typedTable(table: Record<string, unknown>): Json {
  return Object.entries(table).map(([k, v]) => [k, ...typedValue(v)]);
}

function typedValue(value: unknown): [string, Json] {
  if (value === null || value === undefined) return ["void", null];
  if (typeof value === "string") return ["longstr", value];
  if (typeof value === "boolean") return ["bool", value];
  if (typeof value === "number") return [Number.isInteger(value) ? "long" : "double", value];
  if (Array.isArray(value)) return ["array", value.map((v) => typedValue(v))];
  if (isObject(value)) return ["table", typedTable(value)];
  return ["longstr", String(value)];
}
