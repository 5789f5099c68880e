// openSyncFile (src/runtime/fs.ts): the WAL's descriptor is synced off the event loop; if the
// path stops naming the file the descriptor holds (deleted, or deleted and created again), the
// sync goes to the file the path names now.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync, readlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openSyncFile } from "../../../src/runtime/fs.ts";
import { tempDirs } from "../../helpers/temp_dirs.ts";

const tempDir = tempDirs("warren-syncfile-");

/** The paths this process has open under `dir` (Linux: /proc/self/fd). */
function openPaths(dir: string): string[] {
  const out: string[] = [];
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) out.push(target);
    } catch {
      // closed meanwhile (the readdir's own descriptor)
    }
  }
  return out;
}

const syncOnce = (file: ReturnType<typeof openSyncFile>) =>
  new Promise<void>((resolve, reject) => file.sync((err) => (err ? reject(err) : resolve())));

test("a sync follows the path to a file created again, and keeps the old one while none exists", async () => {
  const dir = tempDir();
  const path = join(dir, "wal");
  writeFileSync(path, "first");
  const file = openSyncFile(path);
  try {
    await syncOnce(file);
    expect(openPaths(dir)).toEqual([path]);

    unlinkSync(path); // gone, nothing newer: the old descriptor is kept (syncing it is harmless)
    await syncOnce(file);
    expect(openPaths(dir)).toEqual([`${path} (deleted)`]);

    writeFileSync(path, "second"); // created again: the next sync opens it and drops the old one
    await syncOnce(file);
    expect(openPaths(dir)).toEqual([path]);
    file.syncNow();
    expect(readFileSync(path, "utf8")).toBe("second");
  } finally {
    file.close();
  }
  expect(openPaths(dir)).toEqual([]);
});
