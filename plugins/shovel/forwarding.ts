// What a shovel changes on a message it forwards: where it goes (dest-queue, dest-exchange and
// dest-exchange-key, or the original exchange and key), and, only when asked, its properties
// (dest-add-forward-headers, dest-add-timestamp-header, dest-publish-properties). Untouched
// properties are passed through as their encoded bytes.
import { Reader } from "../../src/amqp/reader.ts";
import type { FieldTable, FieldValue } from "../../src/amqp/table.ts";
import { Writer } from "../../src/amqp/writer.ts";
import { jsonToTable } from "../../src/broker/json_table.ts";
import { type BasicProperties, decodeProperties, type Delivery, encodeProperties, withoutCredentials } from "../../src/client/mod.ts";
import type { ShovelDefinition } from "./definition.ts";

/** dest-publish-properties keys (RabbitMQ's P_basic field names) onto ours. */
const PROPERTY_NAMES: Record<string, keyof BasicProperties> = {
  content_type: "contentType",
  content_encoding: "contentEncoding",
  headers: "headers",
  delivery_mode: "deliveryMode",
  priority: "priority",
  correlation_id: "correlationId",
  reply_to: "replyTo",
  expiration: "expiration",
  message_id: "messageId",
  timestamp: "timestamp",
  type: "type",
  user_id: "userId",
  app_id: "appId",
  cluster_id: "clusterId",
};

export class Forwarding {
  private readonly rewrites: boolean;
  private readonly overrides: BasicProperties;
  private readonly scratch = new Writer(512);

  constructor(private readonly def: ShovelDefinition, private readonly clusterName: () => string) {
    this.overrides = {};
    for (const [key, value] of Object.entries(def.publishProperties)) {
      const name = PROPERTY_NAMES[key];
      if (name === undefined) continue;
      (this.overrides as Record<string, unknown>)[name] = name === "headers" ? jsonToTable(value, "headers") : value;
    }
    this.rewrites = def.addForwardHeaders || def.addTimestampHeader || Object.keys(this.overrides).length > 0;
  }

  exchange(d: Delivery): string {
    if (this.def.destQueue !== undefined) return "";
    return this.def.destExchange ?? d.exchange;
  }

  routingKey(d: Delivery): string {
    if (this.def.destQueue !== undefined) return this.def.destQueue;
    return this.def.destExchangeKey ?? d.routingKey;
  }

  /** The encoded properties to publish with: the same bytes unless the definition rewrites them. */
  properties(d: Delivery, srcUri: string, destUri: string): Uint8Array {
    if (!this.rewrites) return d.properties;
    const p = decodeProperties(new Reader(d.properties));
    Object.assign(p, this.overrides);
    if (this.def.addForwardHeaders || this.def.addTimestampHeader) p.headers = { ...p.headers };
    if (this.def.addForwardHeaders) {
      const previous = p.headers!["x-shovelled"];
      const entry = this.forwardHeader(srcUri, destUri);
      p.headers!["x-shovelled"] = Array.isArray(previous) ? [entry, ...previous] : [entry];
    }
    if (this.def.addTimestampHeader) p.headers!["x-shovelled-timestamp"] = new Date(Math.floor(Date.now() / 1000) * 1000);
    this.scratch.reset();
    encodeProperties(this.scratch, p);
    return this.scratch.written().slice();
  }

  /** One entry of x-shovelled, as rabbit_shovel_util:add_forward_headers writes it. */
  private forwardHeader(srcUri: string, destUri: string): FieldTable {
    const d = this.def;
    const table: Record<string, FieldValue> = {
      "shovelled-by": this.clusterName(),
      "shovel-type": d.type,
      "shovel-name": d.name,
      "shovel-vhost": d.vhost,
      "src-uri": withoutCredentials(srcUri),
      "dest-uri": withoutCredentials(destUri),
    };
    if (d.srcQueue !== undefined) table["src-queue"] = d.srcQueue;
    else {
      table["src-exchange"] = d.srcExchange ?? "";
      table["src-exchange-key"] = d.srcExchangeKey;
    }
    if (d.destQueue !== undefined) table["dest-queue"] = d.destQueue;
    else {
      if (d.destExchange !== undefined) table["dest-exchange"] = d.destExchange;
      if (d.destExchangeKey !== undefined) table["dest-exchange-key"] = d.destExchangeKey;
    }
    return table;
  }
}
