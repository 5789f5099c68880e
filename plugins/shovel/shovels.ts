// The running shovels: one link per (vhost, name), started from runtime parameters (dynamic) and
// warren.conf (static); their status in RabbitMQ's shape (GET /api/shovels) and their metrics.
import type { Broker } from "../../src/broker/broker.ts";
import { connectedNodeJson, type FailoverJson, failoverJson, type NodeHistory, withoutCredentials } from "../../src/client/mod.ts";
import type { Logger } from "../../src/log.ts";
import type { ShovelDefinition } from "./definition.ts";
import { type LinkState, ShovelLink } from "./link.ts";

export interface ShovelStatus {
  node: string;
  timestamp: string;
  name: string;
  vhost: string;
  type: "dynamic" | "static";
  state: LinkState;
  reason?: string;
  src_uri?: string;
  src_protocol?: string;
  dest_protocol?: string;
  dest_uri?: string;
  src_queue?: string;
  src_exchange?: string;
  src_exchange_key?: string;
  dest_queue?: string;
  dest_exchange?: string;
  dest_exchange_key?: string;
  /** Warren: the node each side is connected to (while running). */
  src_node?: Record<string, unknown>;
  dest_node?: Record<string, unknown>;
  /** Warren: the latest failovers of either side (a reconnect to another URI of its list), oldest first. */
  failovers: (FailoverJson & { side: "source" | "destination" })[];
  failover_count: number;
}

const key = (vhost: string, name: string) => `${vhost}\u0000${name}`;

export class Shovels {
  private readonly links = new Map<string, ShovelLink>();
  /** Messages forwarded by every link since the plugin started (metrics). */
  forwardedTotal = 0;
  /** Links connect once the broker listens (a URI may name its own listener). */
  private release!: () => void;
  private readonly ready = new Promise<void>((resolve) => (this.release = resolve));

  constructor(
    private readonly broker: Broker,
    private readonly log: Logger,
    /** A finished src-delete-after shovel: its parameter is removed (dynamic ones). */
    private readonly removeDefinition: (def: ShovelDefinition) => void,
  ) {}

  /** The broker listens: links started so far connect now, later ones at once. */
  listening(): void {
    this.release();
  }

  /** Starts the shovel, replacing a running one of the same name (a changed definition). */
  start(def: ShovelDefinition): void {
    const k = key(def.vhost, def.name);
    const old = this.links.get(k);
    if (old) void old.stop();
    this.log.info(`shovel '${def.name}' in vhost '${def.vhost}': starting (${def.type})`);
    const link = new ShovelLink(def, {
      broker: this.broker,
      log: this.log,
      ready: this.ready,
      directUser: (vhost) => this.directUser(vhost),
      clusterName: () => this.broker.clusterName,
      forwarded: (n) => (this.forwardedTotal += n),
      completed: (l) => {
        if (this.links.get(k) === l) this.links.delete(k);
        this.removeDefinition(l.def);
      },
    });
    this.links.set(k, link);
  }

  /** Stops and forgets the shovel; false when there was none. */
  stop(vhost: string, name: string): boolean {
    const k = key(vhost, name);
    const link = this.links.get(k);
    if (!link) return false;
    this.links.delete(k);
    void link.stop();
    this.log.info(`shovel '${name}' in vhost '${vhost}': stopped`);
    return true;
  }

  restart(vhost: string, name: string): boolean {
    const link = this.links.get(key(vhost, name));
    if (!link) return false;
    link.restart();
    return true;
  }

  get(vhost: string, name: string): ShovelLink | undefined {
    return this.links.get(key(vhost, name));
  }

  async stopAll(): Promise<void> {
    const links = [...this.links.values()];
    this.links.clear();
    await Promise.all(links.map((l) => l.stop()));
  }

  /** GET /api/shovels: every shovel (of one vhost), as rabbit_shovel_status reports them. */
  status(vhosts?: ReadonlySet<string>): ShovelStatus[] {
    const out: ShovelStatus[] = [];
    for (const link of this.links.values()) {
      const d = link.def;
      if (vhosts && !vhosts.has(d.vhost)) continue;
      const entry: ShovelStatus = {
        node: this.broker.alarms.node,
        timestamp: formatTimestamp(link.since),
        name: d.name,
        vhost: d.vhost,
        type: d.type,
        state: link.state,
        failovers: failoversOf(link),
        failover_count: link.srcNodes.failoverCount + link.destNodes.failoverCount,
      };
      // RabbitMQ 3.10 shows the endpoints only while running; we show why a link is down.
      if (link.state === "terminated") entry.reason = link.reason;
      if (link.state === "running") Object.assign(entry, endpoints(d, link), nodes(link));
      out.push(entry);
    }
    return out.sort((a, b) => (a.vhost === b.vhost ? cmp(a.name, b.name) : cmp(a.vhost, b.vhost)));
  }

  /** Prometheus samples: forwarded messages and each link's state. */
  metrics(): string {
    const lines = [
      "# HELP rabbitmq_shovel_messages_forwarded_total Messages shovels moved and settled at their source",
      "# TYPE rabbitmq_shovel_messages_forwarded_total counter",
    ];
    const states = ["starting", "running", "terminated"] as const;
    const shovelLines: string[] = [];
    const stateLines: string[] = [];
    for (const link of this.links.values()) {
      const labels = `vhost="${escapeLabel(link.def.vhost)}",shovel="${escapeLabel(link.def.name)}",type="${link.def.type}"`;
      shovelLines.push(`rabbitmq_shovel_messages_forwarded_total{${labels}} ${link.forwarded}`);
      for (const s of states) stateLines.push(`rabbitmq_shovel_state{${labels},state="${s}"} ${link.state === s ? 1 : 0}`);
    }
    lines.push(...shovelLines);
    lines.push(
      "# HELP warren_shovel_failovers_total Times a shovel's side reconnected to another URI of its list (another cluster node)",
      "# TYPE warren_shovel_failovers_total counter",
    );
    for (const link of this.links.values()) {
      const labels = `vhost="${escapeLabel(link.def.vhost)}",shovel="${escapeLabel(link.def.name)}",type="${link.def.type}"`;
      lines.push(`warren_shovel_failovers_total{${labels},side="source"} ${link.srcNodes.failoverCount}`);
      lines.push(`warren_shovel_failovers_total{${labels},side="destination"} ${link.destNodes.failoverCount}`);
    }
    lines.push(
      "# HELP rabbitmq_shovel_state 1 for the state each shovel is in (starting, running, terminated)",
      "# TYPE rabbitmq_shovel_state gauge",
      ...stateLines,
    );
    const counts = states.map((s) => `rabbitmq_shovels{state="${s}"} ${[...this.links.values()].filter((l) => l.state === s).length}`);
    lines.push("# HELP rabbitmq_shovels Shovels by state", "# TYPE rabbitmq_shovels gauge", ...counts);
    return lines.join("\n") + "\n";
  }

  /**
   * Who a direct link without credentials acts as: RabbitMQ's direct connections are trusted; we
   * log in (EXTERNAL) as the default user when it may use the vhost, else as an administrator who may.
   */
  private directUser(vhost: string): string {
    const users = this.broker.users;
    const preferred = this.broker.options.defaultUser;
    if (users.get(preferred) && users.permission(preferred, vhost)) return preferred;
    const admin = users.list().find((u) => u.tags.includes("administrator") && users.permission(u.name, vhost));
    return admin?.name ?? preferred;
  }
}

function endpoints(d: ShovelDefinition, link: ShovelLink): Partial<ShovelStatus> {
  const e: Partial<ShovelStatus> = {
    src_uri: withoutCredentials(link.srcUri ?? d.srcUris[0]!),
    src_protocol: "amqp091",
    dest_protocol: "amqp091",
    dest_uri: withoutCredentials(link.destUri ?? d.destUris[0]!),
  };
  if (d.srcQueue !== undefined) e.src_queue = d.srcQueue;
  else {
    e.src_exchange = d.srcExchange!;
    e.src_exchange_key = d.srcExchangeKey;
  }
  if (d.destQueue !== undefined) e.dest_queue = d.destQueue;
  else {
    if (d.destExchange !== undefined) e.dest_exchange = d.destExchange;
    if (d.destExchangeKey !== undefined) e.dest_exchange_key = d.destExchangeKey;
  }
  return e;
}

function nodes(link: ShovelLink): Partial<ShovelStatus> {
  const out: Partial<ShovelStatus> = {};
  if (link.srcNodes.current) out.src_node = connectedNodeJson(link.srcNodes.current, formatTimestamp);
  if (link.destNodes.current) out.dest_node = connectedNodeJson(link.destNodes.current, formatTimestamp);
  return out;
}

function failoversOf(link: ShovelLink): ShovelStatus["failovers"] {
  const side = (h: NodeHistory, name: "source" | "destination") =>
    h.failovers.map((f) => ({ at: f.at, json: { side: name, ...failoverJson(f, formatTimestamp) } }));
  return [...side(link.srcNodes, "source"), ...side(link.destNodes, "destination")]
    .sort((a, b) => a.at.getTime() - b.at.getTime())
    .map((f) => f.json);
}

/** "2026-12-03 14:50:01", in the node's local time as RabbitMQ prints it. */
export function formatTimestamp(date: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())} ${p(date.getHours())}:${p(date.getMinutes())}:${
    p(date.getSeconds())
  }`;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const escapeLabel = (s: string) => s.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
