// GET /api/nodes, /api/nodes/{name}: the one node, with its resource readings and alarms.
import type { Hono } from "hono";
import type { AmqpBroker } from "../../connection/channel.ts";
import { fileDescriptorLimit, processorCount } from "../../runtime/system.ts";
import { type HttpEnv, requireAdmin, requireMonitor } from "../auth.ts";
import { badRequest, notFound } from "../errors.ts";
import { type JsonObject, readBody } from "../json.ts";
import { GLOBAL_SERIES, NODE_SERIES, nodeReadings, queueChurn, ratesFor } from "../rates.ts";
import { contexts, exchangeTypesJson } from "./overview.ts";

export function nodeRoutes(app: Hono<HttpEnv>, broker: AmqpBroker): void {
  app.get("/api/nodes", (c) => {
    requireMonitor(c);
    return c.json([nodeInfo(broker)]);
  });
  app.get("/api/nodes/:name", (c) => {
    requireMonitor(c);
    if (c.req.param("name") !== broker.alarms.node) throw notFound();
    return c.json(nodeInfo(broker));
  });
  // Warren's additions: what rabbitmqctl set_vm_memory_high_watermark and set_disk_free_limit
  // change at run time (RabbitMQ's HTTP API has no such paths). warren ctl sends them.
  app.put("/api/nodes/:name/memory-high-watermark", async (c) => {
    requireAdmin(c);
    if (c.req.param("name") !== broker.alarms.node) throw notFound();
    const body = await readBody(c.req.raw);
    broker.alarms.setMemoryHighWatermark(watermarkFrom(body));
    return c.body(null, 204);
  });
  app.put("/api/nodes/:name/disk-free-limit", async (c) => {
    requireAdmin(c);
    if (c.req.param("name") !== broker.alarms.node) throw notFound();
    const body = await readBody(c.req.raw);
    broker.alarms.setDiskFreeLimit(diskLimitFrom(body, broker.alarms.memoryLimit));
    return c.body(null, 204);
  });
}

/** {"relative": 0.4} (a fraction of the memory limit, 0-1) or {"absolute": bytes}, as Alarms reads it. */
function watermarkFrom(body: JsonObject): number {
  const { relative, absolute } = body;
  if (relative !== undefined && absolute === undefined) {
    if (typeof relative !== "number" || !(relative >= 0 && relative <= 1)) {
      throw badRequest(`relative must be a fraction from 0 to 1, got ${JSON.stringify(relative)}`);
    }
    return relative;
  }
  if (absolute !== undefined && relative === undefined) {
    // Alarms reads values up to 1 as fractions.
    if (!Number.isSafeInteger(absolute) || (absolute as number) < 2) {
      throw badRequest(`absolute must be a whole number of bytes, at least 2, got ${JSON.stringify(absolute)}`);
    }
    return absolute as number;
  }
  throw badRequest(`expected one of relative (a fraction from 0 to 1) or absolute (bytes)`);
}

/** {"absolute": bytes} or {"mem_relative": f} (a multiple of the memory limit), as rabbitmqctl set_disk_free_limit. */
function diskLimitFrom(body: JsonObject, memoryLimit: number): number {
  const { absolute, mem_relative: relative } = body;
  if (absolute !== undefined && relative === undefined) {
    if (!Number.isSafeInteger(absolute) || (absolute as number) < 0) {
      throw badRequest(`absolute must be a whole number of bytes, got ${JSON.stringify(absolute)}`);
    }
    return absolute as number;
  }
  if (relative !== undefined && absolute === undefined) {
    if (typeof relative !== "number" || !(relative >= 0) || !Number.isFinite(relative)) {
      throw badRequest(`mem_relative must be a number of at least 0, got ${JSON.stringify(relative)}`);
    }
    return Math.trunc(relative * memoryLimit);
  }
  throw badRequest(`expected one of absolute (bytes) or mem_relative (a multiple of the memory limit)`);
}

export function nodeInfo(broker: AmqpBroker): JsonObject {
  const alarms = broker.alarms.current;
  const [memUsed, diskFree, fdUsed, sockets] = nodeReadings(broker) as [number, number, number, number];
  const nodeRates = ratesFor(broker).rates(broker.alarms, NODE_SERIES.length);
  const r = ratesFor(broker).rates(broker, GLOBAL_SERIES.length);
  const rate = (name: (typeof GLOBAL_SERIES)[number]) => ({ rate: r[GLOBAL_SERIES.indexOf(name)]! });
  const s = broker.stats;
  const churn = queueChurn(broker);
  return {
    name: broker.alarms.node,
    type: "disc",
    running: true,
    os_pid: String(process.pid),
    uptime: Date.now() - broker.startedAt,
    processors: processorCount(),
    rates_mode: "basic",
    mem_used: memUsed,
    mem_used_details: { rate: nodeRates[0]! },
    mem_limit: broker.alarms.memoryThreshold,
    mem_alarm: alarms.has("memory"),
    mem_calculation_strategy: "rss",
    disk_free: diskFree,
    disk_free_details: { rate: nodeRates[1]! },
    disk_free_limit: broker.alarms.diskFreeLimit,
    disk_free_alarm: alarms.has("disk"),
    ...storeSpaceJson(broker),
    fd_used: fdUsed,
    fd_used_details: { rate: nodeRates[2]! },
    fd_total: broker.sockets.fdLimit || fileDescriptorLimit(),
    sockets_used: sockets,
    sockets_used_details: { rate: nodeRates[3]! },
    sockets_total: broker.sockets.total,
    db_dir: broker.options.dataDir,
    partitions: [],
    cluster_links: [],
    applications: [],
    enabled_plugins: enabledPlugins(broker),
    auth_mechanisms: [
      { name: "PLAIN", description: "SASL PLAIN authentication mechanism", enabled: true },
      { name: "AMQPLAIN", description: "QPid AMQPLAIN mechanism", enabled: true },
    ],
    exchange_types: exchangeTypesJson(broker),
    contexts: contexts(broker),
    log_files: [],
    config_files: [],
    net_ticktime: 60,
    connection_created: s.connectionsOpened,
    connection_created_details: rate("connection_created"),
    connection_closed: s.connectionsClosed,
    connection_closed_details: rate("connection_closed"),
    channel_created: s.channelsOpened,
    channel_created_details: rate("channel_created"),
    channel_closed: s.channelsClosed,
    channel_closed_details: rate("channel_closed"),
    queue_declared: churn.declared,
    queue_declared_details: rate("queue_declared"),
    queue_created: churn.created,
    queue_created_details: rate("queue_created"),
    queue_deleted: churn.deleted,
    queue_deleted_details: rate("queue_deleted"),
  };
}

/** RabbitMQ's list: the management and Prometheus parts, then every running plugin. */
function enabledPlugins(broker: AmqpBroker): string[] {
  const running = broker.plugins?.list().filter((p) => p.running).map((p) => p.name) ?? [];
  return ["rabbitmq_management", "rabbitmq_prometheus", ...running];
}

/**
 * Warren's store on disk (issue 23; RabbitMQ has no such fields): the size of its files, what of
 * it is live, what reclaim can give back, the disk reserve, whether a write found the disk full,
 * and how much of it queues hold in memory (bounded across all queues: docs/storage.md).
 */
function storeSpaceJson(broker: AmqpBroker): JsonObject {
  const space = broker.store?.space?.();
  if (space === undefined) return {};
  return {
    store_size: space.sizeBytes,
    store_live_bytes: space.liveBytes,
    store_reclaimable_bytes: space.reclaimableBytes,
    store_reclaimed_bytes: space.reclaimedBytes,
    store_reclaim_passes: space.reclaimPasses,
    store_disk_reserve_bytes: space.reserveBytes,
    store_disk_full: space.full,
    store_window_bytes: broker.store!.heldInWindows,
    disk_free_needed: broker.alarms.diskFreeNeeded,
  };
}
