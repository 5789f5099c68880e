// Helpers the route modules share (path vhost, visible vhosts, sorting). app.ts only assembles
// the routes; the routes import from here, never from app.ts.
import type { Context } from "hono";
import type { AmqpBroker } from "../connection/channel.ts";
import type { Vhost } from "../broker/vhost.ts";
import { canSeeVhost, type HttpEnv, requireVhostAccess } from "./auth.ts";
import { notFound } from "./errors.ts";

/** The vhost named in the path (`%2F` for "/"): 404 when missing, 401 without access. */
export function pathVhost(c: Context<HttpEnv>, broker: AmqpBroker, param = "vhost"): Vhost {
  const name = c.req.param(param);
  const vhost = name === undefined ? undefined : broker.vhosts.get(name);
  if (!vhost) throw notFound();
  requireVhostAccess(broker, c.get("user"), vhost.name);
  return vhost;
}

/** The vhosts a listing shows to the user (every one for monitoring and administrator users). */
export function visibleVhosts(c: Context<HttpEnv>, broker: AmqpBroker): Vhost[] {
  const user = c.get("user");
  return [...broker.vhosts.values()].filter((v) => canSeeVhost(broker, user, v.name, true));
}

/** Sorts a listing by name, as the management plugin's default sort does. */
export function byName<T extends object>(items: T[]): T[] {
  const name = (x: T) => String((x as { name?: unknown }).name);
  return items.sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
}
