// /api/users[/{user}[/permissions]], /api/permissions[/{vhost}/{user}]: read-only views of
// broker.users (administrators only). Creating, changing and deleting users and permissions
// belongs to the users/vhosts management work in src/auth; until it lands these answer 405.
import type { Hono } from "hono";
import type { Broker } from "../../broker/broker.ts";
import type { User } from "../../auth/users.ts";
import { requireAdmin, type HttpEnv } from "../auth.ts";
import { methodNotAllowed, notFound } from "../errors.ts";
import type { JsonObject } from "../json.ts";
import { listPermissions, listUsers, type PermissionEntry } from "../../broker/users_view.ts";

export function formatUser(user: User): JsonObject {
  return { name: user.name, password_hash: user.passwordHash, hashing_algorithm: user.hashingAlgorithm, tags: user.tags, limits: {} };
}

export function formatPermission(p: PermissionEntry): JsonObject {
  return { user: p.user, vhost: p.vhost, configure: p.configure, write: p.write, read: p.read };
}

export function userRoutes(app: Hono<HttpEnv>, broker: Broker): void {
  const readOnly = () => {
    throw methodNotAllowed("user and permission changes through the HTTP API are not available yet");
  };
  app.get("/api/users", (c) => {
    requireAdmin(c);
    return c.json(listUsers(broker.users).map(formatUser));
  });
  app.get("/api/users/:user", (c) => {
    requireAdmin(c);
    const user = broker.users.get(c.req.param("user"));
    if (!user) throw notFound();
    return c.json(formatUser(user));
  });
  app.on(["PUT", "DELETE"], "/api/users/:user", readOnly);
  app.get("/api/users/:user/permissions", (c) => {
    requireAdmin(c);
    const name = c.req.param("user");
    if (!broker.users.get(name)) throw notFound();
    return c.json(listPermissions(broker.users).filter((p) => p.user === name).map(formatPermission));
  });
  app.get("/api/permissions", (c) => {
    requireAdmin(c);
    return c.json(listPermissions(broker.users).map(formatPermission));
  });
  app.get("/api/permissions/:vhost/:user", (c) => {
    requireAdmin(c);
    const vhost = c.req.param("vhost");
    const user = c.req.param("user");
    if (!broker.vhosts.has(vhost) || !broker.users.get(user)) throw notFound();
    const p = broker.users.permission(user, vhost);
    if (!p) throw notFound();
    return c.json({ user, vhost, configure: p.configure, write: p.write, read: p.read });
  });
  app.on(["PUT", "DELETE"], "/api/permissions/:vhost/:user", readOnly);
  // Warren has no topic permissions yet: there are none to list.
  app.get("/api/topic-permissions", (c) => {
    requireAdmin(c);
    return c.json([]);
  });
}
