import { encodeUtf8Into, utf8Length } from "./utf8.ts";

/**
 * Writes AMQP primitives into a growable buffer with a moving offset. The connection's output
 * keeps one Writer and hands its filled prefix to the socket once per event-loop turn.
 */
export class Writer {
  bytes: Uint8Array;
  view: DataView;
  pos = 0;

  constructor(initialSize = 4096) {
    this.bytes = new Uint8Array(initialSize);
    this.view = new DataView(this.bytes.buffer);
  }

  /** Makes room for `n` more bytes, doubling the buffer when it must grow. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.bytes.length) return;
    let size = Math.max(this.bytes.length * 2, 64);
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.pos));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }

  /** The bytes written so far (a view, valid until the next write). */
  written(): Uint8Array {
    return this.bytes.subarray(0, this.pos);
  }

  reset(): void {
    this.pos = 0;
  }

  /** Empty and larger than `max` bytes (after a large message): gives the memory back, keeping `size`. */
  shrink(max: number, size: number): void {
    if (this.pos !== 0 || this.bytes.length <= max) return;
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.bytes[this.pos++] = v;
  }

  i8(v: number): void {
    this.ensure(1);
    this.view.setInt8(this.pos++, v);
  }

  u16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
  }

  i16(v: number): void {
    this.ensure(2);
    this.view.setInt16(this.pos, v);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
  }

  i32(v: number): void {
    this.ensure(4);
    this.view.setInt32(this.pos, v);
    this.pos += 4;
  }

  u64(v: number): void {
    this.ensure(8);
    this.view.setUint32(this.pos, Math.floor(v / 0x1_0000_0000));
    this.view.setUint32(this.pos + 4, v >>> 0);
    this.pos += 8;
  }

  /** A delivery tag (a bigint only for values past 2^53, which the broker never issues). */
  tag(v: number | bigint): void {
    if (typeof v === "bigint") {
      this.ensure(8);
      this.view.setBigUint64(this.pos, v);
      this.pos += 8;
    } else {
      this.u64(v);
    }
  }

  i64(v: number): void {
    this.ensure(8);
    const hi = Math.floor(v / 0x1_0000_0000);
    this.view.setInt32(this.pos, hi);
    this.view.setUint32(this.pos + 4, (v - hi * 0x1_0000_0000) >>> 0);
    this.pos += 8;
  }

  f32(v: number): void {
    this.ensure(4);
    this.view.setFloat32(this.pos, v);
    this.pos += 4;
  }

  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }

  shortstr(s: string): void {
    const n = s.length;
    if (n <= 255) {
      // ASCII (nearly every name and key) in one pass; anything else takes the general path.
      this.ensure(1 + n);
      const bytes = this.bytes;
      const at = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        bytes[at + i] = c;
      }
      if (i === n) {
        bytes[this.pos] = n;
        this.pos = at + n;
        return;
      }
    }
    const len = utf8Length(s);
    if (len > 255) throw new RangeError(`Cannot encode shortstr "${s.slice(0, 40)}…": ${len} bytes is over 255`);
    this.ensure(1 + len);
    this.bytes[this.pos++] = len;
    this.pos += encodeUtf8Into(s, this.bytes, this.pos);
  }

  longstr(v: Uint8Array | string): void {
    if (typeof v === "string") {
      const len = utf8Length(v);
      this.ensure(4 + len);
      this.u32(len);
      this.pos += encodeUtf8Into(v, this.bytes, this.pos);
      return;
    }
    this.ensure(4 + v.length);
    this.u32(v.length);
    this.bytes.set(v, this.pos);
    this.pos += v.length;
  }

  raw(v: Uint8Array): void {
    this.ensure(v.length);
    this.bytes.set(v, this.pos);
    this.pos += v.length;
  }
}
