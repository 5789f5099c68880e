// /api/users[/{user}[/permissions|/topic-permissions]], /api/permissions[/{vhost}/{user}],
// /api/topic-permissions[/{vhost}/{user}[/{exchange}]] (administrators only), on the AmqpBroker management API
// (src/broker/management.ts): changes are stored and reach open connections at once.
import type { Context, Hono } from "hono";
import type { AmqpBroker } from "../../connection/channel.ts";
import type { User } from "../../auth/users.ts";
import { type HttpEnv, requireAdmin } from "../auth.ts";
import { badRequest, notFound } from "../errors.ts";
import { type JsonObject, readBody } from "../json.ts";
import { listPermissions, listUsers, type PermissionEntry } from "../../broker/users_view.ts";

type RouteHandler = (c: Context<HttpEnv>) => Response | Promise<Response>;

export function formatUser(user: User): JsonObject {
  return {
    name: user.name,
    password_hash: user.passwordHash,
    hashing_algorithm: user.hashingAlgorithm,
    tags: user.tags,
    limits: { ...user.limits },
  };
}

export function formatPermission(p: PermissionEntry): JsonObject {
  return { user: p.user, vhost: p.vhost, configure: p.configure, write: p.write, read: p.read };
}

/** RabbitMQ takes tags as "a,b" or ["a","b"]. */
function tagsOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === "string") return value.split(",").map((t) => t.trim()).filter((t) => t !== "");
  return [];
}

function stringField(body: JsonObject, key: string): string {
  const value = body[key];
  if (typeof value !== "string") throw badRequest(`${key} must be a string`);
  return value;
}

export function userRoutes(app: Hono<HttpEnv>, broker: AmqpBroker): void {
  const existingUser = (name: string) => {
    const user = broker.users.get(name);
    if (!user) throw notFound();
    return user;
  };
  const existingPair = (vhost: string, user: string) => {
    if (!broker.vhosts.has(vhost) || !broker.users.get(user)) throw notFound();
  };
  const done = (c: { body: (b: null, s: 201 | 204) => Response }, created: boolean) => {
    broker.store?.commit();
    return c.body(null, created ? 201 : 204);
  };

  app.get("/api/users", (c) => {
    requireAdmin(c);
    return c.json(listUsers(broker.users).map(formatUser));
  });
  app.get("/api/users/:user", (c) => {
    requireAdmin(c);
    return c.json(formatUser(existingUser(c.req.param("user"))));
  });
  // As rabbit_mgmt_wm_user: a password, or a password_hash (empty: no password login), and tags.
  app.put("/api/users/:user", async (c) => {
    requireAdmin(c);
    const name = c.req.param("user");
    const body = await readBody(c.req.raw);
    const existing = broker.users.get(name);
    const tags = body.tags === undefined && existing ? existing.tags : tagsOf(body.tags);
    if (typeof body.password === "string") broker.addUser(name, body.password, tags);
    else if (typeof body.password_hash === "string") {
      const algorithm = typeof body.hashing_algorithm === "string" ? body.hashing_algorithm : "rabbit_password_hashing_sha256";
      broker.addUserWithHash(name, body.password_hash, algorithm, tags);
    } else if (existing) broker.setUserTags(name, tags);
    else throw badRequest("Must specify 'password' or 'password_hash' key");
    return done(c, !existing);
  });
  app.delete("/api/users/:user", (c) => {
    requireAdmin(c);
    const name = c.req.param("user");
    existingUser(name);
    broker.deleteUser(name);
    return done(c, false);
  });
  app.get("/api/users/:user/permissions", (c) => {
    requireAdmin(c);
    const name = c.req.param("user");
    existingUser(name);
    return c.json(listPermissions(broker.users).filter((p) => p.user === name).map(formatPermission));
  });
  app.get("/api/users/:user/topic-permissions", (c) => {
    requireAdmin(c);
    const name = c.req.param("user");
    existingUser(name);
    return c.json(broker.listTopicPermissions({ user: name }));
  });

  app.get("/api/permissions", (c) => {
    requireAdmin(c);
    return c.json(listPermissions(broker.users).map(formatPermission));
  });
  app.get("/api/permissions/:vhost/:user", (c) => {
    requireAdmin(c);
    const [vhost, user] = [c.req.param("vhost"), c.req.param("user")];
    existingPair(vhost, user);
    const p = broker.users.permission(user, vhost);
    if (!p) throw notFound();
    return c.json({ user, vhost, configure: p.configure, write: p.write, read: p.read });
  });
  app.put("/api/permissions/:vhost/:user", async (c) => {
    requireAdmin(c);
    const [vhost, user] = [c.req.param("vhost"), c.req.param("user")];
    existingPair(vhost, user);
    const body = await readBody(c.req.raw);
    const existed = broker.users.permission(user, vhost) !== undefined;
    broker.setPermissions(user, vhost, {
      configure: stringField(body, "configure"),
      write: stringField(body, "write"),
      read: stringField(body, "read"),
    });
    return done(c, !existed);
  });
  app.delete("/api/permissions/:vhost/:user", (c) => {
    requireAdmin(c);
    const [vhost, user] = [c.req.param("vhost"), c.req.param("user")];
    existingPair(vhost, user);
    if (broker.users.permission(user, vhost) === undefined) throw notFound();
    broker.clearPermissions(user, vhost);
    return done(c, false);
  });

  app.get("/api/topic-permissions", (c) => {
    requireAdmin(c);
    return c.json(broker.listTopicPermissions());
  });
  // …/{vhost}/{user}/{exchange} is the same resource (rabbit_mgmt_wm_topic_permissions_user):
  // GET lists and PUT sets as without it; DELETE clears only that exchange's entry, as
  // rabbit-hole's DeleteTopicPermissionsIn sends it.
  const getTopic: RouteHandler = (c) => {
    requireAdmin(c);
    const [vhost, user] = [c.req.param("vhost")!, c.req.param("user")!];
    existingPair(vhost, user);
    const list = broker.listTopicPermissions({ user, vhost });
    if (list.length === 0) throw notFound();
    return c.json(list);
  };
  const putTopic: RouteHandler = async (c) => {
    requireAdmin(c);
    const [vhost, user] = [c.req.param("vhost")!, c.req.param("user")!];
    existingPair(vhost, user);
    const body = await readBody(c.req.raw);
    const exchange = stringField(body, "exchange");
    // The resource is the user's topic permissions in the vhost: 201 only for the first entry.
    const existed = broker.listTopicPermissions({ user, vhost }).length > 0;
    broker.setTopicPermissions(user, vhost, exchange, stringField(body, "write"), stringField(body, "read"));
    return done(c, !existed);
  };
  const deleteTopic: RouteHandler = (c) => {
    requireAdmin(c);
    const [vhost, user] = [c.req.param("vhost")!, c.req.param("user")!];
    existingPair(vhost, user);
    // The exchange in the path, or ?exchange=X (a Warren addition, for `warren ctl
    // clear_topic_permissions <user> <exchange>`): just that one; 204 even when it has none.
    const exchange = c.req.param("exchange") ?? c.req.query("exchange");
    if (broker.listTopicPermissions({ user, vhost }).length === 0) throw notFound();
    if (exchange === undefined || broker.listTopicPermissions({ user, vhost }).some((p) => p.exchange === exchange)) {
      broker.clearTopicPermissions(user, vhost, exchange);
    }
    return done(c, false);
  };
  for (const path of ["/api/topic-permissions/:vhost/:user", "/api/topic-permissions/:vhost/:user/:exchange"]) {
    app.get(path, getTopic);
    app.put(path, putTopic);
    app.delete(path, deleteTopic);
  }
}
