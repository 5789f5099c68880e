// UTF-8 helpers with an ASCII fast path: AMQP names, keys and tags are almost always ASCII,
// and TextDecoder/TextEncoder cost more than a loop for a few dozen bytes.

const decoder = new TextDecoder("utf-8", { fatal: false });
const encoder = new TextEncoder();

export function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  const length = end - start;
  if (length === 0) return "";
  if (length <= 64) {
    let ascii = "";
    for (let i = start; i < end; i++) {
      const b = bytes[i]!;
      if (b >= 0x80) return decoder.decode(bytes.subarray(start, end));
      ascii += String.fromCharCode(b);
    }
    return ascii;
  }
  return decoder.decode(bytes.subarray(start, end));
}

/** Bytes needed to encode `s` as UTF-8. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(s.charCodeAt(i + 1))) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Writes `s` at `offset` (the caller has made room for utf8Length(s) bytes); returns bytes written. */
export function encodeUtf8Into(s: string, bytes: Uint8Array, offset: number): number {
  const len = s.length;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return encoder.encodeInto(s, bytes.subarray(offset)).written;
    bytes[offset + i] = c;
  }
  return len;
}

export function encodeUtf8(s: string): Uint8Array {
  return encoder.encode(s);
}
