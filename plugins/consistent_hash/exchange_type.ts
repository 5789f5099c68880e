// The x-consistent-hash exchange type: declare and binding validation with RabbitMQ 3.10's
// texts (all 406 PRECONDITION_FAILED, checked before anything is created), and its router.
import { preconditionFailed } from "../../src/amqp/errors.ts";
import type { FieldTable } from "../../src/amqp/table.ts";
import type { ExchangeType } from "../../src/broker/exchange_types.ts";
import { formatBinary } from "./erlang_format.ts";
import { ConsistentHashRouter, HashOn } from "./router.ts";

const PROPERTIES: Record<string, HashOn> = {
  correlation_id: HashOn.CorrelationId,
  message_id: HashOn.MessageId,
  timestamp: HashOn.Timestamp,
};

const INTEGER = /^[+-]?[0-9]+$/;
const KEY_NOT_INTEGER = "The binding key must be an integer: ";

/** A hash-header / hash-property argument: undefined when absent; RabbitMQ accepts only longstr. */
function stringArgument(args: FieldTable, name: string): string | undefined {
  if (!Object.prototype.hasOwnProperty.call(args, name)) return undefined;
  const value = args[name];
  // RabbitMQ crashes the connection (541 INTERNAL_ERROR) on any other type; Warren refuses it.
  if (typeof value !== "string") throw preconditionFailed(`Invalid ${name} argument: it must be a string (longstr)`);
  return value;
}

function validate(args: FieldTable): void {
  const header = stringArgument(args, "hash-header");
  const property = stringArgument(args, "hash-property");
  if (header !== undefined && property !== undefined) {
    throw preconditionFailed("hash-header and hash-property are mutually exclusive");
  }
  if (property !== undefined && !Object.prototype.hasOwnProperty.call(PROPERTIES, property)) {
    throw preconditionFailed(`Unsupported property: ${property}`);
  }
}

function validateBinding(routingKey: string): void {
  if (!INTEGER.test(routingKey)) {
    const bytes = new TextEncoder().encode(routingKey);
    const printed = new TextDecoder().decode(formatBinary(bytes, KEY_NOT_INTEGER.length));
    throw preconditionFailed(KEY_NOT_INTEGER + printed);
  }
  if (!(Number(routingKey) >= 1)) throw preconditionFailed("The binding key must be greater than 0");
}

export const consistentHashExchangeType: ExchangeType = {
  name: "x-consistent-hash",
  description: "Consistent Hashing Exchange",
  validate,
  validateBinding,
  createRouter<D>(args: FieldTable) {
    const header = stringArgument(args, "hash-header");
    if (header !== undefined) return new ConsistentHashRouter<D>(HashOn.Header, header);
    const property = stringArgument(args, "hash-property");
    return new ConsistentHashRouter<D>(property === undefined ? HashOn.RoutingKey : PROPERTIES[property]!);
  },
};
