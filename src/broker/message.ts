import { Reader } from "../amqp/reader.ts";
import { decodeProperties, type BasicProperties } from "../amqp/spec/properties.gen.ts";
import type { FieldTable } from "../amqp/table.ts";

/**
 * A published message, stored once however many queues it was routed to. Properties stay as
 * the bytes the publisher sent (passed through to consumers unchanged) and are decoded only
 * when a feature needs a field.
 */
export class Message {
  private decoded: BasicProperties | undefined;
  /** Row id in the durable store (0: not stored). */
  storeId = 0;
  /** Queue rows recorded for it in this process (decides whether its row is written at all). */
  storeRefs = 0;
  /** Stored with more than one queue row: removals go through the row's reference count. */
  storeShared = false;
  /** The row has been committed (not just recorded for the next commit). */
  storeWritten = false;
  /** The segment file holding its body (0: the body is in SQLite), and where in it. */
  storeSegment = 0;
  storeOffset = 0;
  /** Stored only to bound memory (a non-durable queue's paged copy): dropped at boot. */
  storeTransient = false;

  constructor(
    readonly exchange: string,
    readonly routingKey: string,
    /** The encoded property list (flag word and fields) from the content header. */
    readonly properties: Uint8Array,
    readonly body: Uint8Array,
  ) {}

  get bodySize(): number {
    return this.body.length;
  }

  /** Decoded properties (decoded once, on first use). */
  get props(): BasicProperties {
    return (this.decoded ??= decodeProperties(new Reader(this.properties)));
  }

  /** A separate copy for a non-durable queue's paged store, so it never shares a durable row. */
  transientCopy(): Message {
    const copy = new Message(this.exchange, this.routingKey, this.properties, this.body);
    copy.storeTransient = true;
    return copy;
  }

  /** delivery_mode 2, read from the encoded properties without decoding them all. */
  get persistent(): boolean {
    return deliveryMode(this.properties) === 2;
  }

  /** Headers for routing (headers exchange) — decodes the property list on first call. */
  readonly headers = (): FieldTable | undefined => this.props.headers;
}

/**
 * delivery-mode is the 4th property: skip content-type and content-encoding (shortstr) and
 * headers (table) when present. Returns 0 when absent or unreadable.
 */
function deliveryMode(raw: Uint8Array): number {
  if (raw.length < 2) return 0;
  const flags = (raw[0]! << 8) | raw[1]!;
  if ((flags & 0x1000) === 0) return 0;
  let pos = 2;
  if (flags & 0x8000) pos += 1 + (raw[pos] ?? 0);
  if (flags & 0x4000) pos += 1 + (raw[pos] ?? 0);
  if (flags & 0x2000) pos += 4 + (((raw[pos] ?? 0) << 24) >>> 0) + ((raw[pos + 1] ?? 0) << 16) + ((raw[pos + 2] ?? 0) << 8) + (raw[pos + 3] ?? 0);
  return raw[pos] ?? 0;
}
