// rabbitmqctl's column names (info keys) for each listing, mapped to the management API's
// fields. Warren has no Erlang pids: `pid` columns show the connection or channel name (what
// close_connection takes), and keys with no counterpart in the API print as empty.
import type { ValueKind } from "./render.ts";

export interface Column {
  name: string;
  /** API fields to ask for (`?columns=`, dotted for nested ones). */
  fields: string[];
  get(item: Record<string, unknown>): unknown;
  kind: ValueKind;
  /** How the table formatter prints the value, when not as `kind` says. */
  text?: (value: unknown) => string;
}

export type ColumnSet = ReadonlyMap<string, Column>;

function at(item: unknown, path: string): unknown {
  let value = item;
  for (const key of path.split(".")) {
    value = value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value;
}

/** A column read from one API field (dotted path), the same name unless given. */
export function field(name: string, path = name, kind: ValueKind = "plain"): Column {
  return { name, fields: [path], get: (item) => at(item, path), kind };
}

/**
 * Warren's failover columns of shovel and federation link listings: how often a link moved to
 * another URI of its list, and the latest move ("<timestamp> [side] <from> -> <to>").
 */
export function failoverColumns(): Column[] {
  const last = (item: Record<string, unknown>) => {
    const list = item.failovers;
    if (!Array.isArray(list) || list.length === 0) return undefined;
    const f = list[list.length - 1] as Record<string, unknown>;
    return [f.timestamp, f.side, f.from, "->", f.to].filter((x) => x !== undefined).join(" ");
  };
  return [field("failovers", "failover_count"), { name: "last_failover", fields: [], get: last, kind: "plain" }];
}

/** A column with no counterpart in Warren's API: accepted, printed empty. */
function absent(name: string): Column {
  return { name, fields: [], get: () => undefined, kind: "plain" };
}

function computed(name: string, fields: string[], get: (item: Record<string, unknown>) => unknown, kind: ValueKind = "plain"): Column {
  return { name, fields, get, kind };
}

function set(...columns: Column[]): ColumnSet {
  return new Map(columns.map((c) => [c.name, c]));
}

const plain = (...names: string[]) => names.map((n) => field(n));

export const QUEUE_COLUMNS = set(
  field("name"),
  ...plain("durable", "auto_delete", "exclusive"),
  field("arguments", "arguments", "table"),
  computed("policy", ["policy"], (q) => q.policy ?? ""),
  ...plain(
    "messages",
    "messages_ready",
    "messages_unacknowledged",
    "messages_ram",
    "messages_ready_ram",
    "messages_unacknowledged_ram",
    "message_bytes",
    "message_bytes_ready",
    "message_bytes_unacknowledged",
    "message_bytes_ram",
    "consumers",
    "memory",
    "state",
    "type",
    "exclusive_consumer_tag",
    "head_message_timestamp",
    "messages_persistent",
    "message_bytes_persistent",
  ),
  ...["consumer_utilisation", "consumer_capacity", "disk_reads", "disk_writes"].map(absent),
  ...["pid", "owner_pid", "exclusive_consumer_pid", "slave_pids", "synchronised_slave_pids"].map(absent),
  field("leader", "node"),
  computed("members", ["node"], (q) => [q.node], "list"),
  computed("online", ["node"], (q) => [q.node], "list"),
);
export const QUEUE_DEFAULT = ["name", "messages"];

export const EXCHANGE_COLUMNS = set(
  ...plain("name", "type", "durable", "auto_delete", "internal"),
  field("arguments", "arguments", "table"),
  computed("policy", ["policy"], (e) => e.policy ?? ""),
);
export const EXCHANGE_DEFAULT = ["name", "type"];

export const BINDING_COLUMNS = set(
  field("source_name", "source"),
  computed("source_kind", [], () => "exchange"),
  field("destination_name", "destination"),
  field("destination_kind", "destination_type"),
  field("routing_key"),
  field("arguments", "arguments", "table"),
);
export const BINDING_DEFAULT = ["source_name", "source_kind", "destination_name", "destination_kind", "routing_key", "arguments"];

export const CONNECTION_COLUMNS = set(
  field("pid", "name"),
  ...plain(
    "name",
    "auth_mechanism",
    "channel_max",
    "channels",
    "connected_at",
    "frame_max",
    "host",
    "peer_cert_issuer",
    "peer_cert_subject",
    "peer_cert_validity",
    "peer_host",
    "peer_port",
    "port",
    "protocol",
    "recv_oct",
    "send_oct",
    "send_pend",
    "ssl",
    "ssl_cipher",
    "ssl_hash",
    "ssl_key_exchange",
    "ssl_protocol",
    "state",
    "timeout",
    "user",
    "vhost",
  ),
  field("client_properties", "client_properties", "table"),
  absent("recv_cnt"),
  absent("send_cnt"),
);
export const CONNECTION_DEFAULT = ["user", "peer_host", "peer_port", "state"];

export const CHANNEL_COLUMNS = set(
  field("pid", "name"),
  field("connection", "connection_details.name"),
  ...plain(
    "name",
    "number",
    "user",
    "vhost",
    "acks_uncommitted",
    "confirm",
    "consumer_count",
    "global_prefetch_count",
    "messages_unacknowledged",
    "messages_uncommitted",
    "messages_unconfirmed",
    "prefetch_count",
    "transactional",
  ),
);
export const CHANNEL_DEFAULT = ["pid", "user", "consumer_count", "messages_unacknowledged"];

export const CONSUMER_COLUMNS = set(
  field("queue_name", "queue.name"),
  field("channel_pid", "channel_details.name"),
  ...plain("consumer_tag", "ack_required", "prefetch_count", "active", "activity_status"),
  field("arguments", "arguments", "table"),
);
export const CONSUMER_DEFAULT = ["queue_name", "channel_pid", "consumer_tag", "ack_required", "prefetch_count", "active", "arguments"];

export const VHOST_COLUMNS = set(
  field("name"),
  field("description"),
  field("tags", "tags", "list"),
  field("tracing"),
  field("default_queue_type"),
  {
    ...field("cluster_state"),
    text: (state) => `[${Object.entries((state ?? {}) as Record<string, string>).map(([node, s]) => `{${node},${s}}`).join(",")}]`,
  },
);
export const VHOST_DEFAULT = ["name"];

export const USER_COLUMNS = set(field("user", "name"), field("tags", "tags", "list"));
export const PERMISSION_COLUMNS = set(...plain("user", "vhost", "configure", "write", "read"));
export const TOPIC_PERMISSION_COLUMNS = set(...plain("user", "vhost", "exchange", "write", "read"));
export const POLICY_COLUMNS = set(
  ...plain("vhost", "name", "pattern", "apply-to"),
  field("definition", "definition", "json"),
  field("priority"),
);
export const VHOST_LIMIT_COLUMNS = set(field("vhost"), field("limits", "value", "json"));
export const USER_LIMIT_COLUMNS = set(field("user"), field("limits", "value", "json"));
export const PARAMETER_COLUMNS = set(...plain("component", "name"), field("value", "value", "json"));
export const GLOBAL_PARAMETER_COLUMNS = set(field("name"), field("value", "value", "json"));
