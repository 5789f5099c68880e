// The routing package: the built-in exchange types and how the broker gets a router for one.
import type { FieldTable } from "../amqp/table.ts";
import { DirectRouter } from "./direct.ts";
import { FanoutRouter } from "./fanout.ts";
import { HeadersRouter, validateHeadersBinding } from "./headers.ts";
import type { Router } from "./router.ts";
import { TopicRouter } from "./topic_trie.ts";

export type { BindingValidator, BoundTo, HeadersAccess, Router } from "./router.ts";
export { DirectRouter, FanoutRouter, HeadersRouter, TopicRouter, validateHeadersBinding };
export type { XMatch } from "./headers.ts";

export type ExchangeTypeName = "direct" | "fanout" | "topic" | "headers";
export const BUILTIN_EXCHANGE_TYPES: readonly ExchangeTypeName[] = ["direct", "fanout", "topic", "headers"];

export function isBuiltinExchangeType(type: string): type is ExchangeTypeName {
  return (BUILTIN_EXCHANGE_TYPES as readonly string[]).includes(type);
}

/** A new, empty router for one exchange of the given type. */
export function createRouter<D>(type: ExchangeTypeName): Router<D> {
  switch (type) {
    case "direct": return new DirectRouter<D>();
    case "fanout": return new FanoutRouter<D>();
    case "topic": return new TopicRouter<D>();
    case "headers": return new HeadersRouter<D>();
  }
  throw new Error(`Cannot create a router: exchange type "${String(type)}" is not built in`);
}

/** Checks binding arguments as the type's validate_binding does; throws AmqpError 406. */
export function validateBinding(type: ExchangeTypeName, args: FieldTable): void {
  if (type === "headers") validateHeadersBinding(args);
}
