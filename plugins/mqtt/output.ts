// A connection's writes: packets of one event-loop turn go out in one socket write; what the
// kernel does not take waits for drain, and while it waits (or a WebSocket holds unsent bytes) the
// connection counts as backed up (its queues stop delivering to it: flow control, not memory growth).
import type { TcpSocket } from "../../src/runtime/tcp.ts";

const BACKED_UP_BYTES = 1024 * 1024;

export class Output {
  private chunks: Uint8Array[] = [];
  private queued = 0;
  private scheduled = false;
  private resumeScheduled = false;
  /** Bytes the kernel did not take yet. */
  private rest: Uint8Array | undefined;
  bytesSent = 0;
  packetsSent = 0;

  constructor(private readonly socket: TcpSocket, private readonly onWritable: () => void) {}

  get pending(): number {
    return this.queued + (this.rest?.length ?? 0);
  }

  /** Too much waiting here, or a WebSocket still holding what it could not send yet. */
  get backedUp(): boolean {
    return this.pending > BACKED_UP_BYTES || this.socket.congested?.() === true;
  }

  send(packet: Uint8Array): void {
    this.chunks.push(packet);
    this.queued += packet.length;
    this.packetsSent++;
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    const wasBackedUp = this.backedUp;
    this.writeQueued();
    // Writers that stopped at the limit go on, next turn: a write the kernel takes whole has no
    // drain after it (a QoS 0 backlog stopped after 1 MiB until something else happened).
    if (wasBackedUp && !this.backedUp && !this.resumeScheduled) {
      this.resumeScheduled = true;
      setImmediate(() => {
        this.resumeScheduled = false;
        if (!this.backedUp) this.onWritable();
      });
    }
  }

  private writeQueued(): void {
    if (this.chunks.length === 0 || this.rest !== undefined) return;
    let bytes: Uint8Array;
    if (this.chunks.length === 1) bytes = this.chunks[0]!;
    else {
      bytes = new Uint8Array(this.queued);
      let at = 0;
      for (const c of this.chunks) {
        bytes.set(c, at);
        at += c.length;
      }
    }
    this.chunks = [];
    this.queued = 0;
    this.write(bytes);
  }

  private write(bytes: Uint8Array): void {
    const n = this.socket.write(bytes);
    if (n < 0) return; // closed
    this.bytesSent += n;
    if (n < bytes.length) this.rest = bytes.subarray(n);
  }

  drained(): void {
    const rest = this.rest;
    if (rest === undefined) {
      // A congested WebSocket has sent what it held.
      if (!this.backedUp) this.onWritable();
      return;
    }
    this.rest = undefined;
    this.write(rest);
    if (this.rest === undefined) {
      this.writeQueued();
      if (!this.backedUp) this.onWritable();
    }
  }
}
