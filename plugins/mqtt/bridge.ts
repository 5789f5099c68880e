// The AMQP side of an MQTT message, as RabbitMQ's MQTT plugin maps it: a publish becomes an AMQP
// message on the MQTT exchange with headers x-mqtt-publish-qos and x-mqtt-dup, delivery mode 2
// for QoS 1 (1 for QoS 0); MQTT 5 properties map to their AMQP counterparts (content type,
// correlation id, expiration) and headers (user properties, x-reply-to-topic). Deliveries to
// MQTT subscribers map back.
import { type BasicProperties, encodeProperties } from "../../src/amqp/spec/properties.gen.ts";
import { type FieldTable, type FieldValue, Typed } from "../../src/amqp/table.ts";
import { Writer } from "../../src/amqp/writer.ts";
import { Message } from "../../src/broker/message.ts";
import type { Properties } from "./properties.ts";
import { routingKeyToTopic, topicToRoutingKey } from "./topic.ts";

export interface MqttMessage {
  topic: string;
  qos: number;
  dup: boolean;
  retain: boolean;
  payload: Uint8Array;
  properties: Properties;
}

const writer = new Writer(512);
const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The AMQP message an MQTT publish puts on `exchange`. */
export function toAmqp(exchange: string, m: MqttMessage): Message {
  const p = m.properties;
  if (
    p.contentType === undefined && p.messageExpiry === undefined && p.responseTopic === undefined && p.payloadFormat !== 1 &&
    p.correlationData === undefined && p.userProperties === undefined
  ) {
    // No MQTT 5 property maps to AMQP (every 3.1.1 publish): the property list depends on QoS,
    // dup and retain only, and is built once for each (the publish path's largest cost otherwise).
    const plain = plainProperties(m.qos, m.dup, m.retain);
    return Message.withProps(exchange, topicToRoutingKey(m.topic), plain.bytes, m.payload, plain.props);
  }
  const headers: FieldTable = { "x-mqtt-publish-qos": new Typed("b", m.qos), "x-mqtt-dup": m.dup };
  if (m.retain) headers["x-mqtt-retain"] = true;
  const props: BasicProperties = { headers, deliveryMode: m.qos > 0 ? 2 : 1 };
  if (p.contentType !== undefined) props.contentType = p.contentType;
  if (p.messageExpiry !== undefined) props.expiration = String(p.messageExpiry * 1000);
  if (p.responseTopic !== undefined) headers["x-reply-to-topic"] = p.responseTopic;
  if (p.payloadFormat === 1) headers["x-mqtt-payload-format"] = "utf8";
  if (p.correlationData !== undefined) {
    const text = shortUtf8(p.correlationData);
    if (text !== undefined) props.correlationId = text;
    else headers["x-correlation-id"] = p.correlationData;
  }
  for (const [key, value] of p.userProperties ?? []) if (!(key in headers)) headers[key] = value;
  writer.reset();
  encodeProperties(writer, props);
  return new Message(exchange, topicToRoutingKey(m.topic), writer.written().slice(), m.payload);
}

/** The encoded and decoded property list of a publish without MQTT 5 properties, by QoS, dup and retain. */
const plainLists: ({ bytes: Uint8Array; props: BasicProperties } | undefined)[] = [];

function plainProperties(qos: number, dup: boolean, retain: boolean): { bytes: Uint8Array; props: BasicProperties } {
  const at = qos * 4 + (dup ? 2 : 0) + (retain ? 1 : 0);
  let list = plainLists[at];
  if (list === undefined) {
    const headers: FieldTable = { "x-mqtt-publish-qos": Object.freeze(new Typed("b", qos)), "x-mqtt-dup": dup };
    if (retain) headers["x-mqtt-retain"] = true;
    // Shared by every message built from it: frozen, so a change anywhere fails loudly.
    const props: BasicProperties = Object.freeze({ headers: Object.freeze(headers), deliveryMode: qos > 0 ? 2 : 1 });
    writer.reset();
    encodeProperties(writer, props);
    plainLists[at] = list = { bytes: writer.written().slice(), props };
  }
  return list;
}

/** Bytes that are UTF-8 text short enough for a shortstr, as text. */
function shortUtf8(bytes: Uint8Array): string | undefined {
  if (bytes.length > 255) return undefined;
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** What an MQTT subscriber receives for an AMQP message (from MQTT or an AMQP publisher). */
export interface Delivery {
  topic: string;
  /** x-mqtt-publish-qos, when the message came from MQTT. */
  publishQos: number | undefined;
  retain: boolean;
  properties: Properties;
}

export function fromAmqp(message: Message, v5: boolean): Delivery {
  const headers = message.hasHeaders ? message.props.headers : undefined;
  const qos = headers?.["x-mqtt-publish-qos"];
  const delivery: Delivery = {
    topic: routingKeyToTopic(message.routingKey),
    publishQos: typeof qos === "number" ? qos : qos instanceof Typed && typeof qos.value === "number" ? qos.value : undefined,
    retain: headers?.["x-mqtt-retain"] === true,
    properties: {},
  };
  if (!v5) return delivery;
  const props = message.props;
  const out = delivery.properties;
  if (props.contentType !== undefined) out.contentType = props.contentType;
  if (props.correlationId !== undefined) out.correlationData = encoder.encode(props.correlationId);
  if (props.expiration !== undefined) out.messageExpiry = Math.ceil(Number(props.expiration) / 1000);
  if (!headers) return delivery;
  const correlation = headers["x-correlation-id"];
  if (correlation instanceof Uint8Array) out.correlationData = correlation;
  const replyTo = headers["x-reply-to-topic"];
  if (typeof replyTo === "string") out.responseTopic = replyTo;
  if (headers["x-mqtt-payload-format"] === "utf8") out.payloadFormat = 1;
  const user: [string, string][] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (key.startsWith("x-mqtt-") || key === "x-reply-to-topic" || key === "x-correlation-id") continue;
    const text = simpleValue(value);
    if (text !== undefined) user.push([key, text]);
  }
  if (user.length > 0) out.userProperties = user;
  return delivery;
}

/** Header values that read as text (strings, numbers, booleans), as user properties. */
function simpleValue(value: FieldValue): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (value instanceof Uint8Array) return shortUtf8(value);
  return undefined;
}
