import { Reader } from "../amqp/reader.ts";
import { type BasicProperties, decodeProperties } from "../amqp/spec/properties.gen.ts";
import { preconditionFailed } from "../amqp/errors.ts";
import { encodeProperties } from "../amqp/spec/properties.gen.ts";
import { canonicalType, type FieldTable, type FieldValue } from "../amqp/table.ts";
import { Writer } from "../amqp/writer.ts";
import type { StoreRef } from "../../storage/store.ts";
import type { RoutableMessage } from "../routing/router.ts";

/**
 * A published message, stored once however many queues it was routed to. Properties stay as
 * the bytes the publisher sent (passed through to consumers unchanged) and are decoded only
 * when a feature needs a field.
 */
export class Message implements RoutableMessage {
  private decoded: BasicProperties | undefined;
  private keys: readonly string[] | undefined;
  /** The durable store's bookkeeping for this object (undefined until it is stored). */
  storeRef: StoreRef | undefined = undefined;

  constructor(
    readonly exchange: string,
    readonly routingKey: string,
    /** The encoded property list (flag word and fields) from the content header. */
    readonly properties: Uint8Array,
    readonly body: Uint8Array,
  ) {}

  /**
   * A message whose property list the caller built from `props` (they are not decoded again).
   * `props` may be shared between messages, so it must never be changed: callers freeze it.
   */
  static withProps(exchange: string, routingKey: string, properties: Uint8Array, body: Uint8Array, props: BasicProperties): Message {
    const message = new Message(exchange, routingKey, properties, body);
    message.decoded = props;
    return message;
  }

  get bodySize(): number {
    return this.body.length;
  }

  /** Decoded properties (decoded once, on first use). */
  get props(): BasicProperties {
    return (this.decoded ??= decodeProperties(new Reader(this.properties)));
  }

  /** A separate copy for a non-durable queue's paged store, so it never shares a durable row. */
  transientCopy(): Message {
    return new Message(this.exchange, this.routingKey, this.properties, this.body);
  }

  /** delivery_mode 2, read from the encoded properties without decoding them all. */
  get persistent(): boolean {
    return deliveryMode(this.properties) === 2;
  }

  /** The priority property (0 when absent), read without decoding the rest. */
  get priority(): number {
    return priorityOf(this.properties);
  }

  /**
   * The routing key plus sender-selected ones from the CC and BCC headers (RabbitMQ's
   * header_routes). Headers are decoded only when the message has some.
   */
  get routingKeys(): readonly string[] {
    if (this.keys) return this.keys;
    const headers = this.hasHeaders ? this.props.headers : undefined;
    if (!headers || (headers["CC"] === undefined && headers["BCC"] === undefined)) return (this.keys = [this.routingKey]);
    return (this.keys = [this.routingKey, ...headerRoutes(headers, "CC"), ...headerRoutes(headers, "BCC")]);
  }

  /** A copy without the BCC header (it must never reach a consumer), keeping its routing keys. */
  withoutBcc(): Message {
    if (!this.hasHeaders) return this; // the common case: nothing to decode
    const headers = this.props.headers;
    if (!headers || headers["BCC"] === undefined) return this;
    const { BCC: _bcc, ...rest } = headers;
    const w = new Writer(this.properties.length + 16);
    encodeProperties(w, { ...this.props, headers: rest });
    const copy = new Message(this.exchange, this.routingKey, w.written().slice(), this.body);
    copy.keys = this.routingKeys;
    return copy;
  }

  /** The encoded properties with one header set (re-encoded; for the rare paths that need it). */
  propertiesWithHeader(name: string, value: FieldValue): Uint8Array {
    const props = this.props;
    const w = new Writer(this.properties.length + name.length + 16);
    encodeProperties(w, { ...props, headers: { ...props.headers, [name]: value } });
    return w.written().slice();
  }

  /**
   * The per-message TTL from the expiration property, in ms (undefined when absent). Throws
   * RabbitMQ's 406 for a value that is not a non-negative integer of at most ten years.
   */
  get expirationMs(): number | undefined {
    if (this.properties.length < 2 || (this.properties[0]! & 0x01) === 0) return undefined;
    const text = this.props.expiration;
    return text === undefined ? undefined : parseExpiration(text);
  }

  /** Refuses an invalid expiration property (406) before the message is routed anywhere. */
  checkExpiration(): void {
    this.expirationMs;
  }

  /** Whether the headers property is present (from the flag word, without decoding). */
  get hasHeaders(): boolean {
    return this.properties.length >= 2 && (this.properties[0]! & 0x20) !== 0;
  }

  /** Headers for routing (headers exchange) — decodes the property list on first call. */
  headerTable(): FieldTable | undefined {
    return this.hasHeaders ? this.props.headers : undefined;
  }
}

/**
 * Where delivery-mode (the 4th property) would be: past content-type and content-encoding
 * (shortstr) and headers (table) when present. Reads only the flag word and the lengths.
 */
function deliveryModeOffset(raw: Uint8Array, flags: number): number {
  let pos = 2;
  if (flags & 0x8000) pos += 1 + (raw[pos] ?? 0);
  if (flags & 0x4000) pos += 1 + (raw[pos] ?? 0);
  if (flags & 0x2000) {
    pos += 4 + (((raw[pos] ?? 0) << 24) >>> 0) + ((raw[pos + 1] ?? 0) << 16) + ((raw[pos + 2] ?? 0) << 8) + (raw[pos + 3] ?? 0);
  }
  return pos;
}

/** The delivery-mode property; 0 when absent or unreadable. */
function deliveryMode(raw: Uint8Array): number {
  if (raw.length < 2) return 0;
  const flags = (raw[0]! << 8) | raw[1]!;
  return flags & 0x1000 ? (raw[deliveryModeOffset(raw, flags)] ?? 0) : 0;
}

/** The priority property, right after delivery-mode; 0 when absent. */
function priorityOf(raw: Uint8Array): number {
  if (raw.length < 2) return 0;
  const flags = (raw[0]! << 8) | raw[1]!;
  if ((flags & 0x0800) === 0) return 0;
  return raw[deliveryModeOffset(raw, flags) + (flags & 0x1000 ? 1 : 0)] ?? 0;
}

/** CC/BCC must be arrays of strings; anything else is RabbitMQ's "invalid message". */
function headerRoutes(headers: FieldTable, key: "CC" | "BCC"): string[] {
  const value = headers[key];
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw preconditionFailed(`invalid message: {unacceptable_type_in_header,"${key}",${typeName(value)}}`);
  }
  return value.filter((v): v is string => typeof v === "string");
}

function typeName(value: FieldTable[string]): string {
  const names: Record<string, string> = { S: "longstr", t: "bool", I: "signedint", l: "long", d: "double", F: "table", V: "void" };
  const type = canonicalType(value);
  return names[type] ?? type;
}

/** rabbit_basic:parse_expiration, with its error terms. */
function parseExpiration(text: string): number {
  const match = /^([+-]?\d+)(.*)$/s.exec(text);
  let error: string | undefined;
  let value = 0;
  if (!match) error = "no_integer";
  else if (match[2] !== "") error = `{leftover_string,"${match[2]}"}`;
  else {
    value = Number(match[1]);
    if (value < 0) error = `{value_negative,${value}}`;
    else if (value > 315_360_000_000) error = `{value_too_large,${value}}`;
  }
  if (error) throw preconditionFailed(`invalid expiration '${text}': ${error}`);
  return value;
}
