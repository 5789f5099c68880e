// /api/queues[/{vhost}[/{name}]] GET/PUT/DELETE, …/contents DELETE, …/get POST, …/bindings GET, …/actions POST
import type { Context, Hono } from "hono";
import type { AmqpBroker } from "../../connection/channel.ts";
import type { Queue } from "../../broker/queue.ts";
import type { Vhost } from "../../broker/vhost.ts";
import type { QueueEntry } from "../../broker/queue_entry.ts";
import { preconditionFailed } from "../../amqp/errors.ts";
import { type HttpEnv, requireAdmin, requirePermission } from "../auth.ts";
import { byName, pathVhost, visibleVhosts } from "../context.ts";
import { committed } from "../commit.ts";
import { badRequest, notFound } from "../errors.ts";
import { bindingsTo, formatBinding, formatQueue, queueDetails } from "../format.ts";
import { boolField, type JsonObject, jsonToTable, readBody, stringField } from "../json.ts";
import { propertiesToJson } from "../publish.ts";
import { ratesFor } from "../rates.ts";
import { addQueueSamples, requestedRanges } from "../samples.ts";
import { unackedByQueue } from "../unacked.ts";
import { pageBeforeFormat } from "../list_params.ts";
import { listInSlices } from "../json_slices.ts";

const ACK_MODES = ["ack_requeue_true", "ack_requeue_false", "reject_requeue_true", "reject_requeue_false"];

function pathQueue(c: Context<HttpEnv>, broker: AmqpBroker): { vhost: Vhost; queue: Queue } {
  const vhost = pathVhost(c, broker);
  const queue = vhost.queues.get(c.req.param("name")!);
  if (!queue) throw notFound();
  return { vhost, queue };
}

export function queueRoutes(app: Hono<HttpEnv>, broker: AmqpBroker): void {
  const list = async (c: Context<HttpEnv>, vhosts: () => Vhost[]) => {
    const rates = ratesFor(broker);
    const ranges = requestedRanges((name) => c.req.query(name), rates);
    const unacked = unackedByQueue(broker);
    const format = (q: Queue) => {
      const json = formatQueue(broker, q, unacked.get(q), rates);
      return ranges ? addQueueSamples(json, rates.points(q), ranges) : json;
    };
    const queues = vhosts().flatMap((v) => byName([...v.queues.values()]));
    // A page sorted by name or vhost (the console's default) formats only its own queues.
    const page = pageBeforeFormat(queues, c.req.query(), (q) => q.name, { name: (q) => q.name, vhost: (q) => q.vhost });
    if (page) return c.json({ ...page, items: page.items.map(format) });
    return listInSlices(c, queues, format);
  };
  app.get("/api/queues", (c) => list(c, () => visibleVhosts(c, broker)));
  app.get("/api/queues/:vhost", (c) => list(c, () => [pathVhost(c, broker)]));
  app.get("/api/queues/:vhost/:name", (c) => {
    const { queue } = pathQueue(c, broker);
    const rates = ratesFor(broker);
    const ranges = requestedRanges((name) => c.req.query(name), rates);
    const unacked = unackedByQueue(broker).get(queue);
    const json = { ...formatQueue(broker, queue, unacked, rates), ...queueDetails(broker, queue) };
    return c.json(ranges ? addQueueSamples(json, rates.points(queue), ranges) : json);
  });
  app.put("/api/queues/:vhost/:name", async (c) => {
    const vhost = pathVhost(c, broker);
    const name = c.req.param("name");
    requirePermission(broker, c.get("user"), vhost.name, "queue", name, "configure");
    const body = await readBody(c.req.raw);
    stringField(body, "node", ""); // accepted: there is one node
    const existed = vhost.queues.has(name);
    vhost.declareQueue(
      {
        name,
        durable: boolField(body, "durable", false),
        autoDelete: boolField(body, "auto_delete", false),
        exclusive: false,
        args: jsonToTable(body.arguments),
      },
      broker,
    );
    await committed(broker);
    return c.body(null, existed ? 204 : 201);
  });
  app.delete("/api/queues/:vhost/:name", async (c) => {
    const { vhost, queue } = pathQueue(c, broker);
    requirePermission(broker, c.get("user"), vhost.name, "queue", queue.name, "configure");
    vhost.checkExclusiveAccess(queue, broker);
    if (c.req.query("if-unused") === "true" && queue.consumerCount > 0) throw preconditionFailed(`${queue.describe()} in use`);
    if (c.req.query("if-empty") === "true" && queue.messageCount > 0) throw preconditionFailed(`${queue.describe()} not empty`);
    vhost.deleteQueue(queue);
    await committed(broker);
    return c.body(null, 204);
  });
  // rabbit_mgmt_wm_queue_actions: sync and cancel_sync of a classic mirrored queue, administrators
  // only. A single node has no mirrors, so there is nothing to sync: 204, as RabbitMQ answers
  // for a queue without unsynchronised mirrors (and for quorum queues).
  app.post("/api/queues/:vhost/:name/actions", async (c) => {
    requireAdmin(c);
    pathQueue(c, broker);
    const body = await readBody(c.req.raw);
    if (!("action" in body)) throw badRequest("[{key_missing,action}]");
    if (body.action !== "sync" && body.action !== "cancel_sync") throw badRequest(["unknown", body.action as string]);
    return c.body(null, 204);
  });
  app.delete("/api/queues/:vhost/:name/contents", async (c) => {
    const { vhost, queue } = pathQueue(c, broker);
    requirePermission(broker, c.get("user"), vhost.name, "queue", queue.name, "read");
    vhost.checkExclusiveAccess(queue, broker);
    queue.purge();
    await committed(broker);
    return c.body(null, 204);
  });
  app.post("/api/queues/:vhost/:name/get", async (c) => {
    const { vhost, queue } = pathQueue(c, broker);
    requirePermission(broker, c.get("user"), vhost.name, "queue", queue.name, "read");
    vhost.checkExclusiveAccess(queue, broker);
    const body = await readBody(c.req.raw);
    // rabbitmqadmin sends numbers as strings, which RabbitMQ accepts.
    const count = intField(body.count, 1, "count");
    const ackmode = stringField(body, "ackmode", "");
    if (!ACK_MODES.includes(ackmode)) throw badRequest(`ackmode must be one of ${ACK_MODES.join(", ")}`);
    const encoding = stringField(body, "encoding", "auto");
    if (encoding !== "auto" && encoding !== "base64") throw badRequest("Unsupported encoding. Please use auto or base64.");
    const truncate = body.truncate === undefined || body.truncate === null || body.truncate === ""
      ? undefined
      : intField(body.truncate, 0, "truncate");
    const messages = getMessages(broker, queue, count, ackmode, encoding === "base64", truncate);
    await committed(broker);
    return c.json(messages);
  });
  app.get("/api/queues/:vhost/:name/bindings", (c) => {
    const { vhost, queue } = pathQueue(c, broker);
    return c.json(bindingsTo(vhost, queue).map(formatBinding));
  });
}

function intField(value: unknown, fallback: number, key: string): number {
  if (value === undefined || value === null) return fallback;
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) throw badRequest(`${key} must be a non-negative integer`);
  return n;
}

/** Takes up to `count` messages, then requeues, acks or rejects them as `ackmode` says. */
function getMessages(
  broker: AmqpBroker,
  queue: Queue,
  count: number,
  ackmode: string,
  base64: boolean,
  truncate: number | undefined,
): JsonObject[] {
  const stats = broker.stats;
  const taken: QueueEntry[] = [];
  const out: JsonObject[] = [];
  queue.touch();
  for (let i = 0; i < count; i++) {
    const entry = queue.take();
    if (!entry) {
      if (i === 0) {
        queue.counters.getEmpty++;
        stats.getEmpty++;
      }
      break;
    }
    queue.counters.get++;
    stats.deliveredGetManualAck++;
    if (entry.redelivered) {
      queue.counters.redeliver++;
      stats.redelivered++;
    }
    taken.push(entry);
    out.push(formatMessage(entry, queue.messageCount, base64, truncate));
  }
  const requeue = ackmode.endsWith("requeue_true");
  for (const entry of taken) {
    if (requeue) {
      queue.requeue(entry);
      continue;
    }
    queue.delivered(entry, true);
    if (ackmode === "ack_requeue_false") {
      queue.counters.ack++;
      stats.acknowledged++;
    } else queue.host?.deadLetter(queue, entry.message, "rejected");
  }
  if (requeue && taken.length > 0) queue.drain();
  return out;
}

function formatMessage(entry: QueueEntry, remaining: number, base64: boolean, truncate: number | undefined): JsonObject {
  const m = entry.message;
  const body = truncate === undefined ? m.body : m.body.subarray(0, truncate);
  let payload: string;
  let payloadEncoding = "base64";
  const text = base64 ? undefined : utf8OrUndefined(body);
  if (text !== undefined) {
    payload = text;
    payloadEncoding = "string";
  } else payload = Buffer.from(body).toString("base64");
  return {
    payload_bytes: m.bodySize,
    redelivered: entry.redelivered,
    exchange: m.exchange,
    routing_key: m.routingKey,
    message_count: remaining,
    properties: propertiesToJson(m.properties),
    payload,
    payload_encoding: payloadEncoding,
  };
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}
