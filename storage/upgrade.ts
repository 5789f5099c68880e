// Stores made before issue 23 have auto_vacuum=NONE, which SQLite changes only by rebuilding
// the file. The rebuild copies every table into `warren.sqlite.upgrade` (chunk by chunk, with
// progress in the log), checks the row counts, and renames the copy over the store. A kill -9
// at any moment leaves either the old store (the half-built copy is deleted at the next boot)
// or the new one: the rename is the only step that changes the store.
import type { Logger } from "../src/log.ts";
import type { SqlDatabase } from "../src/runtime/sqlite.ts";
import { openFile, removeFile } from "../src/runtime/fs.ts";
import { PAGE_SIZE } from "./schema.ts";

export const UPGRADE_SUFFIX = ".upgrade";
/** SQLite's auto_vacuum value for INCREMENTAL. */
export const AUTO_VACUUM_INCREMENTAL = 2;
const CHUNK_ROWS = 20_000;
const PROGRESS_EVERY_MS = 2000;

/** The store has tables but cannot give space back yet. */
export function needsRebuild(db: SqlDatabase): boolean {
  const tables = db.prepare("SELECT COUNT(*) AS n FROM sqlite_master").get<{ n: number }>()?.n ?? 0;
  const mode = db.prepare("PRAGMA auto_vacuum").get<{ auto_vacuum: number }>()?.auto_vacuum ?? 0;
  return tables > 0 && mode !== AUTO_VACUUM_INCREMENTAL;
}

interface SchemaObject {
  type: "table" | "index" | "trigger" | "view";
  name: string;
  sql: string;
}

/**
 * Builds the incremental-vacuum copy of the store open in `db` at `path + UPGRADE_SUFFIX`,
 * made durable. The caller closes `db` and renames the copy over the store.
 */
export function buildIncrementalCopy(db: SqlDatabase, path: string, log: Logger): string {
  const copy = path + UPGRADE_SUFFIX;
  removeFile(copy); // an earlier upgrade was interrupted
  removeFile(copy + "-journal");
  const started = performance.now();
  const pageSize = db.prepare("PRAGMA page_size").get<{ page_size: number }>()!.page_size;
  const pages = db.prepare("PRAGMA page_count").get<{ page_count: number }>()!.page_count;
  const free = db.prepare("PRAGMA freelist_count").get<{ freelist_count: number }>()!.freelist_count;
  log.info(
    `Upgrading the store to give disk space back (auto_vacuum=INCREMENTAL): copying ${mb((pages - free) * pageSize)} ` +
      `of ${mb(pages * pageSize)} into ${copy}`,
  );
  db.exec(`ATTACH DATABASE '${copy.replace(/'/g, "''")}' AS fresh`);
  try {
    db.exec(`PRAGMA fresh.page_size = ${PAGE_SIZE}`);
    db.exec("PRAGMA fresh.auto_vacuum = INCREMENTAL");
    // The copy is made durable once, at the end; until the rename it is not the store.
    db.exec("PRAGMA fresh.journal_mode = OFF");
    db.exec("PRAGMA fresh.synchronous = OFF");
    const objects = db.prepare("SELECT type, name, sql FROM main.sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'").all<
      SchemaObject
    >();
    const tables = objects.filter((o) => o.type === "table");
    for (const table of tables) db.exec(inFresh(table.sql));
    for (const table of tables) copyTable(db, table, log);
    for (const other of objects.filter((o) => o.type !== "table")) db.exec(inFresh(other.sql));
    for (const table of tables) {
      const count = (schema: string) => db.prepare(`SELECT COUNT(*) AS n FROM ${schema}.${quote(table.name)}`).get<{ n: number }>()!.n;
      const before = count("main");
      const after = count("fresh");
      if (before !== after) throw new Error(`Cannot upgrade the store: table ${table.name} has ${before} rows but its copy ${after}`);
    }
  } finally {
    db.exec("DETACH DATABASE fresh");
  }
  const file = openFile(copy, "read");
  file.sync();
  file.close();
  log.info(`Store copy complete in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return copy;
}

function copyTable(db: SqlDatabase, table: SchemaObject, log: Logger): void {
  const name = quote(table.name);
  if (/WITHOUT\s+ROWID/i.test(table.sql)) {
    db.transaction(() => db.exec(`INSERT INTO fresh.${name} SELECT * FROM main.${name}`));
    return;
  }
  // rowid kept: some tables are read in rowid order (bindings).
  const columns = db.prepare(`PRAGMA main.table_info(${name})`).all<{ name: string }>().map((c) => quote(c.name)).join(", ");
  const total = db.prepare(`SELECT COUNT(*) AS n FROM main.${name}`).get<{ n: number }>()!.n;
  const next = db.prepare(`SELECT MIN(rowid) AS r FROM main.${name} WHERE rowid > ?`);
  const copy = db.prepare(
    `INSERT INTO fresh.${name} (rowid, ${columns}) SELECT rowid, ${columns} FROM main.${name} WHERE rowid >= ? AND rowid < ?`,
  );
  const done = db.prepare(`SELECT COUNT(*) AS n FROM fresh.${name}`);
  let last = Number.MIN_SAFE_INTEGER;
  let logged = performance.now();
  for (;;) {
    const start = next.get<{ r: number | null }>(last)?.r ?? null;
    if (start === null) break;
    db.transaction(() => copy.run(start, start + CHUNK_ROWS));
    last = start + CHUNK_ROWS - 1;
    if (performance.now() - logged >= PROGRESS_EVERY_MS) {
      logged = performance.now();
      const n = done.get<{ n: number }>()!.n;
      log.info(`Upgrading the store: ${n} of ${total} rows of ${table.name} copied (${Math.floor((100 * n) / Math.max(total, 1))}%)`);
    }
  }
}

/** The CREATE statement with its object placed in the attached copy. */
function inFresh(sql: string): string {
  const m = /^CREATE\s+(UNIQUE\s+INDEX|INDEX|TABLE|TRIGGER|VIEW)\s+(IF\s+NOT\s+EXISTS\s+)?/i.exec(sql);
  if (!m) throw new Error(`Cannot upgrade the store: unexpected schema statement ${sql.slice(0, 80)}`);
  return `${m[0]}fresh.${sql.slice(m[0].length)}`;
}

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
