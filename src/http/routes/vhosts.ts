// /api/vhosts[/{vhost}] GET/PUT/DELETE, /api/vhosts/{vhost}/{permissions,connections,channels}
import type { Hono } from "hono";
import { FULL_PERMISSION } from "../../auth/users.ts";
import type { AmqpBroker } from "../../connection/channel.ts";
import type { Vhost } from "../../broker/vhost.ts";
import { type HttpEnv, requireAdmin } from "../auth.ts";
import { byName, pathVhost, visibleVhosts } from "../context.ts";
import { notFound } from "../errors.ts";
import { formatChannel, formatConnection } from "../format.ts";
import { type JsonObject, readBody } from "../json.ts";
import { CONNECTION_SERIES, QUEUE_SERIES, ratesFor } from "../rates.ts";
import { unackedByQueue, type UnackedTotals } from "../unacked.ts";
import { listPermissions } from "../../broker/users_view.ts";
import { formatPermission } from "./users.ts";

export function vhostRoutes(app: Hono<HttpEnv>, broker: AmqpBroker): void {
  app.get("/api/vhosts", (c) => {
    const unacked = unackedByQueue(broker);
    return c.json(byName(visibleVhosts(c, broker).map((v) => formatVhost(broker, v, unacked))));
  });
  app.get("/api/vhosts/:vhost", (c) => c.json(formatVhost(broker, pathVhost(c, broker), unackedByQueue(broker))));
  app.put("/api/vhosts/:vhost", async (c) => {
    const user = requireAdmin(c);
    const body = await readBody(c.req.raw);
    const name = c.req.param("vhost");
    const existed = broker.vhosts.has(name);
    const tags = typeof body.tags === "string"
      ? body.tags.split(",").map((t) => t.trim()).filter((t) => t !== "")
      : Array.isArray(body.tags)
      ? body.tags.map(String)
      : undefined;
    broker.addVhost(name, {
      ...(typeof body.description === "string" ? { description: body.description } : {}),
      ...(tags ? { tags } : {}),
    });
    // Firehose tracing (src/broker/trace.ts): as in RabbitMQ, not kept across a restart.
    if (typeof body.tracing === "boolean") broker.vhosts.get(name)!.tracing = body.tracing;
    // As rabbit_vhost:put_vhost: the user who creates a vhost may use it.
    if (!existed && broker.users.permission(user.name, name) === undefined) broker.setPermissions(user.name, name, FULL_PERMISSION);
    broker.store?.commit();
    return c.body(null, existed ? 204 : 201);
  });
  app.delete("/api/vhosts/:vhost", async (c) => {
    requireAdmin(c);
    const name = c.req.param("vhost");
    if (!broker.vhosts.has(name)) throw notFound();
    await broker.deleteVhost(name);
    broker.store?.commit();
    return c.body(null, 204);
  });
  app.get("/api/vhosts/:vhost/permissions", (c) => {
    requireAdmin(c);
    const vhost = pathVhost(c, broker);
    return c.json(listPermissions(broker.users).filter((p) => p.vhost === vhost.name).map(formatPermission));
  });
  app.get("/api/vhosts/:vhost/connections", (c) => {
    const vhost = pathVhost(c, broker);
    const rates = ratesFor(broker);
    const list = [...broker.connections].filter((x) => x.vhost === vhost && x.user !== undefined);
    return c.json(list.map((x) => formatConnection(broker, x, rates)));
  });
  app.get("/api/vhosts/:vhost/channels", (c) => {
    const vhost = pathVhost(c, broker);
    const list = [...broker.connections].filter((x) => x.vhost === vhost).flatMap((x) => [...x.channels.values()]);
    return c.json(list.map((ch) => formatChannel(broker, ch, ratesFor(broker))));
  });
}

export function formatVhost(broker: AmqpBroker, vhost: Vhost, unacked: Map<object, UnackedTotals>): JsonObject {
  const rates = ratesFor(broker);
  let ready = 0, unackedCount = 0;
  let rReady = 0, rUnacked = 0;
  const stats = [0, 0, 0, 0, 0, 0, 0, 0];
  const statRates = [0, 0, 0, 0, 0, 0, 0, 0];
  for (const queue of vhost.queues.values()) {
    ready += queue.messageCount;
    unackedCount += unacked.get(queue)?.count ?? 0;
    const c = queue.counters;
    [c.publish, c.deliver, c.deliverNoAck, c.get, c.getNoAck, c.getEmpty, c.ack, c.redeliver].forEach((v, i) => (stats[i]! += v));
    const r = rates.rates(queue, QUEUE_SERIES.length);
    for (let i = 0; i < 8; i++) statRates[i]! += r[i]!;
    rReady += r[9]!;
    rUnacked += r[10]!;
  }
  let recv = 0, send = 0, rRecv = 0, rSend = 0;
  for (const connection of broker.connections) {
    if (connection.vhost !== vhost) continue;
    recv += connection.bytesReceived;
    send += connection.output.bytesSent;
    const r = rates.rates(connection, CONNECTION_SERIES.length);
    rRecv += r[0]!;
    rSend += r[1]!;
  }
  const names = ["publish", "deliver", "deliver_no_ack", "get", "get_no_ack", "get_empty", "ack", "redeliver"];
  const messageStats: JsonObject = {};
  names.forEach((n, i) => {
    messageStats[n] = stats[i]!;
    messageStats[`${n}_details`] = { rate: Math.round(statRates[i]! * 10) / 10 };
  });
  messageStats.deliver_get = stats[1]! + stats[2]! + stats[3]! + stats[4]!;
  messageStats.deliver_get_details = { rate: Math.round((statRates[1]! + statRates[2]! + statRates[3]! + statRates[4]!) * 10) / 10 };
  return {
    name: vhost.name,
    description: vhost.description,
    tags: vhost.tags,
    default_queue_type: "undefined",
    metadata: { description: vhost.description, tags: vhost.tags },
    tracing: vhost.tracing,
    cluster_state: { [broker.alarms.node]: "running" },
    messages: ready + unackedCount,
    messages_details: { rate: Math.round((rReady + rUnacked) * 10) / 10 },
    messages_ready: ready,
    messages_ready_details: { rate: Math.round(rReady * 10) / 10 },
    messages_unacknowledged: unackedCount,
    messages_unacknowledged_details: { rate: Math.round(rUnacked * 10) / 10 },
    recv_oct: recv,
    recv_oct_details: { rate: Math.round(rRecv * 10) / 10 },
    send_oct: send,
    send_oct_details: { rate: Math.round(rSend * 10) / 10 },
    message_stats: messageStats,
  };
}
