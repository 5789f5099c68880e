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

  /** Headers for routing (headers exchange) — decodes the property list on first call. */
  readonly headers = (): FieldTable | undefined => this.props.headers;
}
