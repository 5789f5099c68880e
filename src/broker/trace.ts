// Firehose tracing (rabbitmqctl trace_on, "tracing" on PUT /api/vhosts): while it is on for a
// vhost, every message a client publishes there and every delivery to a client is copied to the
// vhost's amq.rabbitmq.trace exchange, routing key publish.<exchange> or deliver.<queue>, with
// the headers rabbit_trace sets (where it went, its properties, who sent or got it).
import { type FieldTable, Typed } from "../amqp/table.ts";
import { encodeProperties } from "../amqp/spec/properties.gen.ts";
import type { BasicProperties } from "../amqp/spec/properties.gen.ts";
import { Writer } from "../amqp/writer.ts";
import { Message } from "./message.ts";

export const TRACE_EXCHANGE = "amq.rabbitmq.trace";

/** Who published or got the message: the connection, channel and user, as rabbit_trace names them. */
export interface TraceParty {
  readonly node: string;
  readonly connection: string;
  readonly channel: number;
  readonly user: string;
}

/** RabbitMQ's names for the basic properties in the trace's "properties" table. */
const PROPERTY_NAMES: [keyof BasicProperties, string][] = [
  ["contentType", "content_type"],
  ["contentEncoding", "content_encoding"],
  ["headers", "headers"],
  ["deliveryMode", "delivery_mode"],
  ["priority", "priority"],
  ["correlationId", "correlation_id"],
  ["replyTo", "reply_to"],
  ["expiration", "expiration"],
  ["messageId", "message_id"],
  ["timestamp", "timestamp"],
  ["type", "type"],
  ["userId", "user_id"],
  ["appId", "app_id"],
  ["clusterId", "cluster_id"],
];

function propertyTable(props: BasicProperties): FieldTable {
  const table: FieldTable = {};
  for (const [field, name] of PROPERTY_NAMES) {
    const value = props[field];
    if (value === undefined) continue;
    table[name] = field === "timestamp" ? new Typed("T", value as number) : value as FieldTable[string];
  }
  // As RabbitMQ: the headers table is there, empty, when the message had none.
  table.headers ??= {};
  return table;
}

/** The copy of a publish: routing key publish.<exchange>; routed_queues names where it went. */
export function publishTrace(vhost: string, party: TraceParty, message: Message, routedQueues: string[]): Message {
  return traceMessage(`publish.${message.exchange}`, message, {
    ...common(party.node, vhost, message),
    ...partyHeaders(party),
    routed_queues: routedQueues,
  });
}

/** The copy of a delivery (or basic.get): routing key deliver.<queue>. */
export function deliverTrace(vhost: string, party: TraceParty, queue: string, message: Message, redelivered: boolean): Message {
  return traceMessage(`deliver.${queue}`, message, {
    ...common(party.node, vhost, message),
    redelivered: new Typed("I", redelivered ? 1 : 0),
    ...partyHeaders(party),
  });
}

function common(node: string, vhost: string, message: Message): FieldTable {
  const cc = message.props.headers?.CC;
  const keys = [message.routingKey, ...(Array.isArray(cc) ? cc.map(String) : [])];
  return { exchange_name: message.exchange, routing_keys: keys, properties: propertyTable(message.props), node, vhost };
}

function partyHeaders(party: TraceParty): FieldTable {
  return { connection: party.connection, channel: new Typed("I", party.channel), user: party.user };
}

function traceMessage(routingKey: string, message: Message, headers: FieldTable): Message {
  const props: BasicProperties = { headers };
  const w = new Writer(256);
  encodeProperties(w, props);
  return Message.withProps(TRACE_EXCHANGE, routingKey, w.written().slice(), message.body, Object.freeze(props));
}
