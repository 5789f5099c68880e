// The prepared statements of the SQLite store, in one place.
import type { SqlDatabase, SqlStatement } from "../src/runtime/sqlite.ts";

export type Statements = ReturnType<typeof prepareStatements>;

/** The columns the commit inserts, many rows per statement (storage/batched_writes.ts). */
export const MESSAGE_COLUMNS = [
  "id",
  "exchange",
  "routing_key",
  "properties",
  "body",
  "refs",
  "transient",
  "segment",
  "segment_offset",
  "body_size",
];
export const ROW_COLUMNS = ["queue_id", "seq", "message_id", "expires_at", "delivery_count", "body_size"];

export function prepareStatements(db: SqlDatabase) {
  const p = (sql: string): SqlStatement => db.prepare(sql);
  return {
    saveVhost: p("INSERT OR REPLACE INTO vhosts (name, description, tags, limits) VALUES (?, ?, ?, ?)"),
    saveUser: p("INSERT OR REPLACE INTO users (name, password_hash, hashing_algorithm, tags, limits) VALUES (?, ?, ?, ?, ?)"),
    saveRuntimeParameter: p("INSERT OR REPLACE INTO runtime_parameters (vhost, component, name, value) VALUES (?, ?, ?, ?)"),
    deleteRuntimeParameter: p("DELETE FROM runtime_parameters WHERE vhost = ? AND component = ? AND name = ?"),
    saveGlobalParameter: p("INSERT OR REPLACE INTO global_parameters (name, value) VALUES (?, ?)"),
    deleteGlobalParameter: p("DELETE FROM global_parameters WHERE name = ?"),
    savePermission: p("INSERT OR REPLACE INTO permissions (user, vhost, configure, write, read) VALUES (?, ?, ?, ?, ?)"),
    deletePermission: p("DELETE FROM permissions WHERE user = ? AND vhost = ?"),
    saveTopicPermission: p("INSERT OR REPLACE INTO topic_permissions (user, vhost, exchange, write, read) VALUES (?, ?, ?, ?, ?)"),
    deleteTopicPermission: p("DELETE FROM topic_permissions WHERE user = ? AND vhost = ? AND exchange = ?"),
    deleteTopicPermissions: p("DELETE FROM topic_permissions WHERE user = ? AND vhost = ?"),
    saveExchange: p("INSERT OR REPLACE INTO exchanges (vhost, name, type, auto_delete, internal, arguments) VALUES (?, ?, ?, ?, ?, ?)"),
    deleteExchange: p("DELETE FROM exchanges WHERE vhost = ? AND name = ?"),
    saveQueue: p("INSERT OR REPLACE INTO queues (id, vhost, name, auto_delete, arguments) VALUES (?, ?, ?, ?, ?)"),
    deleteQueue: p("DELETE FROM queues WHERE id = ?"),
    // A dropped range (purge, queue delete): messages only this queue refers to are deleted, the
    // others lose one reference and keep at least one (refs counts rows of distinct queues).
    // Deleting first spares the UPDATE rewriting every page of messages about to go.
    deleteUnsharedFrom: p(
      "DELETE FROM messages WHERE refs = 1 AND id IN (SELECT message_id FROM queue_messages WHERE queue_id = ?1 AND seq >= ?2 AND seq < ?3) RETURNING segment",
    ),
    releaseSharedFrom: p(
      "UPDATE messages SET refs = refs - 1 WHERE refs > 1 AND id IN (SELECT message_id FROM queue_messages WHERE queue_id = ?1 AND seq >= ?2 AND seq < ?3)",
    ),
    deleteRowsFrom: p("DELETE FROM queue_messages WHERE queue_id = ? AND seq >= ? AND seq < ?"),
    queueStats: p(`SELECT COUNT(*) AS n, SUM(COALESCE(q.body_size, (SELECT m.body_size FROM messages m WHERE m.id = q.message_id))) AS b,
      MAX(q.seq) AS m, MAX(q.expires_at) AS e FROM queue_messages q WHERE q.queue_id = ? AND q.seq >= ? AND q.seq < ?`),
    queueDelivered: p("SELECT delivered_seq AS s FROM queues WHERE id = ?"),
    levelsDelivered: p("SELECT level, seq FROM queue_levels_delivered WHERE queue_id = ?"),
    markLevelDelivered: p(`INSERT INTO queue_levels_delivered (queue_id, level, seq) VALUES (?, ?, ?)
      ON CONFLICT (queue_id, level) DO UPDATE SET seq = MAX(seq, excluded.seq)`),
    deleteLevelsDelivered: p("DELETE FROM queue_levels_delivered WHERE queue_id = ?"),
    releaseMessage: p("UPDATE messages SET refs = refs - 1 WHERE id = ?"),
    deleteIfUnreferenced: p("DELETE FROM messages WHERE id = ? AND refs <= 0 RETURNING segment"),
    saveBinding: p(
      "INSERT OR IGNORE INTO bindings (vhost, source, destination_kind, destination, routing_key, arguments) VALUES (?, ?, ?, ?, ?, ?)",
    ),
    deleteBinding: p(
      "DELETE FROM bindings WHERE vhost = ? AND source = ? AND destination_kind = ? AND destination = ? AND routing_key = ? AND arguments = ?",
    ),
    deleteBindingsTo: p("DELETE FROM bindings WHERE vhost = ? AND destination_kind = ? AND destination = ?"),
    deleteBindingsFrom: p("DELETE FROM bindings WHERE vhost = ? AND source = ?"),
    deleteMessage: p("DELETE FROM messages WHERE id = ?"),
    deleteMessagesFrom: p("DELETE FROM messages WHERE id >= ? AND id < ?"),
    setDeliveryCount: p("UPDATE queue_messages SET delivery_count = ? WHERE queue_id = ? AND seq = ?"),
    addRefs: p("UPDATE messages SET refs = refs + ? WHERE id = ? RETURNING id"),
    messageCount: p("SELECT COUNT(*) AS n FROM messages"),
    deleteRow: p("DELETE FROM queue_messages WHERE queue_id = ? AND seq = ?"),
    markDelivered: p("UPDATE queues SET delivered_seq = MAX(delivered_seq, ?) WHERE id = ?"),
    page: p(`SELECT q.seq AS seq, m.id AS id, m.exchange AS exchange, m.routing_key AS routing_key,
        m.properties AS properties, m.body AS body, m.refs AS refs, q.expires_at AS expires_at,
        q.delivery_count AS delivery_count, m.segment AS segment,
        m.segment_offset AS segment_offset, m.body_size AS body_size
      FROM queue_messages q JOIN messages m ON m.id = q.message_id
      WHERE q.queue_id = ? AND q.seq >= ? AND q.seq < ? ORDER BY q.seq LIMIT ?`),
    // The first or last rows of a queue's range without their bodies (DiskRows).
    headRows: p(`SELECT q.seq AS seq, m.body_size AS body_size, m.transient AS transient
      FROM queue_messages q JOIN messages m ON m.id = q.message_id
      WHERE q.queue_id = ? AND q.seq >= ? AND q.seq < ? ORDER BY q.seq LIMIT ?`),
    tailRows: p(`SELECT q.seq AS seq, m.body_size AS body_size, m.transient AS transient
      FROM queue_messages q JOIN messages m ON m.id = q.message_id
      WHERE q.queue_id = ? AND q.seq >= ? AND q.seq < ? ORDER BY q.seq DESC LIMIT ?`),
  };
}

/** A row of the page statement. */
export interface PageRow {
  seq: number;
  id: number;
  exchange: string;
  routing_key: string;
  properties: Uint8Array;
  body: Uint8Array;
  refs: number;
  expires_at: number;
  delivery_count: number;
  segment: number | null;
  segment_offset: number | null;
  body_size: number;
}
