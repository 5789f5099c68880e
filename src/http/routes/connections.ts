// /api/connections[/{name}] GET/DELETE, /api/connections/{name}/channels, /api/channels[/{name}],
// /api/consumers[/{vhost}]. Users without the monitoring tag see only their own connections.
import type { Context, Hono } from "hono";
import type { AmqpBroker, AmqpConnection as Connection, Consumer } from "../../connection/channel.ts";
import type { ProtocolConnection } from "../../broker/client_connection.ts";
import { type HttpEnv, isAdmin, isMonitor } from "../auth.ts";
import { byName, pathVhost, visibleVhosts } from "../context.ts";
import { notAuthorised, notFound } from "../errors.ts";
import { channelName, formatChannel, formatConnection, formatConsumer } from "../format.ts";
import { ratesFor } from "../rates.ts";
import { listInSlices } from "../json_slices.ts";

/** Open AMQP connections the user may see (a connection shows once it is authenticated). */
function visibleConnections(c: Context<HttpEnv>, broker: AmqpBroker): Connection[] {
  const user = c.get("user");
  const all = [...broker.connections].filter((x) => x.user !== undefined && x.state !== "closed");
  return isMonitor(user) ? all : all.filter((x) => x.user?.name === user.name);
}

function pathConnection(c: Context<HttpEnv>, broker: AmqpBroker): Connection {
  const name = c.req.param("name");
  const connection = visibleConnections(c, broker).find((x) => x.name === name);
  if (!connection) throw notFound();
  return connection;
}

/** Plugins' connections (MQTT) the user may see, once logged in. */
function visibleProtocolConnections(c: Context<HttpEnv>, broker: AmqpBroker): ProtocolConnection[] {
  const user = c.get("user");
  const all = [...broker.protocolConnections].filter((x) => x.user !== undefined);
  return isMonitor(user) ? all : all.filter((x) => x.user?.name === user.name);
}

function formatProtocolConnection(broker: AmqpBroker, connection: ProtocolConnection) {
  return { ...connection.describe(), node: broker.alarms.node };
}

export function connectionRoutes(app: Hono<HttpEnv>, broker: AmqpBroker): void {
  // The long lists are sorted by name first and formatted a slice per turn (json_slices.ts).
  app.get("/api/connections", async (c) => {
    const rates = ratesFor(broker);
    const listed = [
      ...visibleConnections(c, broker).map((x) => ({ name: x.name, format: () => formatConnection(broker, x, rates) })),
      ...visibleProtocolConnections(c, broker).map((x) => ({ name: x.name, format: () => formatProtocolConnection(broker, x) })),
    ];
    return listInSlices(c, byName(listed), (x) => x.format());
  });
  app.get("/api/connections/:name", (c) => {
    const other = visibleProtocolConnections(c, broker).find((x) => x.name === c.req.param("name"));
    if (other) return c.json(formatProtocolConnection(broker, other));
    return c.json(formatConnection(broker, pathConnection(c, broker), ratesFor(broker)));
  });
  app.delete("/api/connections/:name", (c) => {
    const connection = visibleProtocolConnections(c, broker).find((x) => x.name === c.req.param("name")) ?? pathConnection(c, broker);
    const user = c.get("user");
    // Monitoring users see every connection but close only their own, as in RabbitMQ.
    if (!isAdmin(user) && connection.user?.name !== user.name) throw notAuthorised("Not administrator user");
    connection.forceClose(c.req.header("x-reason") ?? "Closed via management plugin");
    return c.body(null, 204);
  });
  app.get("/api/connections/:name/channels", (c) => {
    const connection = pathConnection(c, broker);
    return c.json([...connection.channels.values()].map((ch) => formatChannel(broker, ch, ratesFor(broker))));
  });
  app.get("/api/channels", async (c) => {
    const rates = ratesFor(broker);
    const channels = visibleConnections(c, broker).flatMap((x) => [...x.channels.values()].map((ch) => ({ name: channelName(ch), ch })));
    return listInSlices(c, byName(channels), (x) => formatChannel(broker, x.ch, rates));
  });
  app.get("/api/channels/:name", (c) => {
    const name = c.req.param("name");
    const channel = visibleConnections(c, broker).flatMap((x) => [...x.channels.values()]).find((ch) => channelName(ch) === name);
    if (!channel) throw notFound();
    return c.json({
      ...formatChannel(broker, channel, ratesFor(broker)),
      consumer_details: [...channel.consumers.values()].map((x) => formatConsumer(broker, x)),
    });
  });
  const consumers = async (c: Context<HttpEnv>, vhosts: Set<string>) => {
    const out: Consumer[] = [];
    for (const connection of visibleConnections(c, broker)) {
      if (!vhosts.has(connection.vhost?.name ?? "")) continue;
      for (const channel of connection.channels.values()) out.push(...channel.consumers.values());
    }
    return listInSlices(c, out, (x) => formatConsumer(broker, x));
  };
  app.get("/api/consumers", (c) => consumers(c, new Set(visibleVhosts(c, broker).map((v) => v.name))));
  app.get("/api/consumers/:vhost", (c) => consumers(c, new Set([pathVhost(c, broker).name])));
}
