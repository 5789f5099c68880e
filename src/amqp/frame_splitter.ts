import { FRAME_END } from "./spec/constants.gen.ts";
import { frameError } from "./errors.ts";

/** Receives whole frames; `bytes[start, end)` is the payload, valid only during the call. */
export interface FrameSink {
  onFrame(type: number, channel: number, bytes: Uint8Array, start: number, end: number): void;
}

/** Frame header: type (1), channel (2), payload size (4); then payload and the end octet. */
const HEADER_SIZE = 7;
/** A split-frame buffer larger than this (a frame_max above the default) is released once its frame is done. */
const KEEP_BYTES = 256 * 1024;
const EMPTY = new Uint8Array(0);

/**
 * Cuts a byte stream into frames. A frame that lies whole in the socket chunk is handed over in
 * place; only a frame split across chunks is copied, into a buffer reused for the connection.
 */
export class FrameSplitter {
  /** Largest payload accepted; RabbitMQ allows clients an extra 8 bytes over frame_max - 8. */
  maxPayload: number;
  private pending = EMPTY;
  private pendingLength = 0;

  constructor(frameMax: number) {
    this.maxPayload = 0;
    this.setFrameMax(frameMax);
  }

  /** 0 means no limit, as tune says. */
  setFrameMax(frameMax: number): void {
    this.maxPayload = frameMax === 0 ? 0xffff_ffff : frameMax;
  }

  /** Bytes held back waiting for the rest of a frame. */
  get buffered(): number {
    return this.pendingLength;
  }

  push(chunk: Uint8Array, sink: FrameSink): void {
    let offset = 0;
    if (this.pendingLength > 0) {
      offset = this.completePending(chunk, sink);
      if (offset < 0) return;
    }
    const length = chunk.length;
    while (length - offset >= HEADER_SIZE) {
      const size = this.payloadSize(chunk, offset);
      const frameEnd = offset + HEADER_SIZE + size;
      if (frameEnd >= length) break; // the end octet is not here yet
      if (chunk[frameEnd] !== FRAME_END) throw badEnd(chunk[frameEnd]!, chunk[offset]!);
      sink.onFrame(chunk[offset]!, (chunk[offset + 1]! << 8) | chunk[offset + 2]!, chunk, offset + HEADER_SIZE, frameEnd);
      offset = frameEnd + 1;
    }
    if (offset < length) this.keep(chunk, offset, length);
  }

  private payloadSize(bytes: Uint8Array, offset: number): number {
    const size = ((bytes[offset + 3]! << 24) >>> 0) + (bytes[offset + 4]! << 16) + (bytes[offset + 5]! << 8) + bytes[offset + 6]!;
    if (size > this.maxPayload) {
      throw frameError(
        `type ${bytes[offset]}, frame size ${size + 8} is larger than the negotiated frame_max ${this.maxPayload}`,
      );
    }
    return size;
  }

  /** Tops up the split frame from `chunk`; returns the offset after it, or -1 if still incomplete. */
  private completePending(chunk: Uint8Array, sink: FrameSink): number {
    let offset = 0;
    if (this.pendingLength < HEADER_SIZE) {
      const take = Math.min(HEADER_SIZE - this.pendingLength, chunk.length);
      this.append(chunk, 0, take);
      offset = take;
      if (this.pendingLength < HEADER_SIZE) return -1;
    }
    const size = this.payloadSize(this.pending, 0);
    const total = HEADER_SIZE + size + 1;
    const take = Math.min(total - this.pendingLength, chunk.length - offset);
    this.append(chunk, offset, offset + take);
    offset += take;
    if (this.pendingLength < total) return -1;
    const frame = this.pending;
    this.pendingLength = 0;
    if (frame.length > KEEP_BYTES) this.pending = EMPTY; // the frame is passed on; its buffer goes after
    if (frame[total - 1] !== FRAME_END) throw badEnd(frame[total - 1]!, frame[0]!);
    sink.onFrame(frame[0]!, (frame[1]! << 8) | frame[2]!, frame, HEADER_SIZE, total - 1);
    return offset;
  }

  private keep(chunk: Uint8Array, start: number, end: number): void {
    this.pendingLength = 0;
    this.append(chunk, start, end);
  }

  private append(chunk: Uint8Array, start: number, end: number): void {
    const need = this.pendingLength + (end - start);
    if (need > this.pending.length) {
      const next = new Uint8Array(Math.max(need, this.pending.length * 2, 4096));
      next.set(this.pending.subarray(0, this.pendingLength));
      this.pending = next;
    }
    this.pending.set(chunk.subarray(start, end), this.pendingLength);
    this.pendingLength = need;
  }
}

function badEnd(octet: number, type: number) {
  return frameError(`type ${type}, invalid frame end marker 0x${octet.toString(16)} (expected 0xce)`);
}
