// The commit's message rows written many per statement: a prepared statement call costs about a
// microsecond before SQLite does any work, and a commit writes thousands of rows (docs/storage.md,
// "Rows per statement").
import type { SqlDatabase, SqlStatement, SqlValue } from "../src/runtime/sqlite.ts";

/** Rows per multi-row INSERT (measured: 20 and 50 cost the same per row; 1 costs twice as much). */
export const ROWS_PER_INSERT = 32;

/**
 * Buffers the rows of one INSERT and runs them ROWS_PER_INSERT at a time with a multi-row
 * statement; flush() writes the rest. Used inside one transaction, so the order of rows written
 * by different inserters does not matter (no row refers to another being inserted).
 */
export class BatchedInsert {
  private readonly params: SqlValue[] = [];
  private rows = 0;
  private readonly statements = new Map<number, SqlStatement>();
  private readonly columnCount: number;

  constructor(private readonly db: SqlDatabase, private readonly table: string, private readonly columns: readonly string[]) {
    this.columnCount = columns.length;
  }

  /** Where one row's values go, pushed in the order of the columns; then call added(). */
  get values(): SqlValue[] {
    return this.params;
  }

  /** The row whose values were just pushed is complete. */
  added(): void {
    if (++this.rows === ROWS_PER_INSERT) this.flush();
  }

  flush(): void {
    if (this.rows === 0) return;
    this.statement(this.rows).run(...this.params);
    this.params.length = 0;
    this.rows = 0;
  }

  /** Forgets buffered rows (a failed transaction: they are recorded again). */
  discard(): void {
    this.params.length = 0;
    this.rows = 0;
  }

  private statement(rows: number): SqlStatement {
    let statement = this.statements.get(rows);
    if (statement === undefined) {
      const tuple = `(${new Array(this.columnCount).fill("?").join(", ")})`;
      const sql = `INSERT INTO ${this.table} (${this.columns.join(", ")}) VALUES ${new Array(rows).fill(tuple).join(", ")}`;
      this.statements.set(rows, statement = this.db.prepare(sql));
    }
    return statement;
  }
}

/**
 * Calls `each(from, count)` for every run of consecutive integers in `values` (in the given
 * order): [5, 6, 7, 9, 3, 4] gives (5, 3), (9, 1), (3, 2). A run may also have to share a key
 * (`sameGroup(i)`: whether value i belongs with value i - 1, e.g. the same queue).
 */
export function consecutiveRuns(
  values: readonly number[],
  each: (start: number, count: number, firstIndex: number) => void,
  sameGroup: (i: number) => boolean = () => true,
): void {
  let i = 0;
  while (i < values.length) {
    const start = values[i]!;
    let count = 1;
    while (i + count < values.length && values[i + count] === start + count && sameGroup(i + count)) count++;
    each(start, count, i);
    i += count;
  }
}
