// The SQLite store against the store conformance suite (segment files for large bodies included),
// with commits applied on the event loop's thread and on the store's writer thread.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../../src/log.ts";
import { THREADS_SUPPORTED } from "../../../src/runtime/thread.ts";
import { SEGMENT_THRESHOLD, SqliteStore } from "../../../storage/sqlite_store.ts";
import type { Store } from "../../../storage/store.ts";
import { runStoreConformance, type StoreFactory } from "./store_conformance.ts";

const log = createLogger("none");

function sqliteFactory(writerThread: boolean): StoreFactory {
  const dirs = new Map<SqliteStore, string>();
  let diskIsFull = false;
  const open = (dir: string) => {
    const store = SqliteStore.open(dir, { fsync: false, log, writerThread });
    dirs.set(store, dir);
    return store;
  };
  const factory: StoreFactory = {
    name: writerThread ? "sqlite (writer thread)" : "sqlite",
    largeBody: SEGMENT_THRESHOLD,
    open: () => open(mkdtempSync(join(tmpdir(), "warren-store-"))),
    reopen(store: Store, crash: boolean) {
      const sqlite = store as SqliteStore;
      const dir = dirs.get(sqlite)!;
      if (crash) sqlite.abandon();
      else sqlite.close();
      dirs.delete(sqlite);
      return open(dir);
    },
    // SQLite's max_page_count fails a write that needs a new page with SQLITE_FULL, as a full
    // disk. It is per connection: set on the one that writes.
    diskFull(store: Store, full: boolean) {
      const sqlite = store as SqliteStore;
      const pages = sqlite.db.prepare("PRAGMA page_count").get<{ page_count: number }>()!.page_count;
      sqlite.writerExec(`PRAGMA max_page_count = ${full ? pages : 1073741823}`);
      diskIsFull = full;
    },
    cleanup() {
      for (const [store, dir] of dirs) {
        store.close();
        rmSync(dir, { recursive: true, force: true });
      }
      dirs.clear();
    },
  };
  // A turn's commit is applied on the writer thread: the turn is over once it is (while the disk
  // is full it may not be, which the suite allows).
  if (writerThread) {
    factory.turn = async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (diskIsFull) return;
      await Promise.all([...dirs.keys()].map((store) => new Promise<void>((resolve) => store.afterCommit(resolve))));
    };
  }
  return factory;
}

runStoreConformance(sqliteFactory(false));
if (THREADS_SUPPORTED) runStoreConformance(sqliteFactory(true));
else console.warn("skipping the SQLite store's writer-thread conformance run: this runtime has no threads for it");
