// Basic authentication against broker.users and the management plugin's tag rules
// (rabbit_mgmt_util is_authorized*): any of administrator, monitoring, policymaker or
// management may use the API; vhost-scoped resources need a permission entry in that vhost
// (monitoring and administrator users see every vhost in listings).
import type { Context, MiddlewareHandler } from "hono";
import type { Permission, User } from "../auth/users.ts";
import type { AmqpBroker } from "../connection/channel.ts";
import { HttpError, notAuthorised } from "./errors.ts";
import type { HttpPeer } from "../runtime/http.ts";
import { isLoopbackAddress } from "../connection/addresses.ts";

/** `Bindings` is what the listener passes (absent under app.request() in tests). */
/** `listParamsApplied`: the route applied sort and columns itself (json_slices.ts); the middleware leaves the answer. */
export type HttpEnv = { Variables: { user: User; listParamsApplied: boolean }; Bindings: Partial<HttpPeer> };

const MANAGEMENT_TAGS = ["administrator", "monitoring", "policymaker", "management"];

export function basicAuth(broker: AmqpBroker): MiddlewareHandler<HttpEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Basic\s+(.+)$/i.exec(header);
    // A script (the web console) that says so gets no WWW-Authenticate, which would make the
    // browser open its own login dialog over the page.
    const challenge = c.req.header("x-requested-with") === "XMLHttpRequest" ? refuse : refuseWithChallenge;
    if (!match) return challenge(null);
    const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    const name = colon < 0 ? decoded : decoded.slice(0, colon);
    const password = colon < 0 ? "" : decoded.slice(colon + 1);
    const result = broker.users.login(name, password);
    if (!result.ok) return challenge({ error: "not_authorized", reason: "Login failed" });
    // loopback_users (guest by default) apply to the management API too, as in RabbitMQ.
    const remote = c.env?.remoteAddress;
    if (remote !== undefined && broker.options.loopbackUsers.includes(name) && !isLoopbackAddress(remote)) {
      return challenge({ error: "not_authorised", reason: "User can only log in via localhost" });
    }
    if (!result.user.tags.some((t) => MANAGEMENT_TAGS.includes(t))) {
      return challenge({ error: "not_authorised", reason: "Not management user" });
    }
    c.set("user", result.user);
    await next();
  };
}

/** 401 with the realm RabbitMQ announces (an empty body when no credentials came at all). */
function refuseWithChallenge(body: { error: string; reason: string } | null): Response {
  return refuse(body, { "www-authenticate": 'Basic realm="RabbitMQ Management"' });
}

function refuse(body: { error: string; reason: string } | null, headers: Record<string, string> = {}): Response {
  if (!body) return new Response(null, { status: 401, headers });
  headers["content-type"] = "application/json";
  return new Response(JSON.stringify(body), { status: 401, headers });
}

export const isAdmin = (user: User) => user.tags.includes("administrator");
export const isMonitor = (user: User) => isAdmin(user) || user.tags.includes("monitoring");

export function requireAdmin(c: Context<HttpEnv>): User {
  const user = c.get("user");
  if (!isAdmin(user)) throw notAuthorised("Not administrator user");
  return user;
}

export function requireMonitor(c: Context<HttpEnv>): User {
  const user = c.get("user");
  if (!isMonitor(user)) throw notAuthorised("Not monitor user");
  return user;
}

/** is_authorized_policies: policies and runtime parameters need policymaker (or administrator). */
export function requirePolicymaker(c: Context<HttpEnv>): User {
  const user = c.get("user");
  if (!user.tags.includes("policymaker") && !isAdmin(user)) throw notAuthorised("Not policymaker user");
  return user;
}

/** Whether the user may see the vhost at all (a permission entry, or a monitoring/admin tag in listings). */
export function canSeeVhost(broker: AmqpBroker, user: User, vhost: string, listing: boolean): boolean {
  if (listing && isMonitor(user)) return true;
  return broker.users.permission(user.name, vhost) !== undefined;
}

/** is_authorized_vhost: the user has a permission entry in this (existing) vhost. */
export function requireVhostAccess(broker: AmqpBroker, user: User, vhost: string): void {
  if (broker.vhosts.has(vhost) && broker.users.permission(user.name, vhost) === undefined && !isAdmin(user)) {
    throw notAuthorised("User not authorised to access virtual host");
  }
}

/** An AMQP-style resource permission (configure/write/read regexes) for an HTTP write. */
export function requirePermission(
  broker: AmqpBroker,
  user: User,
  vhost: string,
  kind: "queue" | "exchange",
  name: string,
  what: keyof Permission,
): void {
  const permission = broker.users.permission(user.name, vhost);
  const pattern = permission?.[what];
  if (pattern !== undefined && pattern !== "" && new RegExp(`^(?:${pattern})$`).test(name)) return;
  throw new HttpError(401, "not_authorised", `access to ${kind} '${name}' in vhost '${vhost}' refused for user '${user.name}'`);
}
