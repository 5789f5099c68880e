// SQLite through bun:sqlite. The store sees only these interfaces, so a Deno build can back
// them with node:sqlite.
import { Database } from "bun:sqlite";

export type SqlValue = string | number | bigint | boolean | null | Uint8Array;

export interface SqlStatement {
  run(...params: SqlValue[]): void;
  all<T = Record<string, SqlValue>>(...params: SqlValue[]): T[];
  get<T = Record<string, SqlValue>>(...params: SqlValue[]): T | undefined;
  /** Rows one at a time, for result sets too large to hold at once. */
  iterate<T = Record<string, SqlValue>>(...params: SqlValue[]): IterableIterator<T>;
}

export interface SqlDatabase {
  exec(sql: string): void;
  prepare(sql: string): SqlStatement;
  /** Runs `fn` in one transaction (BEGIN IMMEDIATE … COMMIT, ROLLBACK on throw). */
  transaction(fn: () => void): void;
  close(): void;
}

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
