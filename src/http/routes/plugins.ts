// /api/plugins (Warren's: RabbitMQ has no HTTP path for this; rabbitmq-plugins talks to the node
// directly). GET lists every available plugin with its state; PUT /api/plugins/{name}
// {"enabled": true|false} enables or disables it on the running node and records it in the
// enabled_plugins file, as `rabbitmq-plugins enable|disable` does. Administrators only.
import type { Hono } from "hono";
import type { Broker } from "../../broker/broker.ts";
import { PluginError } from "../../broker/plugin_status.ts";
import { type HttpEnv, requireAdmin, requireMonitor } from "../auth.ts";
import { badRequest, notFound } from "../errors.ts";
import { readBody } from "../json.ts";

export function pluginRoutes(app: Hono<HttpEnv>, broker: Broker): void {
  const control = () => {
    if (!broker.plugins) throw notFound();
    return broker.plugins;
  };
  app.get("/api/plugins", (c) => {
    requireMonitor(c);
    return c.json(control().list().map((p) => ({ ...p, requires: [...p.requires] })));
  });
  app.put("/api/plugins/:name", async (c) => {
    requireAdmin(c);
    const name = c.req.param("name");
    const body = await readBody(c.req.raw);
    if (typeof body.enabled !== "boolean") throw badRequest("enabled must be true or false");
    const plugins = control();
    if (!plugins.list().some((p) => p.name === name)) throw notFound();
    try {
      const changed = body.enabled ? await plugins.enable([name]) : await plugins.disable([name]);
      return c.json({
        [body.enabled ? "started" : "stopped"]: changed,
        plugins: plugins.list().map((p) => ({ ...p, requires: [...p.requires] })),
      });
    } catch (err) {
      if (err instanceof PluginError) throw badRequest(err.message);
      throw err;
    }
  });
}
