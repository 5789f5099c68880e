import { describe, expect, test } from "bun:test";
import { Reader } from "../../../src/amqp/reader.ts";
import { Writer } from "../../../src/amqp/writer.ts";
import { AmqpError } from "../../../src/amqp/errors.ts";
import {
  BASIC_CLASS_ID,
  type BasicProperties,
  decodeProperties,
  encodeProperties,
  PropertyFlag,
} from "../../../src/amqp/spec/properties.gen.ts";
import { camel, spec, specTest } from "./spec_json.ts";

const ALL: Required<BasicProperties> = {
  contentType: "application/json",
  contentEncoding: "gzip",
  headers: { "x-retry": 3, "x-origin": "sité-✓", nested: { ok: true } },
  deliveryMode: 2,
  priority: 9,
  correlationId: "corr-🐇-1",
  replyTo: "amq.rabbitmq.reply-to",
  expiration: "60000",
  messageId: "msg-0001",
  timestamp: 1_700_000_123,
  type: "order.created",
  userId: "guest",
  appId: "warren-tests",
  clusterId: "cluster-a",
};

/** The flag bit of each property as the spec assigns it, written out by hand. */
const EXPECTED_FLAGS: [keyof BasicProperties, number][] = [
  ["contentType", 0x8000],
  ["contentEncoding", 0x4000],
  ["headers", 0x2000],
  ["deliveryMode", 0x1000],
  ["priority", 0x0800],
  ["correlationId", 0x0400],
  ["replyTo", 0x0200],
  ["expiration", 0x0100],
  ["messageId", 0x0080],
  ["timestamp", 0x0040],
  ["type", 0x0020],
  ["userId", 0x0010],
  ["appId", 0x0008],
  ["clusterId", 0x0004],
];

function encode(p: BasicProperties): Uint8Array {
  const w = new Writer(4);
  encodeProperties(w, p);
  return w.written().slice();
}

function roundTrip(p: BasicProperties): { decoded: BasicProperties; consumed: boolean } {
  const bytes = encode(p);
  const r = new Reader(bytes);
  const decoded = decodeProperties(r);
  return { decoded, consumed: r.pos === bytes.length };
}

const flagWord = (bytes: Uint8Array) => (bytes[0]! << 8) | bytes[1]!;

describe("basic content properties", () => {
  specTest("the basic class of the spec has exactly the 14 properties BasicProperties knows, in order", () => {
    const basic = spec.classes.find((c) => c.name === "basic")!;
    expect(basic.id).toBe(BASIC_CLASS_ID);
    expect(basic.properties!.map((p) => camel(p.name))).toEqual(EXPECTED_FLAGS.map(([k]) => k));
    expect(Object.keys(PropertyFlag)).toEqual(EXPECTED_FLAGS.map(([k]) => k));
  });

  test("all 14 properties round-trip", () => {
    const { decoded, consumed } = roundTrip(ALL);
    expect(decoded).toEqual(ALL);
    expect(consumed).toBe(true);
  });

  test("all 14 properties set gives the flag word 0xfffc", () => {
    expect(flagWord(encode(ALL))).toBe(0xfffc);
  });

  test("no properties encode to a zero flag word alone and decode to an empty object", () => {
    const bytes = encode({});
    expect(Array.from(bytes)).toEqual([0, 0]);
    const decoded = decodeProperties(new Reader(bytes));
    expect(decoded).toEqual({});
    expect(Object.keys(decoded)).toEqual([]);
  });

  test("a subset of properties round-trips and the others stay absent", () => {
    const subset: BasicProperties = { contentType: "text/plain", deliveryMode: 1, messageId: "m", timestamp: 0, appId: "" };
    const { decoded, consumed } = roundTrip(subset);
    expect(decoded).toEqual(subset);
    expect(Object.keys(decoded).sort()).toEqual(Object.keys(subset).sort());
    expect(consumed).toBe(true);
    expect(flagWord(encode(subset))).toBe(0x8000 | 0x1000 | 0x0080 | 0x0040 | 0x0008);
  });

  test("each property alone sets exactly its own flag bit (content-type 0x8000 ... cluster-id 0x0004)", () => {
    for (const [key, flag] of EXPECTED_FLAGS) {
      const only = { [key]: ALL[key] } as BasicProperties;
      const bytes = encode(only);
      expect(flagWord(bytes), key).toBe(flag);
      expect(PropertyFlag[key] as number, key).toBe(flag);
      const { decoded, consumed } = roundTrip(only);
      expect(decoded, key).toEqual(only);
      expect(consumed, key).toBe(true);
    }
  });

  test("every pair of properties round-trips (fields are read in flag order)", () => {
    for (const [a] of EXPECTED_FLAGS) {
      for (const [b] of EXPECTED_FLAGS) {
        if (a >= b) continue;
        const pair = { [a]: ALL[a], [b]: ALL[b] } as BasicProperties;
        expect(roundTrip(pair).decoded, `${a}+${b}`).toEqual(pair);
      }
    }
  });

  test("a property list encodes to the exact bytes of the spec", () => {
    const bytes = encode({ contentType: "text/plain", deliveryMode: 2, timestamp: 2 ** 32 + 1, clusterId: "c" });
    expect(Array.from(bytes)).toEqual([
      0x90,
      0x44, // content-type | delivery-mode, timestamp | cluster-id
      10,
      ...new TextEncoder().encode("text/plain"),
      2,
      0,
      0,
      0,
      1,
      0,
      0,
      0,
      1,
      1,
      0x63,
    ]);
  });

  test("a non-ASCII shortstr property is length-prefixed in bytes, not characters", () => {
    const bytes = encode({ correlationId: "é🐇" });
    expect(Array.from(bytes)).toEqual([0x04, 0x00, 6, 0xc3, 0xa9, 0xf0, 0x9f, 0x90, 0x87]);
  });

  test("properties decode from the middle of a larger buffer (a content header payload)", () => {
    const props = encode(ALL);
    const buffer = new Uint8Array(props.length + 30).fill(0xab);
    buffer.set(props, 12);
    const r = new Reader(buffer, 12, 12 + props.length);
    expect(decodeProperties(r)).toEqual(ALL);
    expect(r.pos).toBe(12 + props.length);
  });

  test("a truncated property list throws AmqpError 501", () => {
    const bytes = encode(ALL);
    for (let length = 0; length < bytes.length; length++) {
      let err: unknown;
      try {
        decodeProperties(new Reader(bytes.slice(0, length)));
      } catch (e) {
        err = e;
      }
      expect(err, `cut at ${length}`).toBeInstanceOf(AmqpError);
      expect((err as AmqpError).code, `cut at ${length}`).toBe(501);
    }
  });
});
