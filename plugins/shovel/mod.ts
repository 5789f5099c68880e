// rabbitmq_shovel: moves messages from a queue or exchange on one broker to a queue or exchange
// on another (or this one), across link cuts and restarts (see docs/shovel.md). Dynamic shovels
// are runtime parameters of the "shovel" component; static ones come from warren.conf.
import type { Broker } from "../../src/broker/broker.ts";
import type { Plugin, PluginContext } from "../../src/plugins/api.ts";
import { parseDefinition, validationErrors } from "./definition.ts";
import { shovelRoutes } from "./http.ts";
import { Shovels } from "./shovels.ts";
import { staticShovels } from "./static_config.ts";

/** Per broker (several can run in one process, as in tests): its shovels while the plugin runs. */
const running = new WeakMap<Broker, Shovels>();

export const plugin: Plugin = {
  name: "rabbitmq_shovel",
  description: "Data Shovel for RabbitMQ",
  parameters: (ctx) => [{
    name: "shovel",
    validate(_vhost, name, value) {
      const errors = validationErrors(name, value);
      if (errors.length > 0) throw new Error(errors.join("\n"));
    },
    notify(vhost, name, value) {
      // Values set before the plugin starts (definitions at boot) are handed over again at start.
      const shovels = running.get(ctx.broker);
      if (shovels && validationErrors(name, value).length === 0) shovels.start(parseDefinition(vhost, name, value, "dynamic"));
    },
    notifyClear: (vhost, name) => void running.get(ctx.broker)?.stop(vhost, name),
  }],
  routes: (routes, ctx) => shovelRoutes(routes, ctx, () => running.get(ctx.broker)),
  metrics: (ctx) => running.get(ctx.broker)?.metrics() ?? "",
  start(ctx: PluginContext) {
    const statics = staticShovels(ctx.clients.settings);
    const shovels = new Shovels(ctx.broker, ctx.log, (def) => {
      if (def.type !== "dynamic") return;
      const vhost = ctx.broker.vhosts.get(def.vhost);
      if (vhost) ctx.broker.parameters.clear(vhost, "shovel", def.name);
    });
    running.set(ctx.broker, shovels);
    for (const def of statics) shovels.start(def);
  },
  listening(ctx) {
    running.get(ctx.broker)?.listening();
  },
  async stop(ctx) {
    const shovels = running.get(ctx.broker);
    running.delete(ctx.broker);
    await shovels?.stopAll();
  },
};
