// The x-delayed-message exchange type (RabbitMQ's rabbit_exchange_type_delayed_message): it
// delegates declare and binding checks and routing to the type named by x-delayed-type, and
// intercepts publishes that carry a positive x-delay to hold them until they are due.
import { preconditionFailed } from "../../src/amqp/errors.ts";
import type { FieldTable } from "../../src/amqp/table.ts";
import type { Broker } from "../../src/broker/broker.ts";
import type { ExchangeType } from "../../src/broker/exchange_types.ts";
import { policyNumber, type PolicyValidator } from "../../src/broker/policy.ts";
import { Published } from "../../src/broker/publish.ts";
import type { Queue } from "../../src/broker/queue.ts";
import { DEFAULT_MAX_DELAY_MS, requestedDelay } from "./delay_header.ts";
import { DELAYED_TYPE, type HeldMessages, OVERDUE_DLX, OVERDUE_DLX_KEY } from "./held_messages.ts";

/** Policy key: the longest x-delay the exchanges it applies to accept (ms). */
export const MAX_DELAY_KEY = "delayed-max-delay";

const NOT_A_TYPE = "Invalid argument, 'x-delayed-type' must be an existing exchange type";

const isString = (v: unknown) => typeof v === "string";
/** Each policy key this type reads: [valid, the text after the value when it is not]. */
const POLICY_KEYS: Record<string, readonly [valid: (v: unknown) => boolean, what: string]> = {
  [MAX_DELAY_KEY]: [
    (v) => Number.isSafeInteger(v) && (v as number) >= 1,
    "is not a valid maximum delay (an integer number of ms, at least 1)",
  ],
  [OVERDUE_DLX]: [isString, "is not a valid dead letter exchange name"],
  [OVERDUE_DLX_KEY]: [isString, "is not a valid dead letter routing key"],
};

/** The policy keys above, checked as RabbitMQ's policy validators do. */
export const DELAYED_POLICY_VALIDATOR: PolicyValidator = {
  keys: Object.keys(POLICY_KEYS),
  validate(entries) {
    for (const [key, value] of entries) {
      const rule = POLICY_KEYS[key];
      if (rule && !rule[0](value)) return `${JSON.stringify(value)} ${rule[1]}`;
    }
    return undefined;
  },
};

export function delayedExchangeType(broker: Broker, held: HeldMessages): ExchangeType {
  /** The type routing is delegated to: 406 when missing or not a string, 503 when unknown. */
  const underlying = (args: FieldTable): ExchangeType => {
    const name = args["x-delayed-type"];
    if (typeof name !== "string") throw preconditionFailed(NOT_A_TYPE);
    if (name === DELAYED_TYPE) throw preconditionFailed(`${NOT_A_TYPE} other than ${DELAYED_TYPE}`);
    return broker.exchangeTypes.require(name);
  };
  const scratch = new Set<Queue>();
  return {
    name: DELAYED_TYPE,
    description: "Delayed Message Exchange.",
    validate(args) {
      underlying(args).validate?.(args);
    },
    validateBinding(routingKey, args, exchange) {
      if (exchange !== undefined) underlying(exchange.args).validateBinding?.(routingKey, args, exchange);
    },
    createRouter<D>(args: FieldTable) {
      return underlying(args).createRouter<D>(args);
    },
    intercept(x, message, mandatory) {
      if (held.isRelease(message)) return undefined;
      const vhost = broker.vhosts.get(x.vhost);
      const exchange = vhost?.exchanges.get(x.name);
      if (vhost === undefined || exchange === undefined) return undefined;
      const maxDelay = (exchange.policy && policyNumber(exchange.policy.definition, MAX_DELAY_KEY)) ?? DEFAULT_MAX_DELAY_MS;
      const delay = requestedDelay(message, maxDelay);
      if (delay === undefined) return undefined; // routed at once, through the underlying type
      if (mandatory) {
        // Mandatory means something here: a message no queue would take now is returned, not held.
        vhost.route(exchange, message, scratch);
        const routable = scratch.size > 0;
        scratch.clear();
        if (!routable) return Published.unroutable;
      }
      return held.hold(vhost, exchange, message, delay);
    },
    info(x) {
      return { messages_delayed: held.count(x.vhost, x.name) };
    },
  };
}
