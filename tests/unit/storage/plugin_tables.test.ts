// Plugins' own tables in the SQLite store: migrations applied once and in order, a store newer
// than the plugin refused, writes committed with the group commit (lost with it in a crash).
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
const log = createLogger("none");
const V1 = { version: 1, sql: "CREATE TABLE p_items (n INTEGER NOT NULL)" };
const V2 = { version: 2, sql: "ALTER TABLE p_items ADD COLUMN label TEXT NOT NULL DEFAULT ''" };

test("a plugin's migrations run once, in order; its writes commit with the group commit", () => {
  const dir = mkdtempSync(join(tmpdir(), "warren-ptables-"));
  dirs.push(dir);
  let store = SqliteStore.open(dir, { fsync: false, log });
  let tables = store.pluginTables("p", [V2, V1]);
  tables.write((db) => db.prepare("INSERT INTO p_items (n, label) VALUES (?, ?)").run(1, "a"));
  let committed = false;
  tables.afterCommit(() => (committed = true));
  expect(committed).toBe(false);
  expect(tables.query<{ n: number }>("SELECT n FROM p_items")).toEqual([{ n: 1 }]); // reads commit first
  expect(committed).toBe(true);
  tables.write((db) => db.prepare("INSERT INTO p_items (n) VALUES (?)").run(2));
  store.abandon(); // a crash: the second write was never committed
  store = SqliteStore.open(dir, { fsync: false, log });
  tables = store.pluginTables("p", [V1, V2]); // nothing to apply again
  expect(tables.query<{ n: number; label: string }>("SELECT n, label FROM p_items")).toEqual([{ n: 1, label: "a" }]);
  expect(() => store.pluginTables("p", [V1])).toThrow("the store has plugin p's schema version 2, newer than this plugin knows (1)");
  store.close();
});

test("readCommitted reads what is committed without committing pending writes", () => {
  const dir = mkdtempSync(join(tmpdir(), "warren-ptables-"));
  dirs.push(dir);
  const store = SqliteStore.open(dir, { fsync: false, log });
  const tables = store.pluginTables("p", [V1]);
  tables.write((db) => db.prepare("INSERT INTO p_items (n) VALUES (?)").run(1));
  let committed = false;
  tables.afterCommit(() => (committed = true));
  expect(tables.readCommitted<{ n: number }>("SELECT n FROM p_items")).toEqual([]);
  expect(committed).toBe(false);
  store.commit();
  expect(tables.readCommitted<{ n: number }>("SELECT n FROM p_items")).toEqual([{ n: 1 }]);
  store.close();
});
