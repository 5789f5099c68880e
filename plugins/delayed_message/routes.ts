// The management API for held messages, under the exchange's path (Warren's own; RabbitMQ's
// plugin has none): list in due order with paging (read permission on the exchange), delete one
// or purge all (configure permission).
//   GET    /api/exchanges/{vhost}/{name}/delayed?page=1&page_size=100
//   DELETE /api/exchanges/{vhost}/{name}/delayed/{id}
//   DELETE /api/exchanges/{vhost}/{name}/delayed
import type { Context } from "hono";
import type { Broker } from "../../src/broker/broker.ts";
import type { Exchange } from "../../src/broker/exchange.ts";
import type { AmqpBroker } from "../../src/connection/channel.ts";
import { type HttpEnv, requirePermission } from "../../src/http/auth.ts";
import { pathVhost } from "../../src/http/context.ts";
import { badRequest, notFound } from "../../src/http/errors.ts";
import { propertiesToJson } from "../../src/http/publish.ts";
import type { PluginRoutes } from "../../src/plugins/api.ts";
import type { HeldMessage } from "./held_message.ts";
import { DELAYED_TYPE, type HeldMessages } from "./held_messages.ts";

/** Bytes of the body shown in a listing. */
export const PREVIEW_BYTES = 256;
const PATH = "/api/exchanges/:vhost/:name/delayed";

export function delayedRoutes(routes: PluginRoutes, core: Broker, held: () => HeldMessages): void {
  // The management API's helpers take the AMQP view of the broker; they read users and vhosts only.
  const broker = core as unknown as AmqpBroker;
  const delayedExchange = (c: Context<HttpEnv>, permission: "read" | "configure"): Exchange => {
    const vhost = pathVhost(c, broker);
    const name = c.req.param("name") ?? "";
    const exchange = vhost.exchanges.get(name === "amq.default" ? "" : name);
    if (!exchange) throw notFound();
    requirePermission(broker, c.get("user"), vhost.name, "exchange", exchange.name, permission);
    if (exchange.type !== DELAYED_TYPE) throw badRequest(`${exchange.describe()} is not of type ${DELAYED_TYPE}`);
    return exchange;
  };

  routes.get(PATH, (c) => {
    const exchange = delayedExchange(c, "read");
    const page = integer(c.req.query("page") ?? "1", "page", 1, Number.MAX_SAFE_INTEGER);
    const pageSize = integer(c.req.query("page_size") ?? "100", "page_size", 1, 500);
    const total = held().count(exchange.vhost, exchange.name);
    const items = held().page(exchange.vhost, exchange.name, (page - 1) * pageSize, pageSize).map(heldJson);
    return c.json({
      filtered_count: total,
      item_count: items.length,
      items,
      page,
      page_count: Math.max(1, Math.ceil(total / pageSize)),
      page_size: pageSize,
      total_count: total,
    });
  });
  routes.delete(`${PATH}/:id`, (c) => {
    const exchange = delayedExchange(c, "configure");
    const id = Number(c.req.param("id"));
    if (!Number.isSafeInteger(id) || !held().delete(exchange.vhost, exchange.name, id)) throw notFound();
    return afterCommit(core, () => c.body(null, 204));
  });
  routes.delete(PATH, async (c) => {
    const exchange = delayedExchange(c, "configure");
    const purged = await held().purge(exchange.vhost, exchange.name);
    return afterCommit(core, () => c.json({ purged }));
  });
}

function integer(text: string, what: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw badRequest(`${what} must be an integer from ${min} to ${max}`);
  return n;
}

/** Answers once the change is durable. */
function afterCommit(broker: Broker, answer: () => Response): Promise<Response> | Response {
  const store = broker.store;
  if (!store) return answer();
  return new Promise((resolve) => store.afterCommit(() => resolve(answer())));
}

export function heldJson(m: HeldMessage): Record<string, unknown> {
  const preview = m.body.subarray(0, PREVIEW_BYTES);
  const text = new TextDecoder("utf-8", { fatal: false }).decode(preview);
  // The control characters are what this looks for (C0 except tab, LF, VT, FF, CR): deliberate.
  // deno-lint-ignore no-control-regex
  const printable = !text.includes("\uFFFD") && !/[\u0000-\u0008\u000E-\u001F]/.test(text);
  return {
    id: m.id,
    due: new Date(m.due).toISOString(),
    due_timestamp: m.due,
    delay: m.delay,
    published_at: new Date(m.publishedAt).toISOString(),
    routing_key: m.routingKey,
    properties: propertiesToJson(m.properties),
    payload_bytes: m.body.length,
    payload: printable ? text : Buffer.from(preview).toString("base64"),
    payload_encoding: printable ? "string" : "base64",
    payload_truncated: m.body.length > PREVIEW_BYTES,
    stored: m.durable ? "disk" : "memory",
  };
}
