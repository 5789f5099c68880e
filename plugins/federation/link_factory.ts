// Makes the link for a federated exchange or queue (the plugin's LinkFactory).
import { Exchange } from "../../src/broker/exchange.ts";
import type { PluginContext } from "../../src/plugins/api.ts";
import { ExchangeLink } from "./exchange_link.ts";
import type { LinkContext } from "./link.ts";
import { QueueLink } from "./queue_link.ts";
import { Suffixes } from "./suffixes.ts";
import type { LinkFactory } from "./supervisor.ts";

export function createLink(plugin: PluginContext, counters: { forwarded: number }): LinkFactory {
  const suffixes = new Suffixes(plugin.tables);
  return (target, upstream, status) => {
    const ctx: LinkContext = {
      broker: plugin.broker,
      log: plugin.log,
      forwarded: () => void counters.forwarded++,
      policyName: () => target.policy?.name ?? "",
    };
    return target instanceof Exchange ? new ExchangeLink(ctx, upstream, status, target, suffixes) : new QueueLink(ctx, upstream, status, target);
  };
}
