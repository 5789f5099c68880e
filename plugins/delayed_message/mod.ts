// rabbitmq_delayed_message_exchange: the x-delayed-message exchange type. Messages published
// with a positive x-delay header are held (durably, in the publish's group commit, when the
// message is persistent and the exchange durable) and routed through the type named by
// x-delayed-type when due. See docs/delayed-message.md.
import type { Broker } from "../../src/broker/broker.ts";
import type { ExchangeType } from "../../src/broker/exchange_types.ts";
import type { Plugin, PluginContext } from "../../src/plugins/api.ts";
import { DELAYED_POLICY_VALIDATOR, delayedExchangeType } from "./exchange_type.ts";
import { HeldMessages } from "./held_messages.ts";
import { metricsText } from "./metrics.ts";
import { MIGRATIONS } from "./migrations.ts";
import { delayedRoutes } from "./routes.ts";

export { DELAYED_TYPE } from "./held_messages.ts";

interface Runtime {
  held: HeldMessages;
  type: ExchangeType;
}

/** One runtime per broker (a process may run several), made when the plugin is first registered. */
const runtimes = new WeakMap<Broker, Runtime>();

function runtimeFor(ctx: PluginContext): Runtime {
  let runtime = runtimes.get(ctx.broker);
  if (!runtime) {
    const held = new HeldMessages(ctx.broker, ctx.tables, ctx.log);
    runtime = { held, type: delayedExchangeType(ctx.broker, held) };
    runtimes.set(ctx.broker, runtime);
  }
  return runtime;
}

export const plugin: Plugin = {
  name: "rabbitmq_delayed_message_exchange",
  description: "RabbitMQ Delayed Message Exchange",
  migrations: MIGRATIONS,
  exchangeTypes: (ctx) => [runtimeFor(ctx).type],
  policyValidators: [DELAYED_POLICY_VALIDATOR],
  routes: (routes, ctx) => delayedRoutes(routes, ctx.broker, () => runtimeFor(ctx).held),
  metrics: (ctx) => metricsText(runtimeFor(ctx).held),
  start: (ctx) => runtimeFor(ctx).held.start(),
  stop: (ctx) => runtimeFor(ctx).held.stop(),
};
