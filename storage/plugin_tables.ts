// Plugins' own tables in the SQLite store: each plugin has numbered migrations (applied once, in
// one transaction, tracked per plugin in plugin_schema), writes that run inside the store's next
// group commit (so a plugin's row and the messages it refers to commit together), and reads.
import type { SqlDatabase, SqlStatement, SqlValue } from "../src/runtime/sqlite.ts";

export interface PluginMigration {
  version: number;
  sql: string;
}

/** What a plugin gets of the store. */
export interface PluginTables {
  /** Records a write for the next group commit (inside its transaction). */
  write(fn: (db: SqlDatabase) => void): void;
  /** Rows of a query; pending writes are committed first, so a plugin reads what it wrote. */
  query<T = Record<string, SqlValue>>(sql: string, ...params: SqlValue[]): T[];
  /**
   * Rows of a query over what is committed, without committing pending writes first (a read on
   * a hot path must not force a commit, and its fsync, per call; the plugin accounts for its own
   * pending writes). Writes of commits already made are seen (the store's writer thread may still
   * be applying them: the read waits for it, not for an fsync).
   */
  readCommitted<T = Record<string, SqlValue>>(sql: string, ...params: SqlValue[]): T[];
  /** Runs `fn` once everything recorded so far is durable. */
  afterCommit(fn: () => void): void;
}

export class PluginMigrationError extends Error {}

/** Applies a plugin's migrations above its stored version; refuses a store newer than the plugin. */
export function migratePlugin(db: SqlDatabase, plugin: string, migrations: readonly PluginMigration[]): void {
  const current = db.prepare("SELECT version FROM plugin_schema WHERE plugin = ?").get<{ version: number }>(plugin)?.version ?? 0;
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  if (current > latest) {
    throw new PluginMigrationError(`the store has plugin ${plugin}'s schema version ${current}, newer than this plugin knows (${latest})`);
  }
  const pending = migrations.filter((m) => m.version > current).sort((a, b) => a.version - b.version);
  if (pending.length === 0) return;
  db.transaction(() => {
    for (const m of pending) db.exec(m.sql);
    db.prepare("INSERT OR REPLACE INTO plugin_schema (plugin, version) VALUES (?, ?)").run(plugin, pending[pending.length - 1]!.version);
  });
}

/** The group commit a plugin's SQL tables write through. */
export interface PluginCommits {
  record(fn: () => void): void;
  commit(): void;
  /** Waits until what was committed (sent to the store's writer) can be read. */
  settle(): void;
  afterCommit(fn: () => void): void;
}

/**
 * PluginTables over a SQLite database: reads on `db` (statements prepared once), writes made on
 * `writes` (the store's recorder: they become part of the next commit's batch).
 */
export function sqlPluginTables(db: SqlDatabase, writes: SqlDatabase, commits: PluginCommits): PluginTables {
  const statements = new Map<string, SqlStatement>();
  const read = <T>(sql: string, params: SqlValue[]) => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, statement = db.prepare(sql));
    return statement.all<T>(...params);
  };
  return {
    write: (fn) => commits.record(() => fn(writes)),
    query: <T>(sql: string, ...params: SqlValue[]) => {
      commits.commit();
      return read<T>(sql, params);
    },
    readCommitted: <T>(sql: string, ...params: SqlValue[]) => {
      commits.settle();
      return read<T>(sql, params);
    },
    afterCommit: (fn) => commits.afterCommit(fn),
  };
}
