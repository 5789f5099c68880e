// A file of zeros kept in the data directory so that a disk filled by something else cannot
// stop the store: when a write finds the disk full, the reserve is deleted and the write
// retried in the space it held, the disk alarm blocks publishers, and consumers and acks go on.
// The reserve is written again once the disk has room for it (issue 23, docs/storage.md).
import { join } from "node:path";
import { fileSize, openFile, removeFile } from "../src/runtime/fs.ts";

export const RESERVE_FILE = "disk-reserve";
const CHUNK = 1024 * 1024;

export class DiskReserve {
  readonly path: string;

  constructor(dataDir: string, readonly bytes: number) {
    this.path = join(dataDir, RESERVE_FILE);
  }

  /** Whether the reserve is on disk, whole. */
  get held(): boolean {
    return this.bytes === 0 || fileSize(this.path) >= this.bytes;
  }

  /**
   * Writes the reserve (zeros, made durable, so the blocks are really allocated). False, with
   * nothing left behind, when the disk has no room for it.
   */
  fill(): boolean {
    if (this.held) return true;
    let file;
    try {
      file = openFile(this.path, "write");
      const zeros = new Uint8Array(CHUNK);
      for (let at = fileSize(this.path); at < this.bytes; at += CHUNK) {
        file.writeAt(zeros.subarray(0, Math.min(CHUNK, this.bytes - at)), at);
      }
      file.sync();
      file.close();
      return true;
    } catch {
      file?.close();
      removeFile(this.path);
      return false;
    }
  }

  /** Gives the reserved space to the file system; returns whether there was any. */
  release(): boolean {
    if (this.bytes === 0 || fileSize(this.path) === 0) return false;
    removeFile(this.path);
    return true;
  }

  /** Bytes the reserve takes on disk now. */
  get onDisk(): number {
    return fileSize(this.path);
  }
}
