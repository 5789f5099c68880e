// The statements that run once per deleted queue or exchange find their rows through an index:
// without one, deleting N queues read N × (the vhost's bindings) rows (10,000 queues: 14 s of
// SQLite). The boot's sweep reads only the messages it deletes (partial indexes), not every message
// row. A store made before them (schema 7) gets them on open.
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../../src/log.ts";
import { SqliteStore } from "../../../storage/sqlite_store.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function plan(db: Database, sql: string): string {
  const statement = db.prepare(`EXPLAIN QUERY PLAN ${sql}`);
  const rows = statement.all() as { detail: string }[];
  statement.finalize(); // an open statement would lock the table against the DROP INDEX below
  return rows.map((row) => row.detail).join("; ");
}

const BINDINGS_TO = "DELETE FROM bindings WHERE vhost = '/' AND destination_kind = 'queue' AND destination = 'q'";
// The boot's sweep (sqlite_open.ts sweepTransient).
const SWEEP_TRANSIENT = "DELETE FROM messages WHERE transient = 1";
const SWEEP_UNREFERENCED = "DELETE FROM messages WHERE refs <= 0";

function expectIndexed(db: Database): void {
  expect(plan(db, BINDINGS_TO)).toContain("USING INDEX bindings_by_destination");
  expect(plan(db, SWEEP_TRANSIENT)).toContain("USING INDEX messages_transient");
  expect(plan(db, SWEEP_UNREFERENCED)).toContain("USING INDEX messages_unreferenced");
}

test("deletes of bindings and the boot's sweeps use indexes, also in a store made before them", () => {
  const dir = mkdtempSync(join(tmpdir(), "warren-schema-"));
  dirs.push(dir);
  SqliteStore.open(dir, { fsync: false, log: createLogger("none") }).close();
  const path = join(dir, "warren.sqlite");
  let db = new Database(path);
  expectIndexed(db);
  // Back to schema 7: the indexes and the rows' body_size are gone, and opening the store brings them back.
  db.exec(`DROP INDEX bindings_by_destination; DROP INDEX messages_transient; DROP INDEX messages_unreferenced;
    ALTER TABLE queue_messages DROP COLUMN body_size; DELETE FROM schema_version WHERE version >= 8`);
  expect(plan(db, BINDINGS_TO)).not.toContain("bindings_by_destination");
  expect(plan(db, SWEEP_TRANSIENT)).toContain("SCAN messages");
  db.close();
  SqliteStore.open(dir, { fsync: false, log: createLogger("none") }).close();
  db = new Database(path);
  expectIndexed(db);
  db.close();
});
