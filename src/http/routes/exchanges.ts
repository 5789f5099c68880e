// /api/exchanges[/{vhost}[/{name}]] GET/PUT/DELETE, …/publish, …/bindings/source|destination
import type { Context, Hono } from "hono";
import type { AmqpBroker } from "../../connection/channel.ts";
import type { Exchange } from "../../broker/exchange.ts";
import { Message } from "../../broker/message.ts";
import type { Vhost } from "../../broker/vhost.ts";
import { type HttpEnv, requirePermission } from "../auth.ts";
import { pathVhost, visibleVhosts } from "../context.ts";
import { committed } from "../commit.ts";
import { badRequest, notFound } from "../errors.ts";
import { bindingsTo, exchangeBindings, formatBinding, formatExchange } from "../format.ts";
import { boolField, jsonToTable, readBody, stringField } from "../json.ts";
import { encodeJsonProperties, publishMessage } from "../publish.ts";
import { ratesFor } from "../rates.ts";
import { listInSlices } from "../json_slices.ts";

/** In paths the default exchange is "amq.default". */
export function exchangeNameFromPath(name: string): string {
  return name === "amq.default" ? "" : name;
}

function pathExchange(c: Context<HttpEnv>, broker: AmqpBroker): { vhost: Vhost; exchange: Exchange } {
  const vhost = pathVhost(c, broker);
  const exchange = vhost.exchanges.get(exchangeNameFromPath(c.req.param("name")!));
  if (!exchange) throw notFound();
  return { vhost, exchange };
}

export function exchangeRoutes(app: Hono<HttpEnv>, broker: AmqpBroker): void {
  const list = async (c: Context<HttpEnv>, vhosts: Vhost[]) => {
    const rates = ratesFor(broker);
    return listInSlices(c, vhosts.flatMap(sorted), (x) => formatExchange(x, rates));
  };
  app.get("/api/exchanges", (c) => list(c, visibleVhosts(c, broker)));
  app.get("/api/exchanges/:vhost", (c) => list(c, [pathVhost(c, broker)]));
  app.get("/api/exchanges/:vhost/:name", (c) => {
    const { exchange } = pathExchange(c, broker);
    return c.json({ ...formatExchange(exchange, ratesFor(broker)), incoming: [], outgoing: [] });
  });
  app.put("/api/exchanges/:vhost/:name", async (c) => {
    const vhost = pathVhost(c, broker);
    const name = exchangeNameFromPath(c.req.param("name"));
    requirePermission(broker, c.get("user"), vhost.name, "exchange", name, "configure");
    const body = await readBody(c.req.raw);
    const existed = vhost.exchanges.has(name);
    vhost.declareExchange(
      name,
      stringField(body, "type", "direct"),
      boolField(body, "durable", false),
      boolField(body, "auto_delete", false),
      boolField(body, "internal", false),
      jsonToTable(body.arguments),
    );
    await committed(broker);
    return c.body(null, existed ? 204 : 201);
  });
  app.delete("/api/exchanges/:vhost/:name", async (c) => {
    const { vhost, exchange } = pathExchange(c, broker);
    requirePermission(broker, c.get("user"), vhost.name, "exchange", exchange.name, "configure");
    vhost.deleteExchange(exchange.name, c.req.query("if-unused") === "true");
    await committed(broker);
    return c.body(null, 204);
  });
  app.post("/api/exchanges/:vhost/:name/publish", async (c) => {
    const vhost = pathVhost(c, broker);
    const name = exchangeNameFromPath(c.req.param("name"));
    requirePermission(broker, c.get("user"), vhost.name, "exchange", name, "write");
    const body = await readBody(c.req.raw);
    const missing = ["routing_key", "properties", "payload", "payload_encoding"].filter((k) => body[k] === undefined);
    if (missing.length > 0) throw badRequest(`[${missing.map((k) => `{key_missing,${k}}`).join(",")}]`);
    const exchange = vhost.exchanges.get(name);
    if (!exchange) throw badRequest(`404 NOT_FOUND - no exchange '${name}' in vhost '${vhost.name}'`);
    if (exchange.internal) throw badRequest(`403 ACCESS_REFUSED - cannot publish to internal ${exchange.describe()}`);
    const payload = stringField(body, "payload", "");
    const encoding = stringField(body, "payload_encoding", "string");
    if (encoding !== "string" && encoding !== "base64") throw badRequest(`payload_encoding must be "string" or "base64"`);
    const bytes = encoding === "base64" ? Buffer.from(payload, "base64") : Buffer.from(payload, "utf8");
    const message = new Message(name, stringField(body, "routing_key", ""), encodeJsonProperties(body.properties), new Uint8Array(bytes));
    // As basic.publish: a user_id must name the authenticated user unless it may impersonate.
    const user = c.get("user");
    const claimed = message.props.userId;
    if (claimed !== undefined && claimed !== user.name && !user.tags.includes("impersonator")) {
      throw badRequest(`user_id property set to '${claimed}' but authenticated user was '${user.name}'`);
    }
    const routed = publishMessage(broker, vhost, exchange, message);
    await committed(broker);
    return c.json({ routed });
  });
  app.get("/api/exchanges/:vhost/:name/bindings/source", (c) => {
    const { exchange } = pathExchange(c, broker);
    return c.json(exchangeBindings(exchange).map(formatBinding));
  });
  app.get("/api/exchanges/:vhost/:name/bindings/destination", (c) => {
    const { vhost, exchange } = pathExchange(c, broker);
    return c.json(bindingsTo(vhost, exchange).map(formatBinding));
  });
}

function sorted(vhost: Vhost): Exchange[] {
  return [...vhost.exchanges.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
