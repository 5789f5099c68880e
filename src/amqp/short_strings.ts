// Short strings (exchange names, routing keys, consumer tags, table keys) arrive again and
// again with the same bytes. Decoding them afresh allocated a string per frame (and a rope
// built a character at a time); a small table of recently seen ASCII strings, indexed by a
// hash of their bytes, hands back the same string instead, so the hot path allocates nothing
// and Map lookups by that string reuse its cached hash. A miss costs one hash and a decode.
import { decodeUtf8 } from "./utf8.ts";

/** Table size (a power of two); a slot holds the last string that hashed there. */
const SLOTS = 1024;
/** Longer strings are decoded every time (rarely repeated, and the compare would cost more). */
const MAX_LENGTH = 64;

const recent: string[] = new Array<string>(SLOTS).fill("");

/** The UTF-8 text of `bytes[start, end)`; a recently seen ASCII string comes from the table. */
export function decodeShortString(bytes: Uint8Array, start: number, end: number): string {
  const length = end - start;
  if (length === 0) return "";
  if (length > MAX_LENGTH) return decodeUtf8(bytes, start, end);
  let hash = length;
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    if (b >= 0x80) return decodeUtf8(bytes, start, end);
    hash = Math.imul(hash ^ b, 0x01000193);
  }
  const slot = (hash ^ (hash >>> 16)) & (SLOTS - 1);
  const seen = recent[slot]!;
  if (seen.length === length && sameAscii(seen, bytes, start)) return seen;
  const decoded = decodeUtf8(bytes, start, end);
  recent[slot] = decoded;
  return decoded;
}

function sameAscii(s: string, bytes: Uint8Array, start: number): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== bytes[start + i]) return false;
  return true;
}
