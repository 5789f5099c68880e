// rabbitmq_consistent_hash_exchange: the x-consistent-hash exchange type, routing each message
// to one destination chosen by a consistent hash of its routing key, a header or a property,
// with bindings weighted by their integer keys (see docs/consistent_hash.md).
import type { Plugin } from "../../src/plugins/api.ts";
import { consistentHashExchangeType } from "./exchange_type.ts";

export { consistentHashExchangeType } from "./exchange_type.ts";
export { ConsistentHashRouter, HashOn } from "./router.ts";

export const plugin: Plugin = {
  name: "rabbitmq_consistent_hash_exchange",
  description: "Consistent Hash Exchange Type",
  exchangeTypes: [consistentHashExchangeType],
};
