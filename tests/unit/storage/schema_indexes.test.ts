// The statements that run once per deleted queue or exchange find their rows through an index:
// without one, deleting N queues read N × (the vhost's bindings) rows (10,000 queues: 14 s of SQLite).
// A store made before the index (schema 7) gets it on open.
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

function plan(db: Database): string {
  const statement = db.prepare("EXPLAIN QUERY PLAN DELETE FROM bindings WHERE vhost = ? AND destination_kind = ? AND destination = ?");
  const rows = statement.all("/", "queue", "q") as { detail: string }[];
  statement.finalize(); // an open statement would lock the table against the DROP INDEX below
  return rows.map((row) => row.detail).join("; ");
}

test("deleting the bindings to a queue uses an index, also in a store made before it", () => {
  const dir = mkdtempSync(join(tmpdir(), "warren-schema-"));
  dirs.push(dir);
  SqliteStore.open(dir, { fsync: false, log: createLogger("none") }).close();
  const path = join(dir, "warren.sqlite");
  let db = new Database(path);
  expect(plan(db)).toContain("USING INDEX bindings_by_destination");
  // Back to schema 7: the index is gone, and opening the store brings it back.
  db.exec(
    "DROP INDEX bindings_by_destination; ALTER TABLE queue_messages DROP COLUMN body_size; DELETE FROM schema_version WHERE version >= 8",
  );
  expect(plan(db)).not.toContain("bindings_by_destination");
  db.close();
  SqliteStore.open(dir, { fsync: false, log: createLogger("none") }).close();
  db = new Database(path);
  expect(plan(db)).toContain("USING INDEX bindings_by_destination");
  db.close();
});
