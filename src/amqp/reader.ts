import { decodeUtf8 } from "./utf8.ts";
import { decodeShortString } from "./short_strings.ts";
import { AmqpError } from "./errors.ts";
import { ReplyCode } from "./spec/constants.gen.ts";

/**
 * Reads AMQP primitives from a byte range with a moving offset. One Reader is reused per
 * connection (`reset` per frame), so decoding a frame allocates only the values it returns.
 * Reading past `end` throws a FRAME_ERROR, as RabbitMQ answers a method it cannot decode.
 */
/** A delivery tag as decoded: a number when exact (up to 2^53 - 1), else a bigint. */
export type DeliveryTag = number | bigint;

export class Reader {
  bytes: Uint8Array = new Uint8Array(0);
  /** Made only for floats and big tags: a DataView per socket chunk was most of a read's garbage. */
  private dataView: DataView | undefined;
  pos = 0;
  end = 0;

  constructor(bytes?: Uint8Array, start = 0, end = bytes?.length ?? 0) {
    if (bytes) this.reset(bytes, start, end);
  }

  reset(bytes: Uint8Array, start: number, end: number): this {
    if (bytes !== this.bytes) {
      this.bytes = bytes;
      this.dataView = undefined;
    }
    this.pos = start;
    this.end = end;
    return this;
  }

  private get view(): DataView {
    const bytes = this.bytes;
    return (this.dataView ??= new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  need(n: number): void {
    if (this.pos + n > this.end) {
      throw new AmqpError(
        ReplyCode.FRAME_ERROR,
        `cannot decode frame: needed ${n} more bytes at offset ${this.pos}, only ${this.end - this.pos} left`,
      );
    }
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }

  i8(): number {
    return (this.u8() << 24) >> 24;
  }

  u16(): number {
    this.need(2);
    const b = this.bytes;
    const p = this.pos;
    this.pos = p + 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  i16(): number {
    return (this.u16() << 16) >> 16;
  }

  u32(): number {
    return this.i32() >>> 0;
  }

  i32(): number {
    this.need(4);
    const b = this.bytes;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
  }

  /** Unsigned 64-bit as a number: exact up to 2^53, which delivery tags and sizes never pass. */
  u64(): number {
    this.need(8);
    const hi = this.u32();
    return hi * 0x1_0000_0000 + this.u32();
  }

  /**
   * A delivery tag: a number up to 2^53 - 1 (every tag the broker issues), a bigint beyond, so
   * a client's out-of-range tag is quoted exactly in the error it gets. No allocation for the
   * tags of real deliveries.
   */
  tag(): DeliveryTag {
    this.need(8);
    const hi = this.u32();
    if (hi < 0x20_0000) return hi * 0x1_0000_0000 + this.u32();
    this.pos -= 4;
    const big = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return big;
  }

  /** Signed 64-bit as a number (exact within ±2^53). */
  i64(): number {
    this.need(8);
    const hi = this.i32();
    return hi * 0x1_0000_0000 + this.u32();
  }

  f32(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }

  shortstr(): string {
    const len = this.u8();
    this.need(len);
    const s = decodeShortString(this.bytes, this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  /** A long string as bytes (a copy, safe to keep after the socket chunk is reused). */
  longstr(): Uint8Array {
    const len = this.u32();
    this.need(len);
    const b = this.bytes.slice(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }

  longstrText(): string {
    const len = this.u32();
    this.need(len);
    const s = decodeUtf8(this.bytes, this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  /** Skips `n` bytes (bounds-checked). */
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
}
