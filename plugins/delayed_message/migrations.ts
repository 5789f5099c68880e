// The plugin's tables. Held messages are indexed by (due, id) for release and by (exchange, due,
// id) for the management listing and purges; each exchange's count is a column updated in the
// same transaction as its rows, so reading it is O(1) and a restart reads one row per exchange.
import type { PluginMigration } from "../../storage/plugin_tables.ts";

export const MIGRATIONS: readonly PluginMigration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE delayed_exchanges (
        id INTEGER PRIMARY KEY,
        vhost TEXT NOT NULL,
        name TEXT NOT NULL,
        held INTEGER NOT NULL DEFAULT 0,
        UNIQUE (vhost, name)
      );
      CREATE TABLE delayed_messages (
        id INTEGER PRIMARY KEY,
        exchange_id INTEGER NOT NULL,
        due INTEGER NOT NULL,
        delay INTEGER NOT NULL,
        published_at INTEGER NOT NULL,
        routing_key TEXT NOT NULL,
        properties BLOB NOT NULL,
        body BLOB NOT NULL
      );
      CREATE INDEX delayed_messages_by_due ON delayed_messages (due, id);
      CREATE INDEX delayed_messages_by_exchange ON delayed_messages (exchange_id, due, id);
    `,
  },
];
