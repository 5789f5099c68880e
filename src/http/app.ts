// The management HTTP API: a hono app on RabbitMQ's management plugin paths. Tests drive it with
// app.request(); the broker serves it on httpPort (src/http/listeners.ts).
import { Hono, type Context } from "hono";
import { AmqpError } from "../amqp/errors.ts";
import type { Broker } from "../broker/broker.ts";
import type { Vhost } from "../broker/vhost.ts";
import { basicAuth, canSeeVhost, requireVhostAccess, type HttpEnv } from "./auth.ts";
import { badRequest, errorBody, fromAmqpError, fromManagementError, HttpError, notFound } from "./errors.ts";
import { ManagementError } from "../auth/management.ts";
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

export type ManagementApp = Hono<HttpEnv>;

export function createManagementApp(broker: Broker): ManagementApp {
  const app = new Hono<HttpEnv>();
  ratesFor(broker);
  app.onError((err, c) => {
    const http = err instanceof HttpError ? err : err instanceof AmqpError ? fromAmqpError(err)
      : err instanceof InvalidJson ? badRequest(err.message)
      : err instanceof ManagementError || err instanceof PolicyError ? fromManagementError(err) : undefined;
    if (http) return c.json(errorBody(http), http.status);
    broker.log.error(`management API: ${c.req.method} ${c.req.path}: ${(err as Error).stack ?? err}`);
    return c.json({ error: "internal_server_error", reason: String((err as Error).message ?? err) }, 500);
  });
  app.notFound((c) => c.json(errorBody(notFound()), 404));
  app.use("/api/*", basicAuth(broker));
  app.use("*", bodyLimit(broker.options.httpMaxBodySize));
  app.use("/api/*", listParams());
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
  // A known path with a method it does not take: 405, as cowboy answers; anything else 404.
  const known = app.routes
    .filter((r) => r.path.startsWith("/api/") && r.method !== "ALL")
    .map((r) => new RegExp(`^${r.path.replace(/:[a-z]+/g, "[^/]+")}$`));
  app.all("/api/*", (c) => {
    if (!known.some((re) => re.test(c.req.path))) return c.json(errorBody(notFound()), 404);
    return c.json({ error: "Method Not Allowed", reason: `${c.req.method} not allowed` }, 405);
  });
  return app;
}

/** The vhost named in the path (`%2F` for "/"): 404 when missing, 401 without access. */
export function pathVhost(c: Context<HttpEnv>, broker: Broker, param = "vhost"): Vhost {
  const name = c.req.param(param);
  const vhost = name === undefined ? undefined : broker.vhosts.get(name);
  if (!vhost) throw notFound();
  requireVhostAccess(broker, c.get("user"), vhost.name);
  return vhost;
}

/** The vhosts a listing shows to the user (every one for monitoring and administrator users). */
export function visibleVhosts(c: Context<HttpEnv>, broker: Broker): Vhost[] {
  const user = c.get("user");
  return [...broker.vhosts.values()].filter((v) => canSeeVhost(broker, user, v.name, true));
}

/** Sorts a listing by name, as the management plugin's default sort does. */
export function byName<T extends object>(items: T[]): T[] {
  const name = (x: T) => String((x as { name?: unknown }).name);
  return items.sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
}
