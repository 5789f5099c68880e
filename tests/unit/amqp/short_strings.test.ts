import { describe, expect, test } from "bun:test";
import { decodeShortString } from "../../../src/amqp/short_strings.ts";
import { Reader } from "../../../src/amqp/reader.ts";
import { Writer } from "../../../src/amqp/writer.ts";

const encoder = new TextEncoder();

function decode(s: string): string {
  const bytes = encoder.encode(`..${s}..`);
  return decodeShortString(bytes, 2, bytes.length - 2);
}

describe("short strings", () => {
  test("decodes ASCII, non-ASCII, empty and long strings as TextDecoder does", () => {
    for (const s of ["", "a", "amq.direct", "x".repeat(64), "y".repeat(65), "x".repeat(255), "é", "routing.✓.key", "🐇"]) {
      expect(decode(s)).toBe(s);
    }
  });

  test("the same bytes seen again give the identical string", () => {
    const first = decode("amqpload-throughput-1234");
    const again = decode("amqpload-throughput-1234");
    expect(again).toBe(first);
  });

  test("thousands of distinct keys decoded in turn never answer with another key's string", () => {
    // More keys than the table has slots: collisions must be caught by the byte compare.
    const keys = Array.from({ length: 5000 }, (_, i) => `sensor.${i % 97}.${i}.t${i * 7919 % 1000}`);
    for (let round = 0; round < 3; round++) {
      for (const key of keys) expect(decode(key)).toBe(key);
    }
    // Same length, differing in one byte, alternately.
    for (let i = 0; i < 2000; i++) {
      expect(decode(`key-${i % 2 === 0 ? "a" : "b"}`)).toBe(`key-${i % 2 === 0 ? "a" : "b"}`);
    }
  });

  test("a key decoded from a buffer that is later overwritten keeps its text", () => {
    const bytes = encoder.encode("queue-one");
    const name = decodeShortString(bytes, 0, bytes.length);
    bytes.set(encoder.encode("queue-two"));
    expect(name).toBe("queue-one");
    expect(decodeShortString(bytes, 0, bytes.length)).toBe("queue-two");
  });

  test("Reader.shortstr round-trips through Writer.shortstr for ASCII and UTF-8", () => {
    for (const s of ["", "amq.topic", "a".repeat(255), "é".repeat(127), "abc✓", "x".repeat(84) + "🐇"]) {
      const w = new Writer(4);
      w.shortstr(s);
      const r = new Reader(w.written());
      expect(r.shortstr()).toBe(s);
      expect(r.pos).toBe(w.pos);
    }
  });

  test("Writer.shortstr refuses more than 255 bytes of UTF-8, even when the string is shorter", () => {
    const w = new Writer(4);
    expect(() => w.shortstr("é".repeat(128))).toThrow(RangeError);
    expect(() => w.shortstr("a".repeat(256))).toThrow(RangeError);
    w.shortstr("a".repeat(255));
    expect(w.pos).toBe(256);
  });
});
