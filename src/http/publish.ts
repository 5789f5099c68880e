// POST /api/exchanges/{vhost}/{name}/publish and the message shapes of /api/queues/…/get:
// message properties between JSON and AMQP, and routing a message without a channel.
import { Reader } from "../amqp/reader.ts";
import { type BasicProperties, decodeProperties, encodeProperties } from "../amqp/spec/properties.gen.ts";
import { Writer } from "../amqp/writer.ts";
import type { AmqpBroker } from "../connection/channel.ts";
import type { Exchange } from "../broker/exchange.ts";
import { Message } from "../broker/message.ts";
import { publish, type PublishContext, Published } from "../broker/publish.ts";
import type { Vhost } from "../broker/vhost.ts";
import { badRequest } from "./errors.ts";
import { type Json, type JsonObject, jsonToTable, tableToJson } from "./json.ts";

const STRING_PROPS: [keyof BasicProperties, string][] = [
  ["contentType", "content_type"],
  ["contentEncoding", "content_encoding"],
  ["correlationId", "correlation_id"],
  ["replyTo", "reply_to"],
  ["expiration", "expiration"],
  ["messageId", "message_id"],
  ["type", "type"],
  ["userId", "user_id"],
  ["appId", "app_id"],
  ["clusterId", "cluster_id"],
];
const NUMBER_PROPS: [keyof BasicProperties, string][] = [["deliveryMode", "delivery_mode"], ["priority", "priority"], [
  "timestamp",
  "timestamp",
]];

/** JSON properties (rabbit_mgmt_format:to_basic_properties) → the encoded property list. */
export function encodeJsonProperties(json: Json | undefined): Uint8Array {
  if (json !== undefined && (json === null || typeof json !== "object" || Array.isArray(json))) {
    throw badRequest("properties must be an object");
  }
  const props: BasicProperties = {};
  const p = (json ?? {}) as JsonObject;
  for (const [field, key] of STRING_PROPS) {
    const v = p[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== "string") throw badRequest(`property ${key} must be a string`);
    (props as Record<string, unknown>)[field] = v;
  }
  for (const [field, key] of NUMBER_PROPS) {
    const v = p[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw badRequest(`property ${key} must be a non-negative integer`);
    (props as Record<string, unknown>)[field] = v;
  }
  if (p.headers !== undefined && p.headers !== null) props.headers = jsonToTable(p.headers, "headers");
  const w = new Writer(64);
  encodeProperties(w, props);
  return w.written().slice();
}

/** The encoded property list as the management API shows it (absent properties left out). */
export function propertiesToJson(raw: Uint8Array): JsonObject {
  const props = decodeProperties(new Reader(raw));
  const out: JsonObject = {};
  for (const [field, key] of [...STRING_PROPS, ...NUMBER_PROPS]) {
    const v = props[field];
    if (v !== undefined) out[key] = v as Json;
  }
  if (props.headers !== undefined) out.headers = tableToJson(props.headers);
  return out;
}

/**
 * Routes a message as basic.publish does (alternate exchanges, exchange bindings, CC/BCC) and
 * counts it; returns whether any queue took it.
 */
export function publishMessage(broker: AmqpBroker, vhost: Vhost, exchange: Exchange, message: Message): boolean {
  const ctx: PublishContext = { scope: vhost, stats: broker.stats, confirm: false, queues: new Set() };
  return (publish(ctx, exchange, message, false) & Published.unroutable) === 0;
}
