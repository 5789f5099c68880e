// The SQLite store against the store conformance suite (segment files for large bodies included).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../../src/log.ts";
import { SEGMENT_THRESHOLD, SqliteStore } from "../../../storage/sqlite_store.ts";
import { runStoreConformance } from "./store_conformance.ts";

const dirs = new Map<SqliteStore, string>();
const log = createLogger("none");

runStoreConformance({
  name: "sqlite",
  largeBody: SEGMENT_THRESHOLD,
  open() {
    const dir = mkdtempSync(join(tmpdir(), "warren-store-"));
    const store = SqliteStore.open(dir, { fsync: false, log });
    dirs.set(store, dir);
    return store;
  },
  reopen(store, crash) {
    const sqlite = store as SqliteStore;
    const dir = dirs.get(sqlite)!;
    if (crash) sqlite.abandon();
    else sqlite.close();
    dirs.delete(sqlite);
    const next = SqliteStore.open(dir, { fsync: false, log });
    dirs.set(next, dir);
    return next;
  },
  // SQLite's max_page_count fails a write that needs a new page with SQLITE_FULL, as a full disk.
  diskFull(store, full) {
    const db = (store as SqliteStore).db;
    const pages = db.prepare("PRAGMA page_count").get<{ page_count: number }>()!.page_count;
    db.exec(`PRAGMA max_page_count = ${full ? pages : 1073741823}`);
  },
  cleanup() {
    for (const [store, dir] of dirs) {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
    dirs.clear();
  },
});
