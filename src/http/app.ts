// The management HTTP API: a hono app on RabbitMQ's management plugin paths. Tests drive it with
// app.request(); the broker serves it on httpPort (src/http/listeners.ts).
import { Hono } from "hono";
import { cors } from "hono/cors";
import { AmqpError } from "../amqp/errors.ts";
import type { AmqpBroker } from "../connection/channel.ts";
import { basicAuth, type HttpEnv } from "./auth.ts";
import { badRequest, errorBody, fromAmqpError, fromManagementError, HttpError, notFound } from "./errors.ts";
import { ManagementError } from "../broker/management.ts";
import { PolicyError } from "../broker/policy.ts";
import { policyRoutes } from "./routes/policies.ts";
import { InvalidJson } from "./json.ts";
import { listParams } from "./list_params.ts";
import { ratesFor } from "./rates.ts";
import { bodyLimit } from "./body_limit.ts";
import { overviewRoutes } from "./routes/overview.ts";
import { nodeRoutes } from "./routes/nodes.ts";
import { vhostRoutes } from "./routes/vhosts.ts";
import { exchangeRoutes } from "./routes/exchanges.ts";
import { queueRoutes } from "./routes/queues.ts";
import { bindingRoutes } from "./routes/bindings.ts";
import { connectionRoutes } from "./routes/connections.ts";
import { healthRoutes } from "./routes/health.ts";
import { userRoutes } from "./routes/users.ts";
import { parameterRoutes } from "./routes/parameters.ts";
import { definitionRoutes } from "./routes/definitions.ts";
import { pluginRoutes } from "./routes/plugins.ts";
import { featureFlagRoutes } from "./routes/feature_flags.ts";
import { mountPluginRoutes } from "./plugin_routes.ts";
import type { PluginRouteSource } from "../plugins/manager.ts";
import { publicWebUiRoutes, webUiRoutes } from "./routes/web_ui.ts";
import { consoleRoutes } from "./routes/console.ts";
import { liveRoutes } from "./routes/live.ts";

export type ManagementApp = Hono<HttpEnv>;

/** `plugins`: the routes of every available plugin (src/http/plugin_routes.ts). */
export function createManagementApp(broker: AmqpBroker, plugins: readonly PluginRouteSource[] = []): ManagementApp {
  // strict: false — a trailing slash names the same resource (`/api/queues/`), as in cowboy.
  const app = new Hono<HttpEnv>({ strict: false });
  ratesFor(broker);
  app.onError((err, c) => {
    const http = err instanceof HttpError
      ? err
      : err instanceof AmqpError
      ? fromAmqpError(err)
      : err instanceof InvalidJson
      ? badRequest(err.message)
      : err instanceof ManagementError || err instanceof PolicyError
      ? fromManagementError(err)
      : undefined;
    if (http) return c.json(errorBody(http), http.status);
    broker.log.error(`management API: ${c.req.method} ${c.req.path}: ${(err as Error).stack ?? err}`);
    return c.json({ error: "internal_server_error", reason: String((err as Error).message ?? err) }, 500);
  });
  app.notFound((c) => c.json(errorBody(notFound()), 404));
  const origins = broker.options.corsAllowOrigins;
  if (origins.length > 0) {
    // rabbit_mgmt_cors: an allowed Origin is echoed with credentials allowed; preflights are
    // answered before authentication, with the requested headers and max_age.
    app.use(
      "/api/*",
      cors({
        origin: (origin) => (origins.includes("*") || origins.includes(origin) ? origin : null),
        credentials: true,
        maxAge: broker.options.corsMaxAge,
      }),
    );
  }
  publicWebUiRoutes(app);
  consoleRoutes(app);
  app.use("/api/*", basicAuth(broker));
  app.use("*", bodyLimit(broker.options.httpMaxBodySize));
  app.use("/api/*", listParams());
  webUiRoutes(app);
  overviewRoutes(app, broker);
  nodeRoutes(app, broker);
  vhostRoutes(app, broker);
  exchangeRoutes(app, broker);
  queueRoutes(app, broker);
  policyRoutes(app, broker);
  bindingRoutes(app, broker);
  connectionRoutes(app, broker);
  healthRoutes(app, broker);
  userRoutes(app, broker);
  parameterRoutes(app, broker);
  definitionRoutes(app, broker);
  pluginRoutes(app, broker);
  featureFlagRoutes(app);
  liveRoutes(app, broker);
  mountPluginRoutes(app, plugins);
  // A known path with a method it does not take: 405, as cowboy answers; anything else 404.
  const known = app.routes
    .filter((r) => r.path.startsWith("/api/") && r.method !== "ALL")
    .map((r) => new RegExp(`^${r.path.replace(/:[a-z]+/g, "[^/]+")}/?$`));
  app.all("/api/*", (c) => {
    if (!known.some((re) => re.test(c.req.path))) return c.json(errorBody(notFound()), 404);
    return c.json({ error: "Method Not Allowed", reason: `${c.req.method} not allowed` }, 405);
  });
  return app;
}
