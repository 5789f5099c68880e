// SQLite through bun:sqlite. The store sees only SqlDatabase/SqlStatement (interfaces.ts);
// src/runtime/deno/sqlite.ts backs them with node:sqlite on Deno.
import { Database } from "bun:sqlite";
import type { SqlDatabase, SqlValue } from "./interfaces.ts";

export type { SqlDatabase, SqlStatement, SqlValue } from "./interfaces.ts";

export function openSqlite(path: string): SqlDatabase {
  const db = new Database(path, { create: true });
  const statements: { finalize(): void }[] = [];
  return {
    exec: (sql) => void db.exec(sql),
    prepare(sql) {
      const statement = db.prepare(sql);
      statements.push(statement);
      return {
        run: (...params) => void statement.run(...(params as never[])),
        all: <T>(...params: SqlValue[]) => statement.all(...(params as never[])) as T[],
        get: <T>(...params: SqlValue[]) => (statement.get(...(params as never[])) ?? undefined) as T | undefined,
        iterate: <T>(...params: SqlValue[]) => statement.iterate(...(params as never[])) as IterableIterator<T>,
      };
    },
    transaction: (fn) => db.transaction(fn).immediate(),
    // Statements are finalized first so the file (and its exclusive lock) is released now.
    close() {
      for (const statement of statements) statement.finalize();
      db.close(true);
    },
  };
}
