import { describe, expect, test } from "bun:test";
import { decodeUtf8, encodeUtf8, encodeUtf8Into, utf8Length } from "../../../src/amqp/utf8.ts";
import { Writer } from "../../../src/amqp/writer.ts";
import { Reader } from "../../../src/amqp/reader.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Characters of each UTF-8 length; the 4-byte ones are surrogate pairs in JS strings. */
const CHARS = {
  ascii: "a",
  twoByte: "é", // U+00E9
  threeByte: "✓", // U+2713
  threeByteEdge: "\uffff",
  fourByte: "🐇", // U+1F407, a surrogate pair
  fourByteMax: "\u{10ffff}",
};

/** Strings of several lengths around the 64-byte ASCII fast path, in every mix. */
function samples(): string[] {
  const out: string[] = [""];
  for (const length of [1, 2, 31, 63, 64, 65, 100, 300]) {
    out.push("x".repeat(length));
    for (const ch of Object.values(CHARS)) {
      if (ch === "a") continue;
      out.push(ch.repeat(Math.max(1, Math.floor(length / ch.length))));
      // Non-ASCII at the very end, after ASCII: the fast path must notice late.
      out.push("a".repeat(Math.max(0, length - 1)) + ch);
      // Non-ASCII first, then ASCII.
      out.push(ch + "b".repeat(Math.max(0, length - 1)));
    }
    out.push(`mixed-${"é✓🐇z".repeat(Math.ceil(length / 5))}`.slice(0, Math.max(length, 8)).replace(/[\ud800-\udbff]$/, ""));
  }
  out.push("\u007f\u0080\u07ff\u0800"); // boundaries of 1, 2 and 3 byte forms
  out.push("amq.gen-🐇-routing.key.ünïcödé");
  return out;
}

const label = (s: string) => `${JSON.stringify(s.length > 20 ? s.slice(0, 20) + "…" : s)} (${s.length} units)`;

describe("utf8", () => {
  test("utf8Length agrees with TextEncoder for ASCII, 2/3/4-byte characters and surrogate pairs", () => {
    for (const s of samples()) expect(utf8Length(s), label(s)).toBe(encoder.encode(s).length);
  });

  test("encodeUtf8Into writes the same bytes as TextEncoder and returns the count", () => {
    for (const s of samples()) {
      const expected = encoder.encode(s);
      const buffer = new Uint8Array(expected.length + 10).fill(0xaa);
      const written = encodeUtf8Into(s, buffer, 5);
      expect(written, label(s)).toBe(expected.length);
      expect(buffer.subarray(5, 5 + written), label(s)).toEqual(expected);
      // Nothing written outside the range.
      expect(Array.from(buffer.subarray(0, 5)), label(s)).toEqual([0xaa, 0xaa, 0xaa, 0xaa, 0xaa]);
      expect(Array.from(buffer.subarray(5 + written)), label(s)).toEqual([0xaa, 0xaa, 0xaa, 0xaa, 0xaa]);
    }
  });

  test("encodeUtf8Into fits into a buffer of exactly utf8Length bytes", () => {
    for (const s of samples()) {
      const buffer = new Uint8Array(utf8Length(s));
      expect(encodeUtf8Into(s, buffer, 0), label(s)).toBe(buffer.length);
      expect(buffer, label(s)).toEqual(encoder.encode(s));
    }
  });

  test("decodeUtf8 agrees with TextDecoder for ASCII, 2/3/4-byte characters and surrogate pairs", () => {
    for (const s of samples()) {
      const bytes = encoder.encode(s);
      expect(decodeUtf8(bytes, 0, bytes.length), label(s)).toBe(decoder.decode(bytes));
      expect(decodeUtf8(bytes, 0, bytes.length), label(s)).toBe(s);
    }
  });

  test("decodeUtf8 reads only the given range of a larger buffer", () => {
    for (const s of samples()) {
      const bytes = encoder.encode(s);
      const buffer = new Uint8Array(bytes.length + 8).fill(0x41);
      buffer.set(bytes, 3);
      expect(decodeUtf8(buffer, 3, 3 + bytes.length), label(s)).toBe(s);
    }
  });

  test("decodeUtf8 replaces invalid UTF-8 as TextDecoder does, below and above 64 bytes", () => {
    const invalid = [
      [0xff],
      [0x61, 0xc3], // truncated 2-byte sequence
      [0xe2, 0x9c], // truncated 3-byte sequence
      [0xf0, 0x9f, 0x90], // truncated 4-byte sequence
      [0xc0, 0xaf], // overlong
      [0xed, 0xa0, 0x80], // an encoded surrogate
    ];
    for (const bad of invalid) {
      for (const pad of [0, 70]) {
        const bytes = new Uint8Array([...new Array<number>(pad).fill(0x62), ...bad]);
        expect(decodeUtf8(bytes, 0, bytes.length), `${bad} after ${pad}`).toBe(decoder.decode(bytes));
      }
    }
  });

  test("encodeUtf8 equals TextEncoder", () => {
    for (const s of samples()) expect(encodeUtf8(s), label(s)).toEqual(encoder.encode(s));
  });

  test("a shortstr and a longstr written and read back keep any text", () => {
    for (const s of samples()) {
      const w = new Writer(1);
      if (utf8Length(s) <= 255) w.shortstr(s);
      w.longstr(s);
      const r = new Reader(w.written());
      if (utf8Length(s) <= 255) expect(r.shortstr(), label(s)).toBe(s);
      expect(r.longstrText(), label(s)).toBe(s);
      expect(r.remaining).toBe(0);
    }
  });

  test("lone surrogates are measured and written as TextEncoder does (U+FFFD, 3 bytes)", () => {
    const lone = [
      "\ud800", // lone high surrogate at the end
      "\udc00", // lone low surrogate
      "a\ud800b",
      "\ud800\u00e9", // high surrogate followed by a 2-byte character
      "\ud800\u2713", // high surrogate followed by a 3-byte character
      "\ud800\ud800\udc00", // a lone high surrogate, then a real pair
      "\udc00\ud800",
    ];
    for (const s of lone) {
      const expected = encoder.encode(s);
      expect(utf8Length(s), label(s)).toBe(expected.length);
      const buffer = new Uint8Array(expected.length + 4);
      const written = encodeUtf8Into(s, buffer, 0);
      expect(buffer.subarray(0, written), label(s)).toEqual(expected);
    }
  });

  test("a shortstr with a lone surrogate gets a length prefix that matches the bytes written", () => {
    const w = new Writer(1);
    w.shortstr("\ud800\u00e9");
    w.u8(0x7a);
    const r = new Reader(w.written());
    expect(r.shortstr()).toBe(decoder.decode(encoder.encode("\ud800\u00e9")));
    expect(r.u8()).toBe(0x7a);
  });
});
