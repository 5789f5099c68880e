// Numbered schema migrations, applied at boot in one transaction. Append; never edit one
// that has shipped.

/**
 * The page size of a new store (and of a store rebuilt by the upgrade). 16 KiB rather than
 * SQLite's 4 KiB: with 1 KiB bodies a 4 KiB page holds three messages, so every insert, read and
 * delete of a backlog walks and rewrites four times as many pages. Measured (docs/storage.md,
 * "Page size"): a 1M x 1 KiB backlog fills 13-28 % and drains 25 % faster; the persistent rows
 * with consumers and confirm latency at 2,000 msg/s are unchanged. A store keeps the page size it
 * was made with (SQLite changes it only by rebuilding the file).
 */
export const PAGE_SIZE = 16 * 1024;

export const MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE vhosts (name TEXT PRIMARY KEY);
      CREATE TABLE users (name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, hashing_algorithm TEXT NOT NULL, tags TEXT NOT NULL);
      CREATE TABLE permissions (
        user TEXT NOT NULL, vhost TEXT NOT NULL, configure TEXT NOT NULL, write TEXT NOT NULL, read TEXT NOT NULL,
        PRIMARY KEY (user, vhost));
      CREATE TABLE exchanges (
        vhost TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL, auto_delete INTEGER NOT NULL,
        internal INTEGER NOT NULL, arguments BLOB NOT NULL, PRIMARY KEY (vhost, name));
      CREATE TABLE queues (
        id INTEGER PRIMARY KEY, vhost TEXT NOT NULL, name TEXT NOT NULL, auto_delete INTEGER NOT NULL,
        arguments BLOB NOT NULL,
        -- deliveries leave a queue in seq order: messages at or below this were delivered at least once
        delivered_seq INTEGER NOT NULL DEFAULT 0,
        UNIQUE (vhost, name));
      CREATE TABLE bindings (
        vhost TEXT NOT NULL, source TEXT NOT NULL, destination_kind TEXT NOT NULL, destination TEXT NOT NULL,
        routing_key TEXT NOT NULL, arguments BLOB NOT NULL,
        PRIMARY KEY (vhost, source, destination_kind, destination, routing_key, arguments));
      CREATE TABLE policies (vhost TEXT NOT NULL, name TEXT NOT NULL, definition TEXT NOT NULL, PRIMARY KEY (vhost, name));
      CREATE TABLE runtime_parameters (
        vhost TEXT NOT NULL, component TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY (vhost, component, name));
      -- one row per stored message, shared by every durable queue it was routed to; refs counts
      -- its queue_messages rows. transient = 1: written only because its queue was paging; such
      -- rows are dropped at boot.
      -- Bodies of at least the segment threshold live in segment files: body is empty and
      -- (segment, segment_offset, body_size) say where.
      CREATE TABLE messages (
        id INTEGER PRIMARY KEY, exchange TEXT NOT NULL, routing_key TEXT NOT NULL,
        properties BLOB NOT NULL, body BLOB NOT NULL, refs INTEGER NOT NULL, transient INTEGER NOT NULL,
        segment INTEGER, segment_offset INTEGER, body_size INTEGER NOT NULL);
      -- each queue's messages in order
      CREATE TABLE queue_messages (
        queue_id INTEGER NOT NULL, seq INTEGER NOT NULL, message_id INTEGER NOT NULL,
        expires_at INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (queue_id, seq)) WITHOUT ROWID;
    `,
  },
  {
    // Issue 6: vhost metadata and limits, user limits, topic permissions (limits as JSON objects).
    version: 2,
    sql: `
      ALTER TABLE vhosts ADD COLUMN description TEXT NOT NULL DEFAULT '';
      ALTER TABLE vhosts ADD COLUMN tags TEXT NOT NULL DEFAULT '';
      ALTER TABLE vhosts ADD COLUMN limits TEXT NOT NULL DEFAULT '{}';
      ALTER TABLE users ADD COLUMN limits TEXT NOT NULL DEFAULT '{}';
      CREATE TABLE topic_permissions (
        user TEXT NOT NULL, vhost TEXT NOT NULL, exchange TEXT NOT NULL, write TEXT NOT NULL, read TEXT NOT NULL,
        PRIMARY KEY (user, vhost, exchange));
      -- The default user and vhost are created once: a store whose vhosts were all deleted is not new.
      INSERT INTO meta (key, value) SELECT 'defaults_created', '1' WHERE EXISTS (SELECT 1 FROM vhosts);
    `,
  },
  {
    version: 3,
    sql: `
      -- priority queues: the delivered watermark of each priority level above 0 (level 0 keeps
      -- queues.delivered_seq); level k's seqs are k * 2^40 + 1 …
      CREATE TABLE queue_levels_delivered (
        queue_id INTEGER NOT NULL, level INTEGER NOT NULL, seq INTEGER NOT NULL,
        PRIMARY KEY (queue_id, level)) WITHOUT ROWID;
    `,
  },
  {
    version: 4,
    sql: `
      -- rabbit_runtime_parameters' global values (internal_cluster_id, cluster_name, …), as JSON
      CREATE TABLE global_parameters (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    `,
  },
  {
    version: 5,
    sql: `
      -- quorum queues: how often a message was returned (x-delivery-count), kept across restarts
      ALTER TABLE queue_messages ADD COLUMN delivery_count INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 6,
    sql: `
      -- plugins' own tables: the schema version each plugin's migrations reached
      CREATE TABLE plugin_schema (plugin TEXT PRIMARY KEY, version INTEGER NOT NULL);
    `,
  },
  {
    version: 7,
    sql: `
      -- a queue's rows dropped (purge, queue delete) but not deleted yet: the first chunk goes with
      -- the drop's commit, the rest a chunk per commit after it, and a boot finishes what is left
      -- before anything is read (storage/dropped_ranges.ts)
      CREATE TABLE dropped_ranges (
        queue_id INTEGER NOT NULL, from_seq INTEGER NOT NULL, to_seq INTEGER NOT NULL,
        PRIMARY KEY (queue_id, from_seq)) WITHOUT ROWID;
    `,
  },
  {
    version: 8,
    sql: `
      -- deleting a queue or exchange deletes the bindings to it: without this index every delete
      -- read all of the vhost's bindings (10,000 queues deleted one by one: 14 s of SQLite)
      CREATE INDEX bindings_by_destination ON bindings (vhost, destination_kind, destination);
    `,
  },
  {
    version: 9,
    sql: `
      -- the body size in the queue's own row: a boot counts a queue's bytes from these small rows
      -- instead of reading every message row (1.25M × 1 KiB: 8.8 s). NULL in rows written before;
      -- those still look the size up in messages.
      ALTER TABLE queue_messages ADD COLUMN body_size INTEGER;
      -- the boot's sweep finds paged transient messages and unreferenced ones through these instead
      -- of reading the whole messages table twice (1.3 GB of messages: 1.7 s)
      CREATE INDEX messages_transient ON messages (id) WHERE transient = 1;
      CREATE INDEX messages_unreferenced ON messages (id) WHERE refs <= 0;
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
