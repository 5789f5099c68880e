// /api/health/checks/*, /api/aliveness-test/{vhost}, /api/auth/hash_password/{password}
import type { Hono } from "hono";
import { hashPassword } from "../../auth/password.ts";
import type { AmqpBroker } from "../../connection/channel.ts";
import { Message } from "../../broker/message.ts";
import { encodeJsonProperties, publishMessage } from "../publish.ts";
import { type HttpEnv, requireAdmin } from "../auth.ts";
import { pathVhost } from "../context.ts";
import { badRequest } from "../errors.ts";
import type { JsonObject } from "../json.ts";
import { listeners } from "./overview.ts";

/** rabbit_mgmt_wm_health_check_*: failures answer 503 with a reason. */
const FAILED = 503;

export function healthRoutes(app: Hono<HttpEnv>, broker: AmqpBroker): void {
  const alarms = (reason: string): [JsonObject, 200 | 503] => {
    const active = [...broker.alarms.current];
    if (active.length === 0) return [{ status: "ok" }, 200];
    return [{ status: "failed", reason, alarms: active.map((resource) => ({ node: broker.alarms.node, resource })) }, FAILED];
  };
  // One node: the cluster's alarms are this node's.
  app.get("/api/health/checks/alarms", (c) => c.json(...alarms("There are alarms in effect in the cluster")));
  app.get("/api/health/checks/local-alarms", (c) => c.json(...alarms("There are alarms in effect on the node")));
  // Every vhost of a Warren node runs while the node does.
  app.get("/api/health/checks/virtual-hosts", (c) => c.json({ status: "ok" }));
  app.get("/api/health/checks/port-listener/:port", (c) => {
    // As rabbit_mgmt_wm_health_check_port_listener: binary_to_integer, else 400 "Invalid port".
    const text = c.req.param("port");
    if (!/^[+-]?\d+$/.test(text)) throw badRequest("Invalid port");
    const port = Number(text);
    const ports = listeners(broker).map((l) => l.port as number);
    if (ports.includes(port)) return c.json({ status: "ok", port });
    return c.json({ status: "failed", reason: "No active listener", missing: port, ports: ports.sort((a, b) => a - b) }, FAILED);
  });
  app.get("/api/health/checks/protocol-listener/:protocol", (c) => {
    const wanted = normaliseProtocol(c.req.param("protocol"));
    const protocols = listeners(broker).map((l) => l.protocol as string);
    if (protocols.includes(wanted)) return c.json({ status: "ok", protocol: wanted });
    return c.json({ status: "failed", reason: "No active listener", missing: wanted, protocols }, FAILED);
  });
  app.get("/api/health/checks/ready-to-serve-clients", (c) => {
    // As RabbitMQ 3.11+: ready when the node accepts AMQP clients.
    return c.json({ status: "ok" });
  });
  app.get("/api/health/checks/node-is-quorum-critical", (c) => c.json({ status: "ok" }));
  app.get("/api/health/checks/node-is-mirror-sync-critical", (c) => c.json({ status: "ok" }));
  app.get("/api/health/checks/certificate-expiration/:within/:unit", (c) => c.json({ status: "ok" }));

  app.get("/api/aliveness-test/:vhost", (c) => {
    // As rabbit_mgmt_wm_aliveness_test: declare "aliveness-test", publish to it, get it back.
    const vhost = pathVhost(c, broker);
    const queue = vhost.declareQueue({ name: "aliveness-test", durable: false, exclusive: false, autoDelete: false, args: {} }, broker);
    const exchange = vhost.exchanges.get("")!;
    publishMessage(
      broker,
      vhost,
      exchange,
      new Message("", queue.name, encodeJsonProperties({}), new TextEncoder().encode("test_message")),
    );
    const entry = queue.take();
    if (!entry) return c.json({ status: "failed", reason: "aliveness-test queue is empty" }, FAILED);
    queue.delivered(entry, true);
    return c.json({ status: "ok" });
  });

  // Administrators only (is_authorized_admin), as in every RabbitMQ release that has it.
  app.get("/api/auth/hash_password/:password", (c) => {
    requireAdmin(c);
    return c.json({ ok: hashPassword(c.req.param("password")) });
  });
}

/** Protocol names as rabbit_mgmt_wm_health_check_protocol_listener accepts them (amqp091 → amqp, …). */
function normaliseProtocol(name: string): string {
  const lower = name.toLowerCase();
  if (lower === "amqp091" || lower === "amqp0.9.1" || lower === "amqp0-9-1") return "amqp";
  if (lower === "https") return "https";
  if (lower === "prometheus") return "http/prometheus";
  return lower;
}
