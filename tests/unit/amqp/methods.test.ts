import { describe, expect, test } from "bun:test";
import { Reader } from "../../../src/amqp/reader.ts";
import { Writer } from "../../../src/amqp/writer.ts";
import { AmqpError } from "../../../src/amqp/errors.ts";
import type { FieldTable } from "../../../src/amqp/table.ts";
import { type AmqpMethod, decodeMethod, encodeMethod, MethodId, methodName, METHODS } from "../../../src/amqp/spec/methods.gen.ts";
import { allMethods, argType, camel, spec, type SpecMethodRef, specTest } from "./spec_json.ts";

// ------------------------------------------------------------------------------ value builders

/** How bit arguments are set: alternating (starting true or false), all true, all false. */
type BitMode = "alternate-true" | "alternate-false" | "all-true" | "all-false";
const BIT_MODES: BitMode[] = ["alternate-true", "alternate-false", "all-true", "all-false"];

function bitValue(mode: BitMode, index: number): boolean {
  switch (mode) {
    case "alternate-true":
      return index % 2 === 0;
    case "alternate-false":
      return index % 2 === 1;
    case "all-true":
      return true;
    case "all-false":
      return false;
  }
}

/** A small table whose canonical wire types are S, I, t and F (the reference encoder below writes them by hand). */
function sampleTable(k: number): FieldTable {
  return {
    "x-str": `välue-${k}`,
    "x-int": 42 + k,
    "x-neg": -7 - k,
    "x-bool": true,
    "x-nested": { inner: "v", deep: { n: k } },
  };
}

/** Distinct, non-default values per argument (k is the argument's position) so swapped fields show up. */
function valueFor(type: string, name: string, k: number, variant: number, bit: boolean): unknown {
  switch (type) {
    case "octet":
      return (0x5a + k * 7 + variant) & 0xff;
    case "short":
      return (0xbeef - k * 13 - variant) & 0xffff;
    case "long":
      return (0xdeadbeef - k * 101 - variant) >>> 0;
    case "longlong":
    case "timestamp":
      // Both words non-zero; one variant near 2^53 to exercise the high word.
      return variant % 2 === 0 ? 2 ** 40 + 0x1234_5678 + k : Number.MAX_SAFE_INTEGER - k;
    case "bit":
      return bit;
    case "shortstr":
      // One non-ASCII (2-, 3- and 4-byte characters) and one ASCII variant.
      return variant % 2 === 0 ? `${name}-ünï✓🐇-${k}` : `${name}.${k}`;
    case "longstr": {
      const length = variant % 2 === 0 ? 7 + k : 300 + k;
      const bytes = new Uint8Array(length);
      for (let i = 0; i < length; i++) bytes[i] = (i * 31 + k + 0xce) & 0xff;
      bytes[0] = 0;
      bytes[length - 1] = 0xff;
      return bytes;
    }
    case "table":
      return sampleTable(k);
    default:
      throw new Error(`no test value for type ${type}`);
  }
}

function buildMethod(ref: SpecMethodRef, mode: BitMode, variant: number): Record<string, unknown> {
  const m: Record<string, unknown> = { id: ref.id };
  let bitIndex = 0;
  ref.method.arguments.forEach((a, k) => {
    const t = argType(a);
    const bit = t === "bit" ? bitValue(mode, bitIndex++) : false;
    m[camel(a.name)] = valueFor(t, a.name, k, variant, bit);
  });
  return m;
}

// ------------------------------------------------------------------ reference encoder (by spec)

/**
 * An encoder written from the spec rules alone (big-endian integers, consecutive bits packed
 * into one octet starting at the least significant bit, length-prefixed strings), used to check
 * the generated encoder byte for byte.
 */
class RefBytes {
  out: number[] = [];
  u8(v: number) {
    this.out.push(v & 0xff);
  }
  u16(v: number) {
    this.u8(v >>> 8);
    this.u8(v);
  }
  u32(v: number) {
    this.u16(v >>> 16);
    this.u16(v & 0xffff);
  }
  u64(v: number) {
    this.u32(Math.floor(v / 2 ** 32));
    this.u32(v % 2 ** 32);
  }
  utf8(s: string) {
    return Array.from(new TextEncoder().encode(s));
  }
  shortstr(s: string) {
    const b = this.utf8(s);
    this.u8(b.length);
    this.out.push(...b);
  }
  longstr(b: Uint8Array) {
    this.u32(b.length);
    this.out.push(...b);
  }
  table(t: FieldTable) {
    const inner = new RefBytes();
    for (const [key, value] of Object.entries(t)) {
      inner.shortstr(key);
      if (typeof value === "string") {
        inner.u8(0x53);
        const b = inner.utf8(value);
        inner.u32(b.length);
        inner.out.push(...b);
      } else if (typeof value === "number") {
        inner.u8(0x49);
        inner.u32(value >>> 0);
      } else if (typeof value === "boolean") {
        inner.u8(0x74);
        inner.u8(value ? 1 : 0);
      } else {
        inner.u8(0x46);
        inner.table(value as FieldTable);
      }
    }
    this.u32(inner.out.length);
    this.out.push(...inner.out);
  }
}

function referenceEncode(ref: SpecMethodRef, m: Record<string, unknown>): Uint8Array {
  const w = new RefBytes();
  w.u16(ref.cls.id);
  w.u16(ref.method.id);
  let bits = 0;
  let bitCount = 0;
  const flush = () => {
    if (bitCount > 0) w.u8(bits);
    bits = 0;
    bitCount = 0;
  };
  for (const a of ref.method.arguments) {
    const t = argType(a);
    const v = m[camel(a.name)];
    if (t === "bit") {
      if (bitCount === 8) flush();
      if (v) bits |= 1 << bitCount;
      bitCount++;
      continue;
    }
    flush();
    switch (t) {
      case "octet":
        w.u8(v as number);
        break;
      case "short":
        w.u16(v as number);
        break;
      case "long":
        w.u32(v as number);
        break;
      case "longlong":
      case "timestamp":
        w.u64(v as number);
        break;
      case "shortstr":
        w.shortstr(v as string);
        break;
      case "longstr":
        w.longstr(v as Uint8Array);
        break;
      case "table":
        w.table(v as FieldTable);
        break;
      default:
        throw new Error(`reference encoder: no type ${t}`);
    }
  }
  flush();
  return new Uint8Array(w.out);
}

function encode(m: AmqpMethod | Record<string, unknown>, initialSize = 16): Uint8Array {
  // A small initial buffer so that growth while encoding is exercised too.
  const w = new Writer(initialSize);
  encodeMethod(w, m as AmqpMethod);
  return w.written().slice();
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

// ------------------------------------------------------------------------------------ tests

describe("method codec", () => {
  specTest("the spec JSON lists every class of AMQP 0-9-1 with RabbitMQ's extensions", () => {
    expect(spec.classes.map((c) => c.name)).toEqual(
      ["connection", "channel", "access", "exchange", "queue", "basic", "tx", "confirm"],
    );
    expect(allMethods.length).toBeGreaterThanOrEqual(60);
  });

  specTest("METHODS and MethodId cover exactly the methods of the spec", () => {
    expect([...METHODS.keys()].sort((a, b) => a - b)).toEqual(allMethods.map((r) => r.id).sort((a, b) => a - b));
    expect(Object.values(MethodId).map(Number).sort((a, b) => a - b)).toEqual(allMethods.map((r) => r.id).sort((a, b) => a - b));
  });

  specTest("METHODS info has the name, ids, synchronous and content flags of the spec for every method", () => {
    for (const ref of allMethods) {
      const info = METHODS.get(ref.id);
      expect(info, ref.fullName).toBeDefined();
      expect({ ...info }).toEqual({
        name: ref.fullName,
        classId: ref.cls.id,
        methodId: ref.method.id,
        synchronous: ref.method.synchronous === true,
        content: ref.method.content === true,
      });
      expect(methodName(ref.id)).toBe(ref.fullName);
    }
  });

  test("content-carrying methods are exactly basic.publish, return, deliver and get-ok", () => {
    const content = [...METHODS.values()].filter((i) => i.content).map((i) => i.name).sort();
    expect(content).toEqual(["basic.deliver", "basic.get-ok", "basic.publish", "basic.return"]);
  });

  test("methodName names an unknown id by its class and method numbers", () => {
    expect(methodName(60 * 65536 + 999)).toBe("unknown(60,999)");
  });

  for (const mode of BIT_MODES) {
    for (const variant of [0, 1]) {
      specTest(
        `every method in the spec round-trips through encode and decode (bits ${mode}, ${
          variant === 0 ? "non-ASCII strings" : "ASCII strings, long longstr"
        })`,
        () => {
          for (const ref of allMethods) {
            const m = buildMethod(ref, mode, variant);
            const bytes = encode(m);
            const r = new Reader(bytes);
            const decoded = decodeMethod(r);
            expect(decoded as unknown, ref.fullName).toEqual(m);
            // The decoder consumed exactly what the encoder wrote.
            expect(r.pos, ref.fullName).toBe(bytes.length);
          }
        },
      );
    }
  }

  for (const mode of BIT_MODES) {
    specTest(`every method encodes to the bytes the spec prescribes (field order, bit packing; bits ${mode})`, () => {
      for (const ref of allMethods) {
        const m = buildMethod(ref, mode, 0);
        expect(encode(m), ref.fullName).toEqual(referenceEncode(ref, m));
      }
    });
  }

  specTest("every method decodes from bytes produced by the spec-driven reference encoder", () => {
    for (const ref of allMethods) {
      const m = buildMethod(ref, "alternate-false", 1);
      expect(decodeMethod(new Reader(referenceEncode(ref, m))) as unknown, ref.fullName).toEqual(m);
    }
  });

  test("the decoded method id is the MethodId constant (classId * 65536 + methodId)", () => {
    const bytes = encode({ id: MethodId.BasicAck, deliveryTag: 7, multiple: true });
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0, 60, 0, 80]);
    const decoded = decodeMethod(new Reader(bytes));
    expect(decoded.id).toBe(MethodId.BasicAck);
    expect(decoded.id as number).toBe(60 * 65536 + 80);
  });

  specTest("decoding a truncated payload of any method throws AmqpError 501 (FRAME_ERROR)", () => {
    for (const ref of allMethods) {
      const full = encode(buildMethod(ref, "all-true", 0));
      for (let length = 0; length < full.length; length++) {
        const err = catchError(() => decodeMethod(new Reader(full.slice(0, length))));
        expect(err, `${ref.fullName} cut at ${length}/${full.length}`).toBeInstanceOf(AmqpError);
        expect((err as AmqpError).code, `${ref.fullName} cut at ${length}/${full.length}`).toBe(501);
      }
    }
  });

  test("a truncated payload is detected against the reader's end, not the buffer's length", () => {
    const full = encode({ id: MethodId.BasicPublish, ticket: 0, exchange: "ex", routingKey: "rk", mandatory: true, immediate: false });
    // The buffer holds the whole method, but the frame (reader range) ends one byte early.
    const err = catchError(() => decodeMethod(new Reader(full, 0, full.length - 1)));
    expect(err).toBeInstanceOf(AmqpError);
    expect((err as AmqpError).code).toBe(501);
  });

  test("an unknown method id throws AmqpError 540 (NOT_IMPLEMENTED) naming the class and method", () => {
    for (const [classId, methodId] of [[60, 999], [10, 12], [1000, 10], [0, 0], [85, 12]] as const) {
      const w = new Writer();
      w.u16(classId);
      w.u16(methodId);
      w.u32(0);
      const err = catchError(() => decodeMethod(new Reader(w.written())));
      expect(err, `${classId}.${methodId}`).toBeInstanceOf(AmqpError);
      const e = err as AmqpError;
      expect(e.code).toBe(540);
      expect(e.hard).toBe(true);
      expect(e.classId).toBe(classId);
      expect(e.methodId).toBe(methodId);
      expect(e.message).toContain(String(classId));
      expect(e.message).toContain(String(methodId));
    }
  });

  test("a shortstr longer than 255 bytes cannot be encoded", () => {
    const publish = (exchange: string) => ({
      id: MethodId.BasicPublish,
      ticket: 0,
      exchange,
      routingKey: "",
      mandatory: false,
      immediate: false,
    });
    expect(() => encode(publish("a".repeat(256)))).toThrow();
    // 128 two-byte characters: 128 UTF-16 units but 256 bytes.
    expect(() => encode(publish("é".repeat(128)))).toThrow();
    // 64 four-byte characters: 128 UTF-16 units but 256 bytes.
    expect(() => encode(publish("🐇".repeat(64)))).toThrow();
    // Exactly 255 bytes is fine and round-trips.
    const max = "é".repeat(127) + "x";
    const decoded = decodeMethod(new Reader(encode(publish(max))));
    expect(decoded).toMatchObject({ exchange: max });
  });

  test("basic.publish packs mandatory in bit 0 and immediate in bit 1 of one octet", () => {
    const bytes = (mandatory: boolean, immediate: boolean) =>
      Array.from(encode({ id: MethodId.BasicPublish, ticket: 0, exchange: "ex", routingKey: "rk", mandatory, immediate }));
    const prefix = [0, 60, 0, 40, 0, 0, 2, 0x65, 0x78, 2, 0x72, 0x6b];
    expect(bytes(false, false)).toEqual([...prefix, 0b00]);
    expect(bytes(true, false)).toEqual([...prefix, 0b01]);
    expect(bytes(false, true)).toEqual([...prefix, 0b10]);
    expect(bytes(true, true)).toEqual([...prefix, 0b11]);
  });

  test("queue.declare packs passive, durable, exclusive, auto-delete and nowait into bits 0-4 of one octet", () => {
    const flags = ["passive", "durable", "exclusive", "autoDelete", "nowait"] as const;
    const base = {
      id: MethodId.QueueDeclare,
      ticket: 0,
      queue: "q",
      passive: false,
      durable: false,
      exclusive: false,
      autoDelete: false,
      nowait: false,
      arguments: {},
    };
    // class 50, method 10, ticket 0, shortstr "q", <bits>, empty table
    const expected = (bits: number) => [0, 50, 0, 10, 0, 0, 1, 0x71, bits, 0, 0, 0, 0];
    expect(Array.from(encode(base))).toEqual(expected(0));
    flags.forEach((flag, i) => {
      const bytes = encode({ ...base, [flag]: true });
      expect(Array.from(bytes), flag).toEqual(expected(1 << i));
      const decoded = decodeMethod(new Reader(bytes)) as unknown as Record<string, unknown>;
      for (const other of flags) expect(decoded[other], `${flag} set, reading ${other}`).toBe(other === flag);
    });
    expect(Array.from(encode({ ...base, passive: true, durable: true, exclusive: true, autoDelete: true, nowait: true })))
      .toEqual(expected(0b11111));
  });

  test("basic.deliver puts the redelivered bit in its own octet between delivery-tag and exchange", () => {
    const bytes = encode({
      id: MethodId.BasicDeliver,
      consumerTag: "c",
      deliveryTag: 2 ** 32 + 5,
      redelivered: true,
      exchange: "e",
      routingKey: "r",
    });
    expect(Array.from(bytes)).toEqual([
      0,
      60,
      0,
      60, // basic.deliver
      1,
      0x63, // consumer-tag "c"
      0,
      0,
      0,
      1,
      0,
      0,
      0,
      5, // delivery-tag
      1, // redelivered
      1,
      0x65, // exchange "e"
      1,
      0x72, // routing-key "r"
    ]);
  });

  test("basic.nack packs multiple in bit 0 and requeue in bit 1 after the delivery tag", () => {
    const bytes = encode({ id: MethodId.BasicNack, deliveryTag: 1, multiple: false, requeue: true });
    expect(Array.from(bytes)).toEqual([0, 60, 0, 120, 0, 0, 0, 0, 0, 0, 0, 1, 0b10]);
  });

  test("a decoder ignores bits in a packed octet that the method does not define", () => {
    // basic.publish with all eight bits set still decodes to mandatory and immediate only.
    const bytes = encode({ id: MethodId.BasicPublish, ticket: 0, exchange: "", routingKey: "", mandatory: false, immediate: false });
    bytes[bytes.length - 1] = 0xff;
    expect(decodeMethod(new Reader(bytes))).toEqual({
      id: MethodId.BasicPublish,
      ticket: 0,
      exchange: "",
      routingKey: "",
      mandatory: true,
      immediate: true,
    });
  });

  test("a method decodes in place from the middle of a larger buffer", () => {
    const m = {
      id: MethodId.QueueBind,
      ticket: 3,
      queue: "q1",
      exchange: "amq.topic",
      routingKey: "a.#",
      nowait: true,
      arguments: { "x-match": "all" },
    };
    const body = encode(m);
    const buffer = new Uint8Array(body.length + 20).fill(0xee);
    buffer.set(body, 7);
    const r = new Reader(buffer, 7, 7 + body.length);
    expect(decodeMethod(r) as unknown).toEqual(m);
    expect(r.pos).toBe(7 + body.length);
  });

  test("decoded longstr arguments are copies, unaffected when the source buffer is reused", () => {
    const bytes = encode({ id: MethodId.ConnectionSecure, challenge: new Uint8Array([1, 2, 3]) });
    const decoded = decodeMethod(new Reader(bytes));
    bytes.fill(0);
    expect(decoded).toEqual({ id: MethodId.ConnectionSecure, challenge: new Uint8Array([1, 2, 3]) });
  });
});
