// File handles for segment files (node:fs, which Bun and Deno both provide).
import {
  closeSync,
  constants,
  existsSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";

export interface FileHandle {
  /** Writes all of `bytes` at `position`. */
  writeAt(bytes: Uint8Array, position: number): void;
  readAt(length: number, position: number): Uint8Array;
  sync(): void;
  close(): void;
}

export function openFile(path: string, mode: "write" | "read"): FileHandle {
  // Read-write without O_APPEND: on Linux pwrite ignores the position under O_APPEND, so a write
  // retried after a partial one (ENOSPC) would land after the partial bytes and shift every later
  // body in a segment away from the offset recorded for it.
  const fd = openSync(path, mode === "write" ? constants.O_RDWR | constants.O_CREAT : "r");
  return {
    writeAt(bytes, position) {
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
    },
    readAt(length, position) {
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, out, done, length - done, position + done);
        if (n === 0) throw new Error(`${path}: unexpected end of file at ${position + done}`);
        done += n;
      }
      return out;
    },
    sync: () => fsyncSync(fd),
    close: () => closeSync(fd),
  };
}

export function listDir(path: string): string[] {
  return existsSync(path) ? readdirSync(path) : [];
}

export function ensureDir(path: string): void {
  mkdirSync(path, { recursive: true });
}

export function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** A file's size in bytes; 0 when it does not exist. */
export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Renames `from` over `to` (atomic on one file system), then makes the rename durable. */
export function replaceFile(from: string, to: string, dir: string): void {
  renameSync(from, to);
  syncDir(dir);
}

/** Makes a directory's entries (created, renamed, deleted files) durable. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * A file synced off the event loop (the WAL: storage/commit_sync.ts), with fdatasync as SQLite
 * itself syncs on Linux: the data and what is needed to read it back (the size), not the mtime.
 */
export interface SyncFile {
  /** fdatasync on node:fs's thread pool (Bun's and Deno's worker threads), not on the event loop. */
  sync(done: (err: Error | null) => void): void;
  /** fdatasync on this thread (shutdown). */
  syncNow(): void;
  close(): void;
}

/**
 * Opens `path` to fsync it. Linux's fsync flushes the file (inode), whatever descriptor names
 * it; if the path now names another file (deleted and created again), that one is opened.
 */
export function openSyncFile(path: string): SyncFile {
  let fd = openSync(path, "r");
  // fstat of the descriptor, not stat of the path, before each sync: a file deleted (or renamed
  // over) has no links left. The path lookup of stat cost 6 % of the event loop at 20k
  // persistent msg/s, where a sync starts every fraction of a millisecond.
  const current = (): number => {
    if (fstatSync(fd).nlink > 0) return fd;
    let reopened: number;
    try {
      reopened = openSync(path, "r");
    } catch {
      return fd; // gone: the old file is synced (harmless), nothing newer exists
    }
    closeSync(fd);
    fd = reopened;
    return fd;
  };
  return {
    sync(done) {
      let target: number;
      try {
        target = current();
      } catch (err) {
        queueMicrotask(() => done(err as Error));
        return;
      }
      fdatasync(target, done);
    },
    syncNow: () => fdatasyncSync(current()),
    close: () => closeSync(fd),
  };
}
