// Conversions between AMQP field tables and the JSON the management API speaks, and request
// body parsing.
import { badRequest } from "./errors.ts";
import type { JsonObject } from "../broker/json_table.ts";

export { fieldToJson, InvalidJson, type Json, type JsonObject, jsonToTable, tableToJson } from "../broker/json_table.ts";

/** Parses a request body as a JSON object (an empty body is {}), as rabbit_mgmt_util:with_decode. */
export async function readBody(request: Request): Promise<JsonObject> {
  const text = await request.text();
  if (text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badRequest("not_json");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw badRequest("not_json");
  return parsed as JsonObject;
}

/** A boolean field of a body: RabbitMQ accepts true/false and the strings "true"/"false". */
export function boolField(body: JsonObject, key: string, fallback: boolean): boolean {
  const value = body[key];
  if (value === undefined || value === null) return fallback;
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  throw badRequest(["not_boolean", typeof value === "string" ? value : JSON.stringify(value)]);
}

export function stringField(body: JsonObject, key: string, fallback: string): string {
  const value = body[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "string") throw badRequest(`${key} must be a string, got ${JSON.stringify(value)}`);
  return value;
}
