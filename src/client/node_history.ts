// Which remote node a link (shovel side, federation upstream) is connected to, and its failovers:
// a link that lost its connection and came back on another URI of its list (another cluster
// node). Kept bounded, for status pages and a Prometheus counter.
import type { ClientConnection } from "./connection.ts";
import { withoutCredentials } from "./uri.ts";

/** How many failovers a link remembers (the oldest go first). */
export const FAILOVER_HISTORY = 10;

export interface ConnectedNode {
  /** The URI connected to, without credentials. */
  uri: string;
  /** The server's node name, when its connection.start properties name one (RabbitMQ's do not). */
  node: string | undefined;
  /** The server's cluster_name property ("" when none). */
  clusterName: string;
  /** The server's product and version properties, as sent. */
  product: string;
  version: string;
  since: Date;
}

export interface Failover {
  at: Date;
  /** The URI (without credentials) of the connection that was lost. */
  from: string;
  to: string;
  /** Why the previous connection ended, and when. */
  reason: string;
  lostAt: Date;
}

export class NodeHistory {
  /** The node of the live connection (undefined while disconnected). */
  current: ConnectedNode | undefined;
  /** The last node connected to, kept after the connection is lost (to spot a failover). */
  private last: ConnectedNode | undefined;
  private lostReason = "";
  private lostAt = new Date();
  /** The most recent failovers, oldest first, at most FAILOVER_HISTORY. */
  readonly failovers: Failover[] = [];
  /** Every failover over the link's life (the Prometheus counter). */
  failoverCount = 0;

  /** A connection is up: a failover when the link was connected before to another URI. */
  connected(connection: ClientConnection): Failover | undefined {
    const node: ConnectedNode = {
      uri: withoutCredentials(connection.uri.uri),
      node: stringProperty(connection, "node"),
      clusterName: connection.clusterName,
      product: stringProperty(connection, "product") ?? "",
      version: stringProperty(connection, "version") ?? "",
      since: new Date(),
    };
    const previous = this.last;
    this.current = node;
    this.last = node;
    if (previous === undefined || previous.uri === node.uri) return undefined;
    const failover: Failover = { at: node.since, from: previous.uri, to: node.uri, reason: this.lostReason, lostAt: this.lostAt };
    this.failovers.push(failover);
    if (this.failovers.length > FAILOVER_HISTORY) this.failovers.shift();
    this.failoverCount++;
    return failover;
  }

  /** The connection is gone (the reason is kept for the next failover's entry). */
  lost(reason: string): void {
    if (this.current === undefined) return;
    this.current = undefined;
    this.lostReason = reason;
    this.lostAt = new Date();
  }
}

function stringProperty(connection: ClientConnection, key: string): string | undefined {
  const value = connection.serverProperties[key];
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return undefined;
}

/** A connected node as the status pages show it, timestamps in the caller's format. */
export function connectedNodeJson(n: ConnectedNode, timestamp: (d: Date) => string): Record<string, unknown> {
  return {
    uri: n.uri,
    ...(n.node !== undefined ? { node: n.node } : {}),
    cluster_name: n.clusterName,
    product: n.product,
    version: n.version,
    connected_at: timestamp(n.since),
  };
}

/** A failover as the status pages show it; down_ms: from losing the old connection to the new one. */
export function failoverJson(f: Failover, timestamp: (d: Date) => string): FailoverJson {
  return { timestamp: timestamp(f.at), from: f.from, to: f.to, reason: f.reason, down_ms: f.at.getTime() - f.lostAt.getTime() };
}

export interface FailoverJson {
  timestamp: string;
  from: string;
  to: string;
  reason: string;
  down_ms: number;
}
