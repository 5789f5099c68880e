// /api/parameters[/{component}[/{vhost}[/{name}]]], /api/global-parameters[/{name}],
// /api/vhost-limits[/{vhost}[/{name}]], /api/user-limits[/{user}[/{name}]] and PUT
// /api/cluster-name, on AmqpBroker.parameters, AmqpBroker.globalParameters and the limits in
// src/broker/management.ts. Access as rabbit_mgmt_wm_*: parameters need policymaker, global
// parameters and limit writes administrator.
import type { Context, Hono } from "hono";
import { ManagementError } from "../../broker/management.ts";
import type { AmqpBroker } from "../../connection/channel.ts";
import type { Json } from "../../broker/json_table.ts";
import type { RuntimeParameter } from "../../broker/parameters.ts";
import type { Vhost } from "../../broker/vhost.ts";
import { type HttpEnv, requireAdmin, requirePolicymaker } from "../auth.ts";
import { byName, pathVhost, visibleVhosts } from "../context.ts";
import { badRequest, notFound } from "../errors.ts";
import { type JsonObject, readBody } from "../json.ts";
import { listUsers } from "../../broker/users_view.ts";

/** The body's "value" (RabbitMQ: `[{key_missing,value}]` without one). */
async function bodyValue(c: Context<HttpEnv>): Promise<Json> {
  const body = await readBody(c.req.raw);
  if (!("value" in body)) throw badRequest("[{key_missing,value}]");
  return body.value as Json;
}

/** Runs a change that validates: a refusal reads "Validation failed…", as rabbit_runtime_parameters words it. */
function validated(change: () => void): void {
  try {
    change();
  } catch (err) {
    if (err instanceof ManagementError && err.kind === "invalid") throw badRequest(`Validation failed\n\n${err.message}\n`);
    throw err;
  }
}

const parameterJson = (p: RuntimeParameter): JsonObject => ({ value: p.value, vhost: p.vhost, component: p.component, name: p.name });

export function parameterRoutes(app: Hono<HttpEnv>, broker: AmqpBroker): void {
  const params = broker.parameters;
  const listIn = (vhosts: Vhost[], component?: string) =>
    vhosts.flatMap((vhost) => params.list({ vhost, ...(component !== undefined ? { component } : {}) })).map(parameterJson);

  app.get("/api/parameters", (c) => {
    requirePolicymaker(c);
    return c.json(listIn(visibleVhosts(c, broker)));
  });
  app.get("/api/parameters/:component", (c) => {
    requirePolicymaker(c);
    return c.json(listIn(visibleVhosts(c, broker), c.req.param("component")));
  });
  app.get("/api/parameters/:component/:vhost", (c) => {
    requirePolicymaker(c);
    return c.json(byName(listIn([pathVhost(c, broker)], c.req.param("component"))));
  });
  app.get("/api/parameters/:component/:vhost/:name", (c) => {
    requirePolicymaker(c);
    const found = listIn([pathVhost(c, broker)], c.req.param("component")).find((p) => p.name === c.req.param("name"));
    if (!found) throw notFound();
    return c.json(found);
  });
  app.put("/api/parameters/:component/:vhost/:name", async (c) => {
    requirePolicymaker(c);
    const vhost = pathVhost(c, broker);
    const { component, name } = c.req.param();
    const value = await bodyValue(c);
    const existed = params.has(component) && params.list({ vhost, component }).some((p) => p.name === name);
    validated(() => params.set(vhost, component, name, value));
    broker.store?.commit();
    return c.body(null, existed ? 204 : 201);
  });
  app.delete("/api/parameters/:component/:vhost/:name", (c) => {
    requirePolicymaker(c);
    const vhost = pathVhost(c, broker);
    const { component, name } = c.req.param();
    if (!params.has(component) || !params.clear(vhost, component, name)) throw notFound();
    broker.store?.commit();
    return c.body(null, 204);
  });

  // ---------------------------------------------------------------- global parameters
  const globals = broker.globalParameters;
  app.get("/api/global-parameters", (c) => {
    requireAdmin(c);
    return c.json(globals.list());
  });
  app.get("/api/global-parameters/:name", (c) => {
    requireAdmin(c);
    const name = c.req.param("name");
    const value = globals.get(name);
    if (value === undefined) throw notFound();
    return c.json({ value, name });
  });
  app.put("/api/global-parameters/:name", async (c) => {
    requireAdmin(c);
    const name = c.req.param("name");
    const value = await bodyValue(c);
    const existed = globals.get(name) !== undefined;
    globals.set(name, value);
    broker.store?.commit();
    return c.body(null, existed ? 204 : 201);
  });
  app.delete("/api/global-parameters/:name", (c) => {
    requireAdmin(c);
    if (!globals.clear(c.req.param("name"))) throw notFound();
    broker.store?.commit();
    return c.body(null, 204);
  });
  app.put("/api/cluster-name", async (c) => {
    requireAdmin(c);
    const body = await readBody(c.req.raw);
    if (!("name" in body)) throw badRequest("[{key_missing,name}]");
    // RabbitMQ takes any string, the empty one too (a non-string crashes it into a 500).
    if (typeof body.name !== "string") throw badRequest(`name must be a string, got ${JSON.stringify(body.name)}`);
    globals.set("cluster_name", body.name);
    broker.store?.commit();
    return c.body(null, 204);
  });

  // ---------------------------------------------------------------- vhost and user limits
  // The vhost-limits component's parameter, shaped as /api/vhost-limits shows it.
  const vhostLimits = (vhost: Vhost) => params.list({ vhost, component: "vhost-limits" }).map((p) => ({ vhost: p.vhost, value: p.value }));
  app.get("/api/vhost-limits", (c) => c.json(visibleVhosts(c, broker).flatMap(vhostLimits)));
  app.get("/api/vhost-limits/:vhost", (c) => c.json(vhostLimits(pathVhost(c, broker))));
  app.put("/api/vhost-limits/:vhost/:name", async (c) => {
    requireAdmin(c);
    const vhost = pathVhost(c, broker);
    const value = await bodyValue(c);
    validated(() => broker.setVhostLimits(vhost.name, { ...vhost.limits, [c.req.param("name")]: value } as Record<string, number>));
    broker.store?.commit();
    return c.body(null, 204);
  });
  app.delete("/api/vhost-limits/:vhost/:name", (c) => {
    requireAdmin(c);
    const vhost = pathVhost(c, broker);
    const { [c.req.param("name")]: _removed, ...rest } = vhost.limits as Record<string, number>;
    broker.setVhostLimits(vhost.name, rest);
    broker.store?.commit();
    return c.body(null, 204);
  });

  const userLimits = (name: string) => {
    const user = broker.users.get(name);
    return user && Object.keys(user.limits).length > 0 ? [{ user: name, value: { ...user.limits } }] : [];
  };
  app.get("/api/user-limits", (c) => {
    requireAdmin(c);
    return c.json(listUsers(broker.users).flatMap((u) => userLimits(u.name)));
  });
  app.get("/api/user-limits/:user", (c) => {
    requireAdmin(c);
    if (!broker.users.get(c.req.param("user"))) throw notFound();
    return c.json(userLimits(c.req.param("user")));
  });
  app.put("/api/user-limits/:user/:name", async (c) => {
    requireAdmin(c);
    const user = broker.users.get(c.req.param("user"));
    if (!user) throw badRequest(["no_such_user", c.req.param("user")]);
    const value = await bodyValue(c);
    broker.setUserLimits(user.name, { ...user.limits, [c.req.param("name")]: value } as Record<string, number>);
    broker.store?.commit();
    return c.body(null, 204);
  });
  app.delete("/api/user-limits/:user/:name", (c) => {
    requireAdmin(c);
    const user = broker.users.get(c.req.param("user"));
    if (!user) throw notFound();
    const { [c.req.param("name")]: _removed, ...rest } = user.limits as Record<string, number>;
    broker.setUserLimits(user.name, rest);
    broker.store?.commit();
    return c.body(null, 204);
  });
}
