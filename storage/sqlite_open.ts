// Opening the SQLite store: the data directory's lock, the upgrade of stores made before issue 23, the
// numbered migrations and the boot sweep of transient rows.
import type { Logger } from "../src/log.ts";
import { join } from "node:path";
import { removeFile, replaceFile } from "../src/runtime/fs.ts";
import { openSqlite, type SqlDatabase } from "../src/runtime/sqlite.ts";
import { MIGRATIONS, PAGE_SIZE, SCHEMA_VERSION } from "./schema.ts";
import { buildIncrementalCopy, needsRebuild, UPGRADE_SUFFIX } from "./upgrade.ts";

export class StoreError extends Error {}

/** A write failed because the disk (or the file system) is full. */
export function isDiskFull(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return e?.code === "SQLITE_FULL" || e?.code === "ENOSPC" || /database or disk is full|ENOSPC|no space left/i.test(String(e?.message));
}

/** The data directory's lock file: held open with an exclusive lock while a store uses it. */
export const LOCK_FILE = "warren.lock";

/**
 * Takes the data directory's lock (a second Warren fails here). The lock is a small SQLite file
 * held in EXCLUSIVE locking mode, not the store itself: the store's database has two
 * connections (the event loop's and the writer thread's), which WAL shares through its index.
 */
export function lockDataDir(dataDir: string): SqlDatabase {
  let lock: SqlDatabase | undefined;
  try {
    lock = openSqlite(join(dataDir, LOCK_FILE));
    lock.exec("PRAGMA locking_mode = EXCLUSIVE");
    lock.exec("PRAGMA journal_mode = MEMORY"); // no journal file beside it
    // Held from here until the lock is closed: another process gets SQLITE_BUSY.
    lock.exec("BEGIN EXCLUSIVE; COMMIT");
    return lock;
  } catch (err) {
    lock?.close();
    const message = (err as Error).message;
    if (/locked|busy/i.test(message)) {
      throw new StoreError(`Cannot open the store in ${dataDir}: another Warren process is using it (${message})`);
    }
    throw new StoreError(`Cannot open the store in ${dataDir}: ${message}`);
  }
}

/** Opens the database in WAL mode (the data directory's lock is already held). */
export function lockStore(path: string): SqlDatabase {
  let db: SqlDatabase | undefined;
  try {
    db = openSqlite(path);
    // The writer thread's connection may hold the write lock for a commit: wait for it.
    db.exec("PRAGMA busy_timeout = 10000");
    // A new store gives freed pages back (issue 23); this must be set before the first table.
    const empty = db.prepare("SELECT COUNT(*) AS n FROM sqlite_master").get<{ n: number }>()?.n === 0;
    if (empty) db.exec(`PRAGMA page_size = ${PAGE_SIZE}`);
    if (empty) db.exec("PRAGMA auto_vacuum = INCREMENTAL");
    db.exec("PRAGMA journal_mode = WAL");
    return db;
  } catch (err) {
    db?.close();
    throw new StoreError(`Cannot open the store at ${path}: ${(err as Error).message}`);
  }
}

/**
 * A store made before issue 23 is rebuilt with auto_vacuum=INCREMENTAL (storage/upgrade.ts);
 * returns the database to go on with. Where the copy cannot be made (no room for it) the old
 * store is kept as it is, and the next boot tries again.
 */
export function upgradeIfNeeded(db: SqlDatabase, dataDir: string, path: string, log: Logger): SqlDatabase {
  if (!needsRebuild(db)) {
    removeFile(path + UPGRADE_SUFFIX); // left by an upgrade that did not finish
    return db;
  }
  let copy: string;
  try {
    copy = buildIncrementalCopy(db, path, log);
  } catch (err) {
    removeFile(path + UPGRADE_SUFFIX);
    log.warning(`Cannot upgrade the store now, it keeps working without giving space back: ${(err as Error).message}`);
    return db;
  }
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
  // The old store's WAL is empty now; it must not be read as the new file's.
  removeFile(path + "-wal");
  replaceFile(copy, path, dataDir);
  log.info(`Store upgraded: ${path} now gives disk space back as messages are acked`);
  return lockStore(path);
}

/** Boot: drop messages that were on disk only because their queue was paging, and unreferenced ones. */
export function sweepTransient(db: SqlDatabase): void {
  db.transaction(() => {
    // Each WHERE is one of the partial indexes' own (schema 9), so neither reads every message.
    db.exec("DELETE FROM queue_messages WHERE queue_id < 0 OR message_id IN (SELECT id FROM messages WHERE transient = 1)");
    db.exec("DELETE FROM messages WHERE transient = 1");
    db.exec("DELETE FROM messages WHERE refs <= 0");
  });
}

export function migrate(db: SqlDatabase, path: string): void {
  db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  const current = db.prepare("SELECT MAX(version) AS v FROM schema_version").get<{ v: number | null }>()?.v ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new StoreError(
      `The store at ${path} has schema version ${current}, newer than this Warren supports (${SCHEMA_VERSION}); refusing to touch it`,
    );
  }
  const pending = MIGRATIONS.filter((m) => m.version > current);
  if (pending.length === 0) return;
  db.transaction(() => {
    for (const m of pending) {
      db.exec(m.sql);
      db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(m.version);
    }
  });
}
