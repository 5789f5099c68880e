// The shovel management API (rabbitmq_shovel_management's paths): GET /api/shovels,
// GET /api/shovels/{vhost}, DELETE /api/shovels/vhost/{vhost}/{name}/restart.
import type { AmqpBroker } from "../../src/connection/channel.ts";
import { notFound } from "../../src/http/errors.ts";
import { pathVhost, visibleVhosts } from "../../src/http/context.ts";
import type { PluginContext, PluginRoutes } from "../../src/plugins/api.ts";
import type { Shovels } from "./shovels.ts";

export function shovelRoutes(routes: PluginRoutes, ctx: PluginContext, shovels: () => Shovels | undefined): void {
  const broker = ctx.broker as unknown as AmqpBroker;
  routes.get("/api/shovels", (c) => {
    const vhosts = new Set(visibleVhosts(c, broker).map((v) => v.name));
    return c.json(shovels()?.status(vhosts) ?? []);
  });
  routes.get("/api/shovels/:vhost", (c) => {
    const vhost = pathVhost(c, broker);
    return c.json(shovels()?.status(new Set([vhost.name])) ?? []);
  });
  routes.delete("/api/shovels/vhost/:vhost/:name/restart", (c) => {
    const vhost = pathVhost(c, broker);
    if (!shovels()?.restart(vhost.name, c.req.param("name") ?? "")) throw notFound();
    return c.body(null, 204);
  });
}
