// The commit's multi-row inserts and runs of consecutive ids (storage/batched_writes.ts), and a
// store commit that acks many queues' messages at once, interleaved, with gaps: the range deletes
// must take exactly the acked rows and messages.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { createLogger } from "../../../src/log.ts";
import { openSqlite, type SqlDatabase } from "../../../src/runtime/sqlite.ts";
import { BatchedInsert, consecutiveRuns, ROWS_PER_INSERT } from "../../../storage/batched_writes.ts";
import { SqliteStore } from "../../../storage/sqlite_store.ts";
import type { StorableMessage, StoreRow } from "../../../storage/store.ts";
import { tempDirs } from "../../helpers/temp_dirs.ts";

const closers: { close(): void }[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c.close();
});
const tempDir = tempDirs("warren-batched-");

test("consecutiveRuns splits on gaps, on descending values and on a group change", () => {
  const runs: [number, number, number][] = [];
  consecutiveRuns([5, 6, 7, 9, 3, 4, 4, 5], (start, count, at) => runs.push([start, count, at]));
  expect(runs).toEqual([[5, 3, 0], [9, 1, 3], [3, 2, 4], [4, 2, 6]]);
  const groups = [1, 1, 2, 2];
  const grouped: [number, number][] = [];
  consecutiveRuns([10, 11, 12, 13], (start, count) => grouped.push([start, count]), (i) => groups[i] === groups[i - 1]);
  expect(grouped).toEqual([[10, 2], [12, 2]]);
  consecutiveRuns([], () => {
    throw new Error("no runs in an empty list");
  });
});

test("BatchedInsert writes every row, in full statements and a remainder", () => {
  const db: SqlDatabase = openSqlite(join(tempDir(), "t.sqlite"));
  closers.push(db);
  db.exec("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT, c BLOB)");
  const insert = new BatchedInsert(db, "t", ["a", "b", "c"]);
  const total = ROWS_PER_INSERT * 3 + 7;
  db.transaction(() => {
    for (let i = 1; i <= total; i++) {
      insert.values.push(i, `row ${i}`, new Uint8Array([i & 255]));
      insert.added();
    }
    insert.flush();
  });
  const rows = db.prepare("SELECT a, b, c FROM t ORDER BY a").all<{ a: number; b: string; c: Uint8Array }>();
  expect(rows.length).toBe(total);
  expect(rows[total - 1]).toEqual({ a: total, b: `row ${total}`, c: new Uint8Array([total & 255]) });
  // discard() drops what was buffered: nothing of it is written later.
  insert.values.push(1000, "dropped", new Uint8Array(0));
  insert.added();
  insert.discard();
  insert.flush();
  expect(db.prepare("SELECT COUNT(*) AS n FROM t").get<{ n: number }>()!.n).toBe(total);
});

function message(n: number): StorableMessage {
  return {
    exchange: "",
    routingKey: `q${n}`,
    properties: new Uint8Array(0),
    body: new TextEncoder().encode(`m${n}`),
    persistent: true,
    storeRef: undefined,
  };
}

test("a commit that acks interleaved runs of many queues deletes exactly the acked rows and messages", () => {
  const dir = tempDir();
  const store = SqliteStore.open(dir, { fsync: false, log: createLogger("none"), reclaim: false });
  const queues = Array.from({ length: 8 }, (_, i) => store.saveQueue({ vhost: "/", name: `q${i}`, autoDelete: false, args: {} }));
  const rows = new Map<number, StoreRow[]>();
  // Published round-robin: each queue's message ids are not consecutive, its seqs are.
  for (let n = 0; n < 400; n++) {
    const queueId = queues[n % queues.length]!;
    const list = rows.get(queueId) ?? [];
    const row: StoreRow = { message: message(n), seq: list.length + 1, expiresAt: 0 };
    list.push(row);
    rows.set(queueId, list);
    store.persist(queueId, row);
  }
  // And one queue whose messages have consecutive ids (one run of ids, broken by a kept one).
  const block = store.saveQueue({ vhost: "/", name: "block", autoDelete: false, args: {} });
  queues.push(block);
  rows.set(block, []);
  for (let n = 0; n < 100; n++) {
    const row: StoreRow = { message: message(1000 + n), seq: n + 1, expiresAt: 0 };
    rows.get(block)!.push(row);
    store.persist(block, row);
  }
  store.commit();
  // Ack, queue by queue, every seq but each seventh, and a whole block of one queue.
  const kept = new Set<string>();
  for (const [queueId, list] of rows) {
    for (const row of list) {
      const keep = queueId === block ? row.seq === 50 : row.seq % 7 === 0 && queueId !== queues[3];
      if (keep) kept.add(`${queueId}/${row.seq}`);
      else store.remove(queueId, row);
    }
  }
  store.commit();
  for (const [queueId, list] of rows) {
    const page = store.readPage(queueId, 0, Number.MAX_SAFE_INTEGER, 1000, Number.MAX_SAFE_INTEGER);
    const expected = list.filter((r) => kept.has(`${queueId}/${r.seq}`)).map((r) => [r.seq, new TextDecoder().decode(r.message.body)]);
    expect(page.map((m) => [m.seq, new TextDecoder().decode(m.body)])).toEqual(expected);
  }
  expect(store.messageCount()).toBe(kept.size);
  store.close();
  // And after a restart, the same.
  const again = SqliteStore.open(dir, { fsync: false, log: createLogger("none"), reclaim: false });
  closers.push(again);
  expect(again.messageCount()).toBe(kept.size);
});
