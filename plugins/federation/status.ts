// Link status as rabbit_federation_status keeps it: one entry per (local exchange or queue,
// upstream), with its state (starting, running with the local connection's name, or error with
// the reason), the upstream URI without credentials, when it last changed, and an id that
// `restart_federation_link` names. Warren adds the upstream node the link is connected to and its
// failovers (a reconnect to another URI of the upstream's list).
import { connectedNodeJson, failoverJson, type NodeHistory } from "../../src/client/mod.ts";

export type LinkKind = "exchange" | "queue";
export type LinkState = "starting" | "running" | "error" | "shutdown";

/** What identifies a link. */
export interface LinkIdentity {
  readonly vhost: string;
  readonly kind: LinkKind;
  /** The local (downstream) exchange or queue. */
  readonly name: string;
  readonly upstream: string;
  /** The exchange or queue on the upstream side. */
  readonly upstreamName: string;
  readonly consumerTag: string;
}

export interface LinkStatusEntry extends LinkIdentity {
  readonly id: string;
  state: LinkState;
  error: string | undefined;
  localConnection: string | undefined;
  uri: string;
  timestamp: Date;
  /** The upstream node connected to and the link's failovers, kept across its attempts. */
  readonly nodes: NodeHistory;
}

/** An 8-hex-digit id for a link, stable across restarts of the link (RabbitMQ hashes the same key). */
export function linkId(link: LinkIdentity): string {
  const key = `${link.vhost}\u0000${link.kind}\u0000${link.name}\u0000${link.upstream}\u0000${link.upstreamName}`;
  let hash = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

/** The "YYYY-MM-DD HH:MM:SS" local time RabbitMQ's API shows. */
export function formatTimestamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${d.getHours()}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A link's entry as GET /api/federation-links shows it (rabbit_federation_mgmt:format). */
export function linkJson(entry: LinkStatusEntry, node: string): Record<string, unknown> {
  const identity = entry.kind === "exchange"
    ? { exchange: entry.name, upstream_exchange: entry.upstreamName }
    : { queue: entry.name, upstream_queue: entry.upstreamName, consumer_tag: entry.consumerTag };
  const state = entry.state === "running"
    ? { status: "running", local_connection: entry.localConnection }
    : entry.error !== undefined
    ? { status: entry.state, error: entry.error }
    : { status: entry.state };
  return {
    node,
    ...identity,
    type: entry.kind,
    vhost: entry.vhost,
    upstream: entry.upstream,
    id: entry.id,
    ...state,
    uri: entry.uri,
    timestamp: formatTimestamp(entry.timestamp),
    ...(entry.state === "running" && entry.nodes.current ? { upstream_node: connectedNodeJson(entry.nodes.current, formatTimestamp) } : {}),
    failovers: entry.nodes.failovers.map((f) => failoverJson(f, formatTimestamp)),
    failover_count: entry.nodes.failoverCount,
  };
}
