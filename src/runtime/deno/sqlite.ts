// SQLite on Deno through node:sqlite (built into Deno, SQLite compiled in; no FFI and no
// package), behind the same SqlDatabase/SqlStatement as the bun:sqlite adapter (../sqlite.ts).
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { SqlDatabase, SqlValue } from "../interfaces.ts";

export type { SqlDatabase, SqlStatement, SqlValue } from "../interfaces.ts";

type Bindable = Exclude<SqlValue, boolean>;

/** node:sqlite binds no booleans; bun:sqlite stores them as 1 and 0, and so do we. */
function bindable(params: SqlValue[]): Bindable[] {
  for (let i = 0; i < params.length; i++) {
    const value = params[i];
    if (typeof value === "boolean") params[i] = value ? 1 : 0;
  }
  return params as Bindable[];
}

export function openSqlite(path: string): SqlDatabase {
  const db = new DatabaseSync(path);
  let depth = 0;
  const run = (statement: StatementSync, params: SqlValue[]) => statement.run(...bindable(params));
  return {
    exec: (sql) => db.exec(sql),
    prepare(sql) {
      const statement = db.prepare(sql);
      return {
        run: (...params) => void run(statement, params),
        all: <T>(...params: SqlValue[]) => statement.all(...bindable(params)) as T[],
        get: <T>(...params: SqlValue[]) => statement.get(...bindable(params)) as T | undefined,
        iterate: <T>(...params: SqlValue[]) => statement.iterate(...bindable(params)) as unknown as IterableIterator<T>,
      };
    },
    // As bun:sqlite's transaction().immediate(): BEGIN IMMEDIATE at the outside, savepoints inside.
    transaction(fn) {
      const savepoint = `warren_${depth}`;
      db.exec(depth === 0 ? "BEGIN IMMEDIATE" : `SAVEPOINT ${savepoint}`);
      depth++;
      try {
        fn();
        db.exec(depth === 1 ? "COMMIT" : `RELEASE ${savepoint}`);
        depth--;
      } catch (err) {
        depth--;
        // SQLite may have rolled back already (SQLITE_FULL ends the transaction): then there is
        // nothing to roll back, and the original error is what the caller must see.
        try {
          db.exec(depth === 0 ? "ROLLBACK" : `ROLLBACK TO ${savepoint}; RELEASE ${savepoint}`);
        } catch {
          // no transaction left
        }
        throw err;
      }
    },
    // node:sqlite finalizes the statements itself, releasing the file and its exclusive lock.
    close: () => db.close(),
  };
}
