// The exchange-type registry (RabbitMQ's rabbit_exchange_type): a type validates declare and
// binding arguments and makes the router of each exchange of that type. The broker owns one
// registry with the built-in types; plugins register more (x-consistent-hash, x-delayed-message).
import { commandInvalid } from "../amqp/errors.ts";
import type { FieldTable } from "../amqp/table.ts";
import { DirectRouter, FanoutRouter, HeadersRouter, type Router, TopicRouter, validateHeadersBinding } from "../routing/mod.ts";
import type { Message } from "./message.ts";

/** What intercept sees of the exchange a message was published to. */
export interface InterceptedExchange {
  readonly vhost: string;
  readonly name: string;
  readonly args: FieldTable;
}

export interface ExchangeType {
  /** The type name clients declare (`direct`, `x-consistent-hash`, …). */
  readonly name: string;
  /** Shown in /api/overview exchange_types. */
  readonly description: string;
  /** Checks declare arguments; throws AmqpError (RabbitMQ's code and text) before anything is created. */
  validate?(args: FieldTable): void;
  /**
   * Checks a binding's key and arguments; throws AmqpError before the binding is added.
   * `exchange` is the source (a type that delegates, as x-delayed-message, reads its arguments).
   */
  validateBinding?(routingKey: string, args: FieldTable, exchange?: InterceptedExchange): void;
  /** A new, empty router for one exchange (declared with `args`). */
  createRouter<D>(args: FieldTable): Router<D>;
  /**
   * Takes a message out of the publish pipeline instead of routing it (x-delayed-message holds
   * it and publishes it later through the same pipeline). Returns the Published bits of the
   * outcome when it took the message (unroutable: the caller returns it when `mandatory`),
   * undefined to route as usual.
   */
  intercept?(exchange: InterceptedExchange, message: Message, mandatory: boolean): number | undefined;
  /** Extra fields for the exchange's JSON in the management API (x-delayed-message: messages_delayed). */
  info?(exchange: InterceptedExchange): Record<string, string | number | boolean>;
}

/** The types every broker has. */
export const BUILTIN_EXCHANGE_TYPES: readonly ExchangeType[] = [
  { name: "direct", description: "AMQP direct exchange, as per the AMQP specification", createRouter: () => new DirectRouter() },
  { name: "fanout", description: "AMQP fanout exchange, as per the AMQP specification", createRouter: () => new FanoutRouter() },
  { name: "topic", description: "AMQP topic exchange, as per the AMQP specification", createRouter: () => new TopicRouter() },
  {
    name: "headers",
    description: "AMQP headers exchange, as per the AMQP specification",
    createRouter: () => new HeadersRouter(),
    validateBinding: (_key, args) => validateHeadersBinding(args),
  },
];

export class ExchangeTypes {
  private readonly types = new Map<string, { type: ExchangeType; plugin: string | undefined }>();

  constructor(builtins: readonly ExchangeType[] = BUILTIN_EXCHANGE_TYPES) {
    for (const type of builtins) this.types.set(type.name, { type, plugin: undefined });
  }

  /** Adds a type; `plugin` names who provides it. Throws when the name is taken. */
  register(type: ExchangeType, plugin?: string): void {
    const existing = this.types.get(type.name);
    if (existing) throw new Error(`exchange type '${type.name}' is already registered${existing.plugin ? ` by ${existing.plugin}` : ""}`);
    this.types.set(type.name, { type, plugin });
  }

  unregister(name: string): void {
    this.types.delete(name);
  }

  get(name: string): ExchangeType | undefined {
    return this.types.get(name)?.type;
  }

  /** The type, or RabbitMQ's 503 for a name no enabled plugin provides. */
  require(name: string): ExchangeType {
    const type = this.types.get(name)?.type;
    if (!type) throw commandInvalid(`unknown exchange type '${name}'`);
    return type;
  }

  list(): { type: ExchangeType; plugin: string | undefined }[] {
    return [...this.types.values()];
  }
}
