// Append-only segment files for large message bodies. SQLite keeps (segment, offset, size);
// a segment is deleted once none of its messages is left (and it is no longer being written).
import { join } from "node:path";
import { ensureDir, type FileHandle, fileSize, listDir, openFile, removeFile, syncDir } from "../src/runtime/fs.ts";

/** A new segment is started when the current one passes this size. */
const SEGMENT_SIZE = 64 * 1024 * 1024;
const NAME = /^(\d+)\.seg$/;

export interface SegmentLocation {
  segment: number;
  offset: number;
}

export class SegmentFiles {
  private activeId: number;
  private active: FileHandle;
  private activeSize = 0;
  private dirty = false;
  /** The active file was created since the directory was last synced. */
  private created = true;
  private readonly readers = new Map<number, FileHandle>();

  /** `live`: messages per segment still referenced by the store (from SQLite at boot). */
  constructor(private readonly dir: string, private readonly live: Map<number, number>) {
    ensureDir(dir);
    let max = 0;
    for (const file of listDir(dir)) {
      const id = Number(NAME.exec(file)?.[1] ?? NaN);
      if (Number.isNaN(id)) continue;
      max = Math.max(max, id);
      if (!live.has(id)) removeFile(join(dir, file)); // nothing in it is referenced any more
    }
    this.activeId = max + 1;
    this.active = openFile(this.path(this.activeId), "write");
  }

  append(body: Uint8Array): SegmentLocation {
    if (this.activeSize >= SEGMENT_SIZE) this.rotate();
    const location = { segment: this.activeId, offset: this.activeSize };
    this.active.writeAt(body, this.activeSize);
    this.activeSize += body.length;
    this.live.set(this.activeId, (this.live.get(this.activeId) ?? 0) + 1);
    this.dirty = true;
    return location;
  }

  /** Makes appended bodies durable; called before the SQLite commit that refers to them. */
  sync(): void {
    if (!this.dirty) return;
    this.active.sync();
    if (this.created) syncDir(this.dir); // a new file's name must survive a power cut too
    this.created = false;
    this.dirty = false;
  }

  read(segment: number, offset: number, size: number): Uint8Array {
    if (segment === this.activeId) return this.active.readAt(size, offset);
    let reader = this.readers.get(segment);
    if (!reader) this.readers.set(segment, reader = openFile(this.path(segment), "read"));
    return reader.readAt(size, offset);
  }

  /** One message in `segment` is gone for good. */
  release(segment: number): void {
    const left = (this.live.get(segment) ?? 1) - 1;
    if (left > 0) {
      this.live.set(segment, left);
      return;
    }
    if (segment === this.activeId) {
      // Nothing in the segment being written is left: start a new one, this one is deleted
      // (a drained backlog of large bodies gives its space back, issue 23).
      this.live.set(segment, 0);
      if (this.activeSize > 0) this.rotate();
      return;
    }
    this.live.delete(segment);
    this.readers.get(segment)?.close();
    this.readers.delete(segment);
    removeFile(this.path(segment));
  }

  /** Bytes the segment files take on disk. */
  diskBytes(): number {
    let total = 0;
    for (const file of listDir(this.dir)) if (NAME.test(file)) total += fileSize(join(this.dir, file));
    return total;
  }

  close(): void {
    this.sync();
    this.active.close();
    for (const reader of this.readers.values()) reader.close();
    this.readers.clear();
  }

  private rotate(): void {
    this.sync();
    this.active.close();
    const finished = this.activeId;
    this.activeId++;
    this.active = openFile(this.path(this.activeId), "write");
    this.created = true;
    this.activeSize = 0;
    // Everything in the finished segment may already be gone.
    if ((this.live.get(finished) ?? 0) === 0) {
      this.live.delete(finished);
      removeFile(this.path(finished));
    }
  }

  private path(id: number): string {
    return join(this.dir, `${id}.seg`);
  }
}
