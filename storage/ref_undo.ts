// A commit sets StoreRef fields as it writes (written, shared, segment, pendingRows). When the
// transaction fails (the disk is full) those changes must be undone, so that the retried commit
// writes the same thing. Arrays reused from commit to commit: nothing is allocated per message.
import type { StoreRef } from "./store.ts";

export class RefUndo {
  private readonly refs: StoreRef[] = [];
  private readonly state: number[] = [];

  begin(): void {
    this.refs.length = 0;
    this.state.length = 0;
  }

  /** Remembers `ref` as it is, before the commit changes it. */
  save(ref: StoreRef): void {
    this.refs.push(ref);
    this.state.push(ref.pendingRows, (ref.written ? 1 : 0) | (ref.shared ? 2 : 0), ref.segment, ref.offset);
  }

  /** Puts every saved ref back as it was (latest first, so a ref saved twice ends as first seen). */
  restore(): void {
    for (let i = this.refs.length - 1; i >= 0; i--) {
      const ref = this.refs[i]!;
      const at = i * 4;
      ref.pendingRows = this.state[at]!;
      ref.written = (this.state[at + 1]! & 1) !== 0;
      ref.shared = (this.state[at + 1]! & 2) !== 0;
      ref.segment = this.state[at + 2]!;
      ref.offset = this.state[at + 3]!;
    }
    this.begin();
  }
}
