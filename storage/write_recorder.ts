// A SqlDatabase that records the statements run on it into the next commit's batch instead of
// running them: metadata changes and plugins' writes are closures over a database, recorded
// during a turn and run when the commit is encoded; through this they become data that the
// writer (on its thread, with its own connection) applies in the same transaction.
import type { SqlDatabase, SqlStatement, SqlValue } from "../src/runtime/sqlite.ts";
import type { BatchEncoder } from "./commit_batch.ts";

export function writeRecorder(encoder: BatchEncoder): SqlDatabase {
  const cannot = (what: string) => (): never => {
    throw new Error(`store: a write recorded for the next commit cannot ${what}; read before recording, or after the commit`);
  };
  const statements = new Map<string, SqlStatement>();
  return {
    exec: (sql) => encoder.statement(sql, []),
    prepare(sql) {
      let statement = statements.get(sql);
      if (statement === undefined) {
        statement = {
          run: (...params: SqlValue[]) => encoder.statement(sql, params),
          all: cannot("read rows"),
          get: cannot("read a row"),
          iterate: cannot("read rows"),
        };
        statements.set(sql, statement);
      }
      return statement;
    },
    transaction: cannot("open a transaction of its own (it is part of the commit's)"),
    close() {},
  };
}
