// Static shovels from warren.conf, the sysctl-style counterpart of RabbitMQ's advanced.config
// `{rabbitmq_shovel, [{shovels, [...]}]}`: the same keys as a dynamic shovel's JSON, one line each.
//
//   shovel.to_central.src-uri = amqp://
//   shovel.to_central.src-queue = outbox
//   shovel.to_central.dest-uri.1 = amqps://central-a?cacertfile=/etc/ca.pem&verify=verify_peer
//   shovel.to_central.dest-uri.2 = amqps://central-b?cacertfile=/etc/ca.pem&verify=verify_peer
//   shovel.to_central.dest-queue = inbox
//   shovel.to_central.src-queue-args = {"x-queue-type": "classic"}
//
// Values are text; numbers, booleans and JSON objects are read as such. Static shovels run in
// the default vhost "/" and cannot be deleted over the API (RabbitMQ's rule): edit the file.
import type { Json } from "../../src/broker/json_table.ts";
import { parseDefinition, type ShovelDefinition, validationErrors } from "./definition.ts";

const NUMBERS = new Set(["reconnect-delay", "prefetch-count", "src-prefetch-count"]);
const BOOLEANS = new Set([
  "src-predeclared",
  "dest-predeclared",
  "add-forward-headers",
  "add-timestamp-header",
  "dest-add-forward-headers",
  "dest-add-timestamp-header",
]);
const OBJECTS = new Set(["src-queue-args", "dest-queue-args", "src-consumer-args", "publish-properties", "dest-publish-properties"]);

/**
 * The static shovels among the plugin settings (warren.conf's `shovel.` keys as written, other
 * plugins' keys ignored); throws naming the shovel and what is wrong.
 */
export function staticShovels(settings: Readonly<Record<string, string>>): ShovelDefinition[] {
  return Object.entries(group(settings)).map(([name, keys]) => {
    const value: Record<string, Json> = {};
    for (const [k, v] of Object.entries(keys)) value[k] = typed(name, k, v);
    const errors = validationErrors(name, value);
    if (errors.length > 0) throw new Error(`static shovel '${name}' in the config file is invalid: ${errors.join("; ")}`);
    return parseDefinition("/", name, value, "static");
  });
}

/** shovel.<name>.<key> = v and shovel.<name>.<key>.<n> = v (list items, in the order of n) by name and key. */
function group(settings: Readonly<Record<string, string>>): Record<string, Record<string, string | string[]>> {
  const out: Record<string, Record<string, string | string[]>> = {};
  const items: Record<string, Record<string, [number, string][]>> = {};
  for (const [key, value] of Object.entries(settings)) {
    const path = key.split(".");
    if (path[0] !== "shovel") continue;
    const [, name, field, index] = path;
    if (path.length < 3 || path.length > 4 || (index !== undefined && !/^\d+$/.test(index))) {
      throw new Error(`${key} in the config file: a static shovel's key is shovel.<name>.<key> or shovel.<name>.<key>.<number>`);
    }
    if (index === undefined) (out[name!] ??= {})[field!] = value;
    else ((items[name!] ??= {})[field!] ??= []).push([Number(index), value]);
  }
  for (const [name, fields] of Object.entries(items)) {
    for (const [field, list] of Object.entries(fields)) (out[name] ??= {})[field] = list.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  }
  return out;
}

function typed(name: string, key: string, v: string | string[]): Json {
  if (Array.isArray(v)) return v;
  if (NUMBERS.has(key) && /^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  if ((key === "delete-after" || key === "src-delete-after") && /^\d+$/.test(v)) return Number(v);
  if (BOOLEANS.has(key) && (v === "true" || v === "false")) return v === "true";
  if (OBJECTS.has(key)) {
    try {
      return JSON.parse(v) as Json;
    } catch {
      throw new Error(`static shovel '${name}' in the config file: ${key} must be a JSON object, got ${v}`);
    }
  }
  return v;
}
