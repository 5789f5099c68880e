// The SQLite adapter under the store, on whichever runtime runs this file: bun:sqlite under
// `bun test`, node:sqlite under `deno task test:store` (deno.json maps src/runtime/sqlite.ts to
// src/runtime/deno/sqlite.ts). The store's durability rests on these settings and semantics.
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createLogger } from "../../../src/log.ts";
import { openSqlite, type SqlDatabase } from "../../../src/runtime/sqlite.ts";
import { SqliteStore } from "../../../storage/sqlite_store.ts";
import { tempDirs } from "../../helpers/temp_dirs.ts";

const log = createLogger("none");
const open: { close(): void }[] = [];
const tempDir = tempDirs("warren-sqlite-");

function database(): SqlDatabase {
  const db = openSqlite(join(tempDir(), "t.sqlite"));
  open.push(db);
  db.exec("PRAGMA synchronous = OFF"); // these tests are about semantics, not durability
  db.exec("CREATE TABLE t (v)");
  return db;
}

const values = (db: SqlDatabase) => db.prepare("SELECT v FROM t ORDER BY rowid").all<{ v: unknown }>().map((r) => r.v);

describe("sqlite adapter", () => {
  afterEach(() => {
    for (const handle of open.splice(0)) {
      try {
        handle.close();
      } catch {
        // closed by the test
      }
    }
  });

  // synchronous NORMAL with fsync too: the WAL is fsynced off the event loop before callbacks run
  // (storage/commit_sync.ts; tests/unit/storage/commit_sync.test.ts).
  test("the store runs in WAL mode with its directory locked, synchronous NORMAL with fsync and without", () => {
    for (const [fsync, synchronous] of [[true, 1], [false, 1]] as const) {
      const store = SqliteStore.open(tempDir(), { fsync, log });
      open.push(store);
      expect(store.db.prepare("PRAGMA journal_mode").get<{ journal_mode: string }>()?.journal_mode).toBe("wal");
      expect(store.db.prepare("PRAGMA synchronous").get<{ synchronous: number }>()?.synchronous).toBe(synchronous);
    }
  });

  test("a second store on the same directory is refused while the first holds it, and opens once it is closed", () => {
    const dir = tempDir();
    const first = SqliteStore.open(dir, { fsync: false, log });
    let refused = "";
    try {
      open.push(SqliteStore.open(dir, { fsync: false, log }));
    } catch (err) {
      refused = (err as Error).message;
    }
    expect(refused.includes("another Warren process is using it")).toBe(true);
    first.close();
    open.push(SqliteStore.open(dir, { fsync: false, log }));
  });

  test("a transaction commits as one, and a throw inside rolls all of it back", () => {
    const db = database();
    const insert = db.prepare("INSERT INTO t VALUES (?)");
    db.transaction(() => {
      insert.run(1);
      insert.run(2);
    });
    let thrown: unknown;
    try {
      db.transaction(() => {
        insert.run(3);
        throw new Error("boom");
      });
    } catch (err) {
      thrown = err;
    }
    expect((thrown as Error).message).toBe("boom");
    expect(values(db)).toEqual([1, 2]);
    // The database is usable after the rollback: no transaction left open.
    db.transaction(() => insert.run(4));
    expect(values(db)).toEqual([1, 2, 4]);
  });

  test("a nested transaction that throws undoes only its own writes", () => {
    const db = database();
    const insert = db.prepare("INSERT INTO t VALUES (?)");
    db.transaction(() => {
      insert.run(1);
      try {
        db.transaction(() => {
          insert.run(2);
          throw new Error("inner");
        });
      } catch {
        // the outer transaction goes on
      }
      insert.run(3);
    });
    expect(values(db)).toEqual([1, 3]);
  });

  test("values round-trip: integers, bigints, text, blobs, null, and booleans as 1 and 0", () => {
    const db = database();
    const insert = db.prepare("INSERT INTO t VALUES (?)");
    for (const v of [7, 2n ** 40n, "text", new Uint8Array([0, 1, 255]), null, true, false]) insert.run(v);
    const rows = values(db);
    expect(rows.slice(0, 3)).toEqual([7, 2 ** 40, "text"]);
    expect([...(rows[3] as Uint8Array)]).toEqual([0, 1, 255]);
    expect(rows.slice(4)).toEqual([null, 1, 0]);
  });

  test("get returns undefined for no row, and iterate yields every row", () => {
    const db = database();
    const insert = db.prepare("INSERT INTO t VALUES (?)");
    db.transaction(() => {
      for (let i = 0; i < 1000; i++) insert.run(i);
    });
    expect(db.prepare("SELECT v FROM t WHERE v = ?").get(-1)).toBeUndefined();
    let sum = 0;
    for (const row of db.prepare("SELECT v FROM t").iterate<{ v: number }>()) sum += row.v;
    expect(sum).toBe(499_500);
  });
});
