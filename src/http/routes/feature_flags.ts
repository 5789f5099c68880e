// GET /api/feature-flags and PUT /api/feature-flags/{name}/enable (rabbit_mgmt_wm_feature_flags,
// administrators only): the flags a RabbitMQ 3.10 node reports, all enabled. Warren has no
// feature-flag machinery (one node, one version); tools that check for a flag before using a
// feature (quorum queues, user limits, vhost metadata) find it and proceed.
import type { Hono } from "hono";
import { type HttpEnv, requireAdmin } from "../auth.ts";
import { badRequest } from "../errors.ts";

interface FeatureFlag {
  name: string;
  desc: string;
  doc_url: string;
  provided_by: string;
}

/** As the reference RabbitMQ 3.10.8 lists them, in its order. */
export const FEATURE_FLAGS: readonly FeatureFlag[] = [
  {
    name: "classic_mirrored_queue_version",
    desc: "Support setting version for classic mirrored queues",
    doc_url: "",
    provided_by: "rabbit",
  },
  {
    name: "drop_unroutable_metric",
    desc: "Count unroutable publishes to be dropped in stats",
    doc_url: "",
    provided_by: "rabbitmq_management_agent",
  },
  {
    name: "empty_basic_get_metric",
    desc: "Count AMQP `basic.get` on empty queues in stats",
    doc_url: "",
    provided_by: "rabbitmq_management_agent",
  },
  {
    name: "implicit_default_bindings",
    desc: "Default bindings are now implicit, instead of being stored in the database",
    doc_url: "",
    provided_by: "rabbit",
  },
  { name: "maintenance_mode_status", desc: "Maintenance mode status", doc_url: "", provided_by: "rabbit" },
  {
    name: "quorum_queue",
    desc: "Support queues of type `quorum`",
    doc_url: "https://www.rabbitmq.com/quorum-queues.html",
    provided_by: "rabbit",
  },
  { name: "stream_queue", desc: "Support queues of type `stream`", doc_url: "https://www.rabbitmq.com/stream.html", provided_by: "rabbit" },
  { name: "user_limits", desc: "Configure connection and channel limits for a user", doc_url: "", provided_by: "rabbit" },
  { name: "virtual_host_metadata", desc: "Virtual host metadata (description, tags, etc)", doc_url: "", provided_by: "rabbit" },
];

export function featureFlagRoutes(app: Hono<HttpEnv>): void {
  app.get("/api/feature-flags", (c) => {
    requireAdmin(c);
    return c.json(
      FEATURE_FLAGS.map((f) => ({
        name: f.name,
        desc: f.desc,
        doc_url: f.doc_url,
        state: "enabled",
        stability: "stable",
        provided_by: f.provided_by,
      })),
    );
  });
  // Enabling an enabled flag: 204; an unknown one: 400 "unsupported", as RabbitMQ.
  app.put("/api/feature-flags/:name/enable", (c) => {
    requireAdmin(c);
    if (!FEATURE_FLAGS.some((f) => f.name === c.req.param("name"))) throw badRequest("unsupported");
    return c.body(null, 204);
  });
}
