// The A/B suffix of each exchange link's upstream exchange (rabbit_federation_db: the exchange's
// scratch space in RabbitMQ). Each start of a link declares the other suffix, binds it, and only
// then deletes the old one, so no message routed upstream meanwhile is lost. Kept in the
// plugin's table so a restart of the broker alternates too.
import type { PluginMigration, PluginTables } from "../../storage/plugin_tables.ts";

export const SUFFIX_MIGRATIONS: readonly PluginMigration[] = [{
  version: 1,
  sql:
    "CREATE TABLE federation_suffix (vhost TEXT NOT NULL, exchange TEXT NOT NULL, upstream TEXT NOT NULL, suffix TEXT NOT NULL, PRIMARY KEY (vhost, exchange, upstream))",
}];

export type Suffix = "A" | "B";

export class Suffixes {
  /** The table's contents (or all there is, for a broker without a store). */
  private readonly cache = new Map<string, Suffix>();

  constructor(private readonly tables: PluginTables | undefined) {}

  /** The suffix in use ("A" before any link ran). */
  get(vhost: string, exchange: string, upstream: string): Suffix {
    const key = `${vhost}\u0000${exchange}\u0000${upstream}`;
    let suffix = this.cache.get(key);
    if (suffix === undefined) {
      const row = this.tables?.query<{ suffix: string }>(
        "SELECT suffix FROM federation_suffix WHERE vhost = ? AND exchange = ? AND upstream = ?",
        vhost,
        exchange,
        upstream,
      )[0];
      suffix = row?.suffix === "B" ? "B" : "A";
      this.cache.set(key, suffix);
    }
    return suffix;
  }

  set(vhost: string, exchange: string, upstream: string, suffix: Suffix): void {
    this.cache.set(`${vhost}\u0000${exchange}\u0000${upstream}`, suffix);
    this.tables?.write((db) =>
      db.prepare("INSERT OR REPLACE INTO federation_suffix (vhost, exchange, upstream, suffix) VALUES (?, ?, ?, ?)").run(
        vhost,
        exchange,
        upstream,
        suffix,
      )
    );
  }
}
