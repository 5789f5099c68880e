// /api/bindings[/{vhost}], /api/bindings/{vhost}/e/{source}/{q|e}/{destination}[/{props}]
import type { Context, Hono } from "hono";
import type { AmqpBroker } from "../../connection/channel.ts";
import type { Destination } from "../../broker/exchange.ts";
import type { Vhost } from "../../broker/vhost.ts";
import { type HttpEnv, requirePermission } from "../auth.ts";
import { pathVhost, visibleVhosts } from "../context.ts";
import { committed } from "../commit.ts";
import { badRequest, HttpError, notFound } from "../errors.ts";
import { bindingsBetween, type BindingView, formatBinding, vhostBindings } from "../format.ts";
import { listInSlices } from "../json_slices.ts";
import { jsonToTable, readBody, stringField } from "../json.ts";
import { argsHash, locationSegment, parsePropertiesSegment, propertiesKey, PropertiesKeyError } from "../properties_key.ts";
import { exchangeNameFromPath } from "./exchanges.ts";

type Kind = "q" | "e";

interface BindingPath {
  vhost: Vhost;
  source: string;
  kind: Kind;
  destination: string;
}

function bindingPath(c: Context<HttpEnv>, broker: AmqpBroker, kind: Kind): BindingPath {
  const vhost = pathVhost(c, broker);
  return { vhost, source: exchangeNameFromPath(c.req.param("source")!), kind, destination: c.req.param("destination")! };
}

/** The bindings between source and destination in the path (none when either is missing). */
function between(p: BindingPath): BindingView[] {
  const { source, destination } = endpoints(p);
  if (!source || !destination) return [];
  return bindingsBetween(p.vhost, source, destination);
}

function endpoints(p: BindingPath) {
  const source = p.vhost.exchanges.get(p.source);
  const destination: Destination | undefined = p.kind === "q" ? p.vhost.queues.get(p.destination) : p.vhost.exchanges.get(p.destination);
  return { source, destination };
}

export function bindingRoutes(app: Hono<HttpEnv>, broker: AmqpBroker): void {
  const list = async (c: Context<HttpEnv>, vhosts: Vhost[]) => listInSlices(c, vhosts.flatMap(vhostBindings), formatBinding);
  app.get("/api/bindings", (c) => list(c, visibleVhosts(c, broker)));
  app.get("/api/bindings/:vhost", (c) => list(c, [pathVhost(c, broker)]));
  for (const kind of ["q", "e"] as const) {
    const base = `/api/bindings/:vhost/e/:source/${kind}/:destination`;
    app.get(base, (c) => {
      const p = bindingPath(c, broker, kind);
      const { source, destination } = endpoints(p);
      if (!source || !destination) throw notFound();
      return c.json(between(p).map(formatBinding));
    });
    app.post(base, async (c) => {
      const p = bindingPath(c, broker, kind);
      const body = await readBody(c.req.raw);
      const routingKey = stringField(body, "routing_key", "");
      const args = jsonToTable(body.arguments);
      const { source, destination } = endpoints(p);
      if (p.source === "") throw new HttpError(401, "not_authorised", "Access refused.");
      if (!source) throw new HttpError(404, "not_found", `no exchange '${p.source}' in vhost '${p.vhost.name}'`);
      if (!destination) {
        throw new HttpError(404, "not_found", `no ${kind === "q" ? "queue" : "exchange"} '${p.destination}' in vhost '${p.vhost.name}'`);
      }
      const user = c.get("user");
      requirePermission(broker, user, p.vhost.name, kind === "q" ? "queue" : "exchange", p.destination, "write");
      requirePermission(broker, user, p.vhost.name, "exchange", p.source, "read");
      if (kind === "q") p.vhost.checkExclusiveAccess(destination as never, broker);
      p.vhost.bind(source, destination, routingKey, args);
      await committed(broker);
      // Relative to the request path, as rabbit_web_dispatch_util:relativise makes it; each
      // segment percent-encoded as rabbit_mgmt_format:url does (the properties key again).
      const location = `${locationSegment(p.destination)}/${locationSegment(propertiesKey(routingKey, args))}`;
      return c.body(null, 201, { location });
    });
    app.get(`${base}/:props`, (c) => c.json(formatBinding(findBinding(c, broker, kind))));
    app.delete(`${base}/:props`, async (c) => {
      const b = findBinding(c, broker, kind);
      const p = bindingPath(c, broker, kind);
      const { source, destination } = endpoints(p);
      const user = c.get("user");
      requirePermission(broker, user, p.vhost.name, kind === "q" ? "queue" : "exchange", p.destination, "write");
      requirePermission(broker, user, p.vhost.name, "exchange", p.source, "read");
      p.vhost.unbind(source!, destination!, b.routingKey, b.args);
      await committed(broker);
      return c.body(null, 204);
    });
  }
}

/** The binding a properties key names (rabbit_mgmt_wm_binding: key, or key~hash of the arguments). */
function findBinding(c: Context<HttpEnv>, broker: AmqpBroker, kind: Kind): BindingView {
  const p = bindingPath(c, broker, kind);
  const { source, destination } = endpoints(p);
  if (!source || !destination) throw notFound();
  let props;
  try {
    props = parsePropertiesSegment(new URL(c.req.url).pathname.split("/").pop() ?? "");
  } catch (err) {
    if (err instanceof PropertiesKeyError) throw badRequest(err.message);
    throw err;
  }
  if (props === undefined) throw notFound();
  const { key, hash } = props;
  const found = between(p).find((b) =>
    b.routingKey === key && (hash === undefined ? Object.keys(b.args).length === 0 : argsHash(b.args) === hash)
  );
  if (!found) throw notFound();
  return found;
}
