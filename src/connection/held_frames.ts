// The frames a blocked connection has read but not run (connection.blocked during a resource
// alarm): copies, in order, run once the alarm clears. Over TCP the socket is paused, so this holds
// at most the rest of one read; a WebSocket cannot stop reading, so there it is bounded by a limit.

/**
 * What a blocked connection holds when its socket cannot stop reading; past it the connection
 * is closed (a client that ignores connection.blocked would otherwise grow it without bound).
 */
export const HELD_WHILE_BLOCKED_BYTES = 16 * 1024 * 1024;

export interface HeldFrame {
  type: number;
  channelId: number;
  payload: Uint8Array;
}

export class HeldFrames {
  private readonly frames: HeldFrame[] = [];
  private next = 0;
  /** Payload bytes held now. */
  bytes = 0;

  /** Keeps a copy of the frame's payload. */
  hold(type: number, channelId: number, bytes: Uint8Array, start: number, end: number): void {
    this.frames.push({ type, channelId, payload: bytes.slice(start, end) });
    this.bytes += end - start;
  }

  /** The oldest frame not yet taken, if any. */
  take(): HeldFrame | undefined {
    if (this.next === this.frames.length) return undefined;
    const frame = this.frames[this.next++]!;
    this.bytes -= frame.payload.length;
    if (this.next === this.frames.length) this.clear();
    return frame;
  }

  clear(): void {
    this.frames.length = 0;
    this.next = 0;
    this.bytes = 0;
  }
}
