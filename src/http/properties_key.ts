// A binding's "properties key" in management API paths, as rabbit_mgmt_format:pack_binding_props
// builds it: the quoted routing key, then "~" and a hash of the arguments when there are any
// ("~" alone for an empty key and no arguments).
import { AmqpDecimal, canonicalType, FIELD_TYPES, type FieldTable, type FieldType, type FieldValue } from "../amqp/table.ts";
import { ERLANG_TYPE_NAMES } from "../routing/field_values.ts";
import { typedLookup } from "../broker/equivalence.ts";
import { phash2, type Term } from "./erlang_hash.ts";

const encoder = new TextEncoder();

export function propertiesKey(routingKey: string, args: FieldTable): string {
  const keys = Object.keys(args);
  if (keys.length === 0) return routingKey === "" ? "~" : quoteBinding(routingKey);
  return `${quoteBinding(routingKey)}~${quoteBinding(argsHash(args))}`;
}

/**
 * A path segment as rabbit_mgmt_format:url writes one in a Location header: every byte but
 * RFC 3986's unreserved characters (A-Z a-z 0-9 - . _ ~) percent-encoded. A properties key is
 * encoded again this way, so `a.%23` (routing key "a.#") is sent as `a.%2523`.
 */
export function locationSegment(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The routing key and arguments hash a properties key path segment names, as RabbitMQ reads
 * one: the server percent-decodes the segment (cowboy), then rabbit_mgmt_wm_binding splits it on
 * "~" and unquotes each token ("+" a space, %XX a byte). So both `a.%23` and `a.%2523` name
 * routing key "a.#", and a "~" in a key must reach it escaped twice (%257E). Undefined: a token
 * that does not unquote (no binding has it); a segment that does not decode is 400, as cowboy.
 */
export function parsePropertiesSegment(raw: string): { key: string; hash: string | undefined } | undefined {
  let props: string;
  try {
    props = decodeURIComponent(raw);
  } catch {
    throw new PropertiesKeyError(`invalid escape in path segment '${raw}'`);
  }
  const tokens = tokenise(props);
  if (tokens.length > 2 || tokens.length === 0) throw new PropertiesKeyError(`{too_many_tokens,<<"${props}">>}`);
  const key = unquotePlus(tokens[0]!);
  const hash = tokens.length === 2 ? unquotePlus(tokens[1]!) : "";
  if (key === undefined || hash === undefined) return undefined;
  return { key, hash: tokens.length === 2 ? hash : undefined };
}

/** rabbit_mgmt_format:tokenise: split on "~", a "~" at the very end opening no token ("~" is [""]). */
function tokenise(text: string): string[] {
  const tokens: string[] = [];
  let rest = text;
  while (rest !== "") {
    const at = rest.indexOf("~");
    if (at < 0) {
      tokens.push(rest);
      break;
    }
    tokens.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  return tokens;
}

export class PropertiesKeyError extends Error {}

/** rabbit_http_util:unquote: "+" is a space, %XX a byte; undefined for a bad escape. */
function unquotePlus(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return undefined;
  }
}

/** rabbit_mgmt_format:args_hash: base64url (unpadded) of the 32-bit phash2 of the sorted table. */
export function argsHash(args: FieldTable): string {
  const hash = phash2(tableTerm(args, true));
  const bytes = new Uint8Array([hash >>> 24, (hash >>> 16) & 0xff, (hash >>> 8) & 0xff, hash & 0xff]);
  return Buffer.from(bytes).toString("base64url");
}

/** rabbit_http_util:quote_plus, then "~" escaped as %7E (it separates key and hash). */
function quoteBinding(text: string): string {
  let out = "";
  for (const byte of encoder.encode(text)) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9._-]/.test(c)) out += c;
    else if (c === " ") out += "+";
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** A field table as RabbitMQ holds it: [{Key, Type, Value}], top level sorted by key (as bindings are stored). */
function tableTerm(table: FieldTable, sorted: boolean): Term {
  const keys = Object.keys(table);
  if (sorted) keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return {
    kind: "list",
    items: keys.map((key) => {
      const { type, value } = typedLookup(table, key)!;
      return { kind: "tuple", items: [bin(key), atom(ERLANG_TYPE_NAMES[type]), valueTerm(type, value)] } as Term;
    }),
  };
}

function valueTerm(type: FieldType, value: FieldValue): Term {
  switch (type) {
    case "t":
      return atom(value === true ? "true" : "false");
    case "S":
      return typeof value === "string" ? bin(value) : { kind: "bin", bytes: value as Uint8Array };
    case "x":
      return { kind: "bin", bytes: value as Uint8Array };
    case "f":
    case "d":
      return { kind: "float", value: Number(value) };
    case "T":
      return int(value instanceof Date ? Math.floor(value.getTime() / 1000) : Number(value));
    case "D": {
      const d = value as AmqpDecimal;
      return { kind: "tuple", items: [int(d.scale), int(d.value)] };
    }
    case "V":
      return atom("undefined");
    case "F":
      return tableTerm(value as FieldTable, false);
    case "A": {
      const items = value as FieldValue[];
      const notes = (items as { [FIELD_TYPES]?: Record<string, FieldType> })[FIELD_TYPES];
      return {
        kind: "list",
        items: items.map((v, i) => {
          const t = notes?.[String(i)] ?? canonicalType(v);
          return { kind: "tuple", items: [atom(ERLANG_TYPE_NAMES[t]), valueTerm(t, unwrap(v))] } as Term;
        }),
      };
    }
    default:
      return int(unwrap(value) as number | bigint);
  }
}

function unwrap(value: FieldValue): FieldValue {
  return value !== null && typeof value === "object" && "type" in value && "value" in value && !(value instanceof Uint8Array)
    ? (value as { value: FieldValue }).value
    : value;
}

const bin = (text: string): Term => ({ kind: "bin", bytes: encoder.encode(text) });
const atom = (name: string): Term => ({ kind: "atom", name });
const int = (value: number | bigint): Term => ({ kind: "int", value: BigInt(value) });
