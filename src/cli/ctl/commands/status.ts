// status: a summary of the node from /api/overview, /api/nodes and /api/vhosts, in the sections
// of `rabbitmqctl status` (and its --formatter json keys where Warren has the value).
import { apiPath } from "../client.ts";
import type { Command } from "../command.ts";
import { CtlUsageError } from "../errors.ts";

interface Overview {
  node: string;
  product_name: string;
  product_version: string;
  rabbitmq_version: string;
  erlang_version: string;
  object_totals: { connections: number; queues: number; channels: number; consumers: number; exchanges: number };
  queue_totals?: { messages?: number; messages_ready?: number; messages_unacknowledged?: number };
  listeners: { node: string; protocol: string; ip_address: string; port: number }[];
}

interface NodeInfo {
  name: string;
  os_pid: string;
  uptime: number;
  mem_used: number;
  mem_limit: number;
  mem_alarm: boolean;
  mem_calculation_strategy: string;
  disk_free: number;
  disk_free_limit: number;
  disk_free_alarm: boolean;
  fd_used: number;
  fd_total: number;
  sockets_used: number;
  sockets_total: number;
  db_dir?: string;
  enabled_plugins: string[];
}

const PURPOSES: Record<string, string> = {
  amqp: "AMQP 0-9-1",
  "amqp/ssl": "AMQP 0-9-1 over TLS",
  http: "HTTP API",
  https: "HTTP API over TLS (HTTPS)",
  "http/prometheus": "Prometheus exporter API over HTTP",
};

/** rabbitmqctl's information units are decimal: 1 gb = 10^9 bytes. */
const UNITS: Record<string, number> = { bytes: 1, kb: 1e3, mb: 1e6, gb: 1e9 };

export const STATUS_COMMANDS: Command[] = [
  {
    name: "status",
    group: "Monitoring",
    summary: "Displays status of the node",
    usage: "[--unit <bytes|kb|mb|gb>]",
    arity: [0, 0],
    options: { unit: { type: "string" } },
    async run(ctx) {
      const unitName = typeof ctx.options.unit === "string" ? ctx.options.unit.toLowerCase() : "gb";
      const unit = UNITS[unitName];
      if (unit === undefined) throw new CtlUsageError(`--unit "${unitName}" is not one of bytes, kb, mb, gb`);
      const [overview, nodes, vhosts] = await Promise.all([
        ctx.api.get<Overview>(apiPath("overview")),
        ctx.api.get<NodeInfo[]>(apiPath("nodes")),
        ctx.api.get<unknown[]>(apiPath("vhosts"), { columns: "name" }),
      ]);
      const node = nodes.find((n) => n.name === overview.node) ?? nodes[0]!;
      const alarms = [
        ...(node.mem_alarm ? [{ resource: "memory", node: node.name }] : []),
        ...(node.disk_free_alarm ? [{ resource: "disk", node: node.name }] : []),
      ];
      const listeners = overview.listeners.map((l) => ({
        interface: l.ip_address.includes(":") ? `[${l.ip_address}]` : l.ip_address,
        node: l.node,
        port: l.port,
        protocol: l.protocol,
        purpose: PURPOSES[l.protocol] ?? l.protocol,
      }));
      const totals = {
        virtual_host_count: vhosts.length,
        connection_count: overview.object_totals.connections,
        queue_count: overview.object_totals.queues,
      };
      const uptime = Math.floor(node.uptime / 1000);
      if (ctx.out.json) {
        ctx.out.write(
          JSON.stringify({
            alarms,
            data_directory: node.db_dir ?? "",
            disk_free: node.disk_free,
            disk_free_limit: node.disk_free_limit,
            enabled_plugins: node.enabled_plugins,
            erlang_version: overview.erlang_version,
            file_descriptors: {
              sockets_limit: node.sockets_total,
              sockets_used: node.sockets_used,
              total_limit: node.fd_total,
              total_used: node.fd_used,
            },
            listeners,
            memory: { strategy: node.mem_calculation_strategy, total: { [node.mem_calculation_strategy]: node.mem_used } },
            node: node.name,
            pid: Number(node.os_pid),
            product_name: overview.product_name,
            product_version: overview.product_version,
            rabbitmq_version: overview.rabbitmq_version,
            totals,
            uptime,
            vm_memory_calculation_strategy: node.mem_calculation_strategy,
            vm_memory_high_watermark_limit: node.mem_limit,
          }) + "\n",
        );
        return;
      }
      const amount = (bytes: number) => (unitName === "bytes" ? `${bytes} bytes` : `${Math.round((bytes / unit) * 1e4) / 1e4} ${unitName}`);
      const q = overview.queue_totals ?? {};
      const sections: [string, string[]][] = [
        ["Runtime", [
          `OS PID: ${node.os_pid}`,
          `Uptime (seconds): ${uptime}`,
          `Product name: ${overview.product_name}`,
          `Product version: ${overview.product_version}`,
          `RabbitMQ version (management API compatibility): ${overview.rabbitmq_version}`,
          `Node name: ${node.name}`,
          `Runtime: ${overview.erlang_version}`,
        ]],
        ["Plugins", ["Enabled plugins:", "", ...node.enabled_plugins.map((p) => ` * ${p}`)]],
        ["Data directory", [`Node data directory: ${node.db_dir ?? ""}`]],
        [
          "Alarms",
          alarms.length === 0
            ? ["(none)"]
            : alarms.map((a) => a.resource === "disk" ? `Free disk space alarm on node ${a.node}` : `Memory alarm on node ${a.node}`),
        ],
        ["Memory", [
          `Total memory used: ${amount(node.mem_used)}`,
          `Calculation strategy: ${node.mem_calculation_strategy}`,
          `Memory high watermark: ${amount(node.mem_limit)}`,
        ]],
        ["File Descriptors", [
          `Total: ${node.fd_used}, limit: ${node.fd_total}`,
          `Sockets: ${node.sockets_used}, limit: ${node.sockets_total}`,
        ]],
        ["Free Disk Space", [
          `Low free disk space watermark: ${amount(node.disk_free_limit)}`,
          `Free disk space: ${amount(node.disk_free)}`,
        ]],
        ["Totals", [
          `Connection count: ${totals.connection_count}`,
          `Queue count: ${totals.queue_count}`,
          `Virtual host count: ${totals.virtual_host_count}`,
          `Messages: ${q.messages ?? 0} (ready: ${q.messages_ready ?? 0}, unacknowledged: ${q.messages_unacknowledged ?? 0})`,
        ]],
        ["Listeners", listeners.map((l) => `Interface: ${l.interface}, port: ${l.port}, protocol: ${l.protocol}, purpose: ${l.purpose}`)],
      ];
      ctx.out.info(`Status of node ${node.name} ...`);
      ctx.out.write(sections.map(([title, lines]) => `${title}\n\n${lines.join("\n")}\n`).join("\n"));
    },
  },
];
