// rabbitmq_federation: exchanges and queues federated from upstream brokers (Warren or
// RabbitMQ), as RabbitMQ's federation plugin does it, so the two interoperate both ways; and the
// x-federation-upstream exchange type, so a RabbitMQ downstream can federate from Warren.
// See docs/federation.md.
import type { Broker } from "../../src/broker/broker.ts";
import type { Plugin, PluginContext } from "../../src/plugins/api.ts";
import { createLink } from "./link_factory.ts";
import { federationMetrics, federationRoutes } from "./routes.ts";
import { type LinkFactory, LinkSupervisor } from "./supervisor.ts";
import { SUFFIX_MIGRATIONS } from "./suffixes.ts";
import { upstreamExchangeType } from "./upstream_exchange.ts";
import { federationPolicyValidator, validateUpstream, validateUpstreamSet } from "./validation.ts";

export { upstreamExchangeType } from "./upstream_exchange.ts";

/** Each broker's running federation (tests run several brokers in one process). */
const running = new WeakMap<Broker, LinkSupervisor>();

/** The plugin, with the links made by `factory` (tests give their own). */
export function federationPlugin(factory: (ctx: PluginContext, counters: { forwarded: number }) => LinkFactory): Plugin {
  return {
    name: "rabbitmq_federation",
    description: "Federation: exchanges and queues linked to upstream brokers",
    exchangeTypes: [upstreamExchangeType],
    migrations: SUFFIX_MIGRATIONS,
    policyValidators: [federationPolicyValidator],
    parameters: (ctx) => {
      const changed = (vhost: string) => running.get(ctx.broker)?.upstreamsChanged(vhost);
      return [
        {
          name: "federation-upstream",
          validate: (_v, name, value) => validateUpstream(name, value),
          notify: changed,
          notifyClear: changed,
        },
        {
          name: "federation-upstream-set",
          validate: (_v, name, value) => validateUpstreamSet(name, value),
          notify: changed,
          notifyClear: changed,
        },
      ];
    },
    routes: (routes, ctx) =>
      federationRoutes(routes, {
        supervisor: () => running.get(ctx.broker),
        node: () => ctx.broker.alarms.node,
        hasVhost: (name) => ctx.broker.vhosts.has(name),
      }),
    metrics: (ctx) => {
      const supervisor = running.get(ctx.broker);
      return supervisor ? federationMetrics(supervisor.statuses(), supervisor.counters.forwarded) : "";
    },
    // Links start once the broker listens (an upstream may be this broker's own listener); until
    // then there is no supervisor, and the upstreams set at boot are read when it starts.
    listening(ctx) {
      const counters = { forwarded: 0 };
      const supervisor = new LinkSupervisor(ctx.broker, factory(ctx, counters), ctx.log, counters);
      running.set(ctx.broker, supervisor);
      supervisor.start();
    },
    async stop(ctx) {
      const supervisor = running.get(ctx.broker);
      running.delete(ctx.broker);
      await supervisor?.stop();
    },
  };
}

export const plugin: Plugin = federationPlugin(createLink);
