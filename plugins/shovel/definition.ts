// A shovel's definition: RabbitMQ's JSON keys, their validation with rabbit_shovel_parameters'
// texts (3.10), and the parsed form with RabbitMQ's defaults that a link runs from.
import { type Json, jsonToTable } from "../../src/broker/json_table.ts";
import type { FieldTable } from "../../src/amqp/table.ts";
import { parseAmqpUri, UriError } from "../../src/client/mod.ts";
import { erlangProplist, erlangTerm, htmlEscape } from "./erlang_terms.ts";

export type AckMode = "on-confirm" | "on-publish" | "no-ack";
export type DeleteAfter = "never" | "queue-length" | number;

export interface ShovelDefinition {
  vhost: string;
  name: string;
  type: "dynamic" | "static";
  srcUris: string[];
  srcQueue: string | undefined;
  srcExchange: string | undefined;
  srcExchangeKey: string;
  srcQueueArgs: FieldTable;
  srcConsumerArgs: FieldTable;
  srcPredeclared: boolean;
  prefetchCount: number;
  deleteAfter: DeleteAfter;
  destUris: string[];
  destQueue: string | undefined;
  destExchange: string | undefined;
  destExchangeKey: string | undefined;
  destQueueArgs: FieldTable;
  destPredeclared: boolean;
  addForwardHeaders: boolean;
  addTimestampHeader: boolean;
  publishProperties: Record<string, Json>;
  ackMode: AckMode;
  /** Seconds before the first reconnection attempt (doubling from there, capped at 5 minutes). */
  reconnectDelay: number;
}

type Check = (key: string, value: Json) => string | undefined;

const number: Check = (k, v) => (typeof v === "number" ? undefined : `${k} should be a number, actually was ${erlangTerm(v)}`);
const binary: Check = (k, v) => (typeof v === "string" ? undefined : `${k} should be binary, actually was ${erlangTerm(v)}`);
const boolean: Check = (k, v) => (typeof v === "boolean" ? undefined : `${k} should be boolean, actually was ${erlangTerm(v)}`);
const enumOf = (values: string[]): Check => (k, v) =>
  typeof v === "string" && values.includes(v) ? undefined : `${k} should be one of ${erlangTerm(values)}, actually was ${erlangTerm(v)}`;
const table: Check = (k, v) => {
  if (Array.isArray(v) && v.length === 0) return undefined; // RabbitMQ exports an empty table as []
  if (v === null || typeof v !== "object" || Array.isArray(v)) return `${k} should be an object, actually was ${erlangTerm(v)}`;
  try {
    jsonToTable(v, k);
    return undefined;
  } catch (err) {
    return `${k}: ${(err as Error).message}`;
  }
};
const prefetch: Check = (k, v) =>
  number(k, v) ??
    (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535
      ? undefined
      : `${k} should be an integer between 0 and 65535, actually was ${erlangTerm(v)}`);
const deleteAfter: Check = (k, v) =>
  v === "never" || v === "queue-length" || (typeof v === "number" && Number.isInteger(v) && v >= 0)
    ? undefined
    : `${k} should be a number greater than or equal to 0, "never" or "queue-length", actually was ${erlangTerm(v)}`;
const properties: Check = (k, v) => {
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    return Array.isArray(v) && v.length === 0 ? undefined : `${k} not a list ${erlangTerm(v)}`;
  }
  const unknown = Object.keys(v).filter((p) => !PROPERTY_KEYS.has(p));
  return unknown.length === 0 ? undefined : `Unrecognised terms ${erlangProplist(unknown.map((p) => [p, v[p] as Json]))} in ${k}`;
};
const uri: Check = (k, v) => {
  if (typeof v === "string") return uriError(v);
  if (!Array.isArray(v)) return `${k} should be list, actually was ${erlangTerm(v)}`;
  for (const item of v) {
    const e = typeof item === "string" ? uriError(item) : `${k} should be list, actually was ${erlangTerm(item)}`;
    if (e !== undefined) return e;
  }
  return undefined;
};

function uriError(text: string): string | undefined {
  try {
    parseAmqpUri(text);
    return undefined;
  } catch (err) {
    if (!(err instanceof UriError)) throw err;
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1];
    const reason = scheme !== undefined && !/^amqps?$/i.test(scheme)
      ? `{{unexpected_uri_scheme,${JSON.stringify(scheme)}},${JSON.stringify(text)}}`
      : err.message.replace(/^Unable to parse URI "[^"]*": /, "");
    return `${JSON.stringify(text)} not a valid URI: ${reason}`;
  }
}

/** The basic properties dest-publish-properties may set (P_basic's fields, as RabbitMQ names them). */
const PROPERTY_KEYS = new Set([
  "content_type",
  "content_encoding",
  "headers",
  "delivery_mode",
  "priority",
  "correlation_id",
  "reply_to",
  "expiration",
  "message_id",
  "timestamp",
  "type",
  "user_id",
  "app_id",
  "cluster_id",
]);

/**
 * Every key the amqp091 shovel takes, in rabbit_shovel_parameters' order (shovel, then source, then
 * destination keys). The pre-3.7 names (prefetch-count, delete-after, add-forward-headers, …)
 * are accepted as RabbitMQ does; src-predeclared and dest-predeclared come from later releases.
 */
const CONSTRAINTS: [key: string, check: Check, mandatory: boolean][] = [
  ["reconnect-delay", number, false],
  ["ack-mode", enumOf(["no-ack", "on-publish", "on-confirm"]), false],
  ["src-protocol", enumOf(["amqp091"]), false],
  ["dest-protocol", enumOf(["amqp091"]), false],
  ["src-uri", uri, true],
  ["src-exchange", binary, false],
  ["src-exchange-key", binary, false],
  ["src-queue", binary, false],
  ["src-queue-args", table, false],
  ["src-consumer-args", table, false],
  ["src-predeclared", boolean, false],
  ["prefetch-count", prefetch, false],
  ["src-prefetch-count", prefetch, false],
  ["delete-after", deleteAfter, false],
  ["src-delete-after", deleteAfter, false],
  ["dest-uri", uri, true],
  ["dest-exchange", binary, false],
  ["dest-exchange-key", binary, false],
  ["dest-queue", binary, false],
  ["dest-queue-args", table, false],
  ["dest-predeclared", boolean, false],
  ["add-forward-headers", boolean, false],
  ["add-timestamp-header", boolean, false],
  ["dest-add-forward-headers", boolean, false],
  ["dest-add-timestamp-header", boolean, false],
  ["publish-properties", properties, false],
  ["dest-publish-properties", properties, false],
];

/**
 * The validation errors of a definition, in RabbitMQ's order and words (empty when valid); the
 * texts are HTML-escaped as the management API sends them.
 */
export function validationErrors(name: string, value: Json): string[] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [htmlEscape(`${name} not a list ${erlangTerm(value)}`)];
  const def = value as Record<string, Json>;
  if (def["src-protocol"] === "amqp10" || def["dest-protocol"] === "amqp10") {
    return ["Warren's shovel speaks AMQP 0-9-1 only: src-protocol and dest-protocol must be amqp091"];
  }
  const has = (k: string) => def[k] !== undefined;
  const errors: string[] = [];
  if (!has("src-exchange") && !has("src-queue")) errors.push("Must specify 'src-exchange' or 'src-queue'");
  if (has("src-exchange") && has("src-queue")) errors.push("Cannot specify 'src-exchange' and 'src-queue'");
  const after = def["src-delete-after"] ?? def["delete-after"];
  if (typeof after === "number" && def["ack-mode"] === "no-ack") errors.push("Cannot specify 'no-ack' and numerical 'delete-after'");
  if (has("dest-exchange") && has("dest-queue")) errors.push("Cannot specify 'dest-exchange' and 'dest-queue'");
  // rabbit_parameter_validation:proplist collects results by prepending: the last key's first.
  const results: string[] = [];
  for (const [key, check, mandatory] of CONSTRAINTS) {
    if (!has(key)) {
      if (mandatory) results.unshift(`Key "${key}" not found in ${name}`);
      continue;
    }
    const e = check(key, def[key]!);
    if (e !== undefined) results.unshift(e);
  }
  const known = new Set(CONSTRAINTS.map(([k]) => k));
  const unknown = Object.keys(def).filter((k) => !known.has(k)).sort();
  if (unknown.length > 0) results.unshift(`Unrecognised terms ${erlangProplist(unknown.map((k) => [k, def[k]!]))} in ${name}`);
  return [...errors, ...results].map(htmlEscape);
}

/** The definition with RabbitMQ's defaults (call after validationErrors found none). */
export function parseDefinition(vhost: string, name: string, value: Json, type: "dynamic" | "static"): ShovelDefinition {
  const d = value as Record<string, Json>;
  const str = (k: string) => (typeof d[k] === "string" ? (d[k] as string) : undefined);
  const bool = (...keys: string[]) => keys.some((k) => d[k] === true);
  const args = (k: string): FieldTable => jsonToTable(d[k], k);
  const uris = (k: string) => (Array.isArray(d[k]) ? (d[k] as string[]) : [d[k] as string]);
  const props = d["dest-publish-properties"] ?? d["publish-properties"];
  return {
    vhost,
    name,
    type,
    srcUris: uris("src-uri"),
    srcQueue: str("src-queue"),
    srcExchange: str("src-exchange"),
    srcExchangeKey: str("src-exchange-key") ?? "",
    srcQueueArgs: args("src-queue-args"),
    srcConsumerArgs: args("src-consumer-args"),
    srcPredeclared: bool("src-predeclared"),
    prefetchCount: (d["src-prefetch-count"] ?? d["prefetch-count"] ?? 1000) as number,
    deleteAfter: (d["src-delete-after"] ?? d["delete-after"] ?? "never") as DeleteAfter,
    destUris: uris("dest-uri"),
    destQueue: str("dest-queue"),
    destExchange: str("dest-exchange"),
    destExchangeKey: str("dest-exchange-key"),
    destQueueArgs: args("dest-queue-args"),
    destPredeclared: bool("dest-predeclared"),
    addForwardHeaders: bool("dest-add-forward-headers", "add-forward-headers"),
    addTimestampHeader: bool("dest-add-timestamp-header", "add-timestamp-header"),
    publishProperties: props !== null && typeof props === "object" && !Array.isArray(props) ? (props as Record<string, Json>) : {},
    ackMode: (str("ack-mode") ?? "on-confirm") as AckMode,
    reconnectDelay: (d["reconnect-delay"] ?? 5) as number,
  };
}
