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
      directUser: (vhost) => directUser(plugin, vhost),
    };
    return target instanceof Exchange
      ? new ExchangeLink(ctx, upstream, status, target, suffixes)
      : new QueueLink(ctx, upstream, status, target);
  };
}

/**
 * Who a link over an `amqp://` URI without credentials acts as (RabbitMQ's direct connections
 * are trusted): the default user when it may use the vhost, else an administrator who may.
 */
function directUser(plugin: PluginContext, vhost: string): string {
  const users = plugin.broker.users;
  const preferred = plugin.broker.options.defaultUser;
  if (users.get(preferred) && users.permission(preferred, vhost)) return preferred;
  return users.list().find((u) => u.tags.includes("administrator") && users.permission(u.name, vhost))?.name ?? preferred;
}
