// The routing package: the routers of the built-in exchange types (their ExchangeType values
// are in src/broker/exchange_types.ts).
import { DirectRouter } from "./direct.ts";
import { FanoutRouter } from "./fanout.ts";
import { HeadersRouter, validateHeadersBinding } from "./headers.ts";
import { TopicRouter } from "./topic_trie.ts";

export type { BindingValidator, BoundTo, RoutableMessage, Router } from "./router.ts";
export { DirectRouter, FanoutRouter, HeadersRouter, TopicRouter, validateHeadersBinding };
export type { XMatch } from "./headers.ts";
