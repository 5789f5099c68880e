import { describe, expect, test } from "bun:test";
import { Reader } from "../../../src/amqp/reader.ts";
import { Writer } from "../../../src/amqp/writer.ts";
import { AmqpError } from "../../../src/amqp/errors.ts";
import {
  AmqpDecimal,
  canonicalType,
  decodeArray,
  decodeTable,
  encodeArray,
  encodeTable,
  type FieldTable,
  type FieldType,
  type FieldValue,
  numberField,
  Typed,
} from "../../../src/amqp/table.ts";

// ---------------------------------------------------------------------------------- helpers

const code = (c: string) => c.charCodeAt(0);

/** Hand-built field bytes: the type octet and the value, as the wire carries them. */
interface Case {
  type: FieldType;
  /** Writes the value (after the type octet). */
  write: (w: Writer) => void;
  /** The plain JavaScript value it decodes to. */
  expected: FieldValue;
}

const CASES: Case[] = [
  { type: "t", write: (w) => w.u8(1), expected: true },
  { type: "t", write: (w) => w.u8(0), expected: false },
  { type: "b", write: (w) => w.i8(-5), expected: -5 },
  { type: "B", write: (w) => w.u8(200), expected: 200 },
  { type: "s", write: (w) => w.i16(-300), expected: -300 },
  { type: "u", write: (w) => w.u16(60000), expected: 60000 },
  { type: "I", write: (w) => w.i32(-100000), expected: -100000 },
  { type: "i", write: (w) => w.u32(4_000_000_000), expected: 4_000_000_000 },
  { type: "i", write: (w) => w.u32(7), expected: 7 },
  { type: "l", write: (w) => w.i64(-(2 ** 40) - 3), expected: -(2 ** 40) - 3 },
  { type: "l", write: (w) => w.i64(5), expected: 5 },
  { type: "f", write: (w) => w.f32(1.5), expected: 1.5 },
  { type: "f", write: (w) => w.f32(2), expected: 2 },
  { type: "d", write: (w) => w.f64(3.14159), expected: 3.14159 },
  { type: "d", write: (w) => w.f64(10), expected: 10 },
  {
    type: "D",
    write: (w) => {
      w.u8(2);
      w.i32(-12345);
    },
    expected: new AmqpDecimal(2, -12345),
  },
  { type: "S", write: (w) => w.longstr("héllo ✓ 🐇"), expected: "héllo ✓ 🐇" },
  { type: "S", write: (w) => w.longstr(""), expected: "" },
  { type: "x", write: (w) => w.longstr(new Uint8Array([0, 1, 0xce, 0xff])), expected: new Uint8Array([0, 1, 0xce, 0xff]) },
  {
    type: "A",
    write: (w) => {
      const inner = new Writer();
      inner.u8(code("I"));
      inner.i32(1);
      inner.u8(code("S"));
      inner.longstr("two");
      inner.u8(code("b"));
      inner.i8(3);
      inner.u8(code("V"));
      w.u32(inner.pos);
      w.raw(inner.written());
    },
    expected: [1, "two", 3, null],
  },
  { type: "A", write: (w) => w.u32(0), expected: [] },
  { type: "T", write: (w) => w.u64(1_700_000_000), expected: new Date(1_700_000_000_000) },
  {
    type: "F",
    write: (w) => {
      const inner = new Writer();
      inner.shortstr("k");
      inner.u8(code("S"));
      inner.longstr("v");
      inner.shortstr("n");
      inner.u8(code("s"));
      inner.i16(-2);
      w.u32(inner.pos);
      w.raw(inner.written());
    },
    expected: { k: "v", n: -2 },
  },
  { type: "F", write: (w) => w.u32(0), expected: {} },
  { type: "V", write: () => {}, expected: null },
];

/** A table of one field, `key` of the given case, as bytes. */
function tableBytes(entries: [string, Case][]): Uint8Array {
  const inner = new Writer();
  for (const [key, c] of entries) {
    inner.shortstr(key);
    inner.u8(code(c.type));
    c.write(inner);
  }
  const w = new Writer();
  w.u32(inner.pos);
  w.raw(inner.written());
  return w.written().slice();
}

function reencode(table: FieldTable): Uint8Array {
  const w = new Writer(8);
  encodeTable(w, table);
  return w.written().slice();
}

function encodeOne(value: FieldValue): Uint8Array {
  return reencode({ v: value });
}

/** The type octet of field "v" in a one-field table. */
function typeOf(value: FieldValue): string {
  const bytes = encodeOne(value);
  // u32 size, shortstr "v" (2 bytes), then the type octet.
  return String.fromCharCode(bytes[6]!);
}

/**
 * A deep copy without the FIELD_TYPES notes (a symbol-keyed property that toEqual would compare),
 * so decoded values can be compared with plain expectations.
 */
function plain(v: FieldValue | undefined): FieldValue | undefined {
  if (Array.isArray(v)) return v.map((x) => plain(x) as FieldValue);
  if (v === null || typeof v !== "object") return v;
  if (v instanceof Uint8Array || v instanceof Date || v instanceof AmqpDecimal || v instanceof Typed) return v;
  const out: FieldTable = {};
  for (const key of Object.keys(v)) {
    Object.defineProperty(out, key, { value: plain(v[key]), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

function expectFrameError(fn: () => unknown, label = ""): AmqpError {
  const err = catchError(fn);
  expect(err, label).toBeInstanceOf(AmqpError);
  expect((err as AmqpError).code, label).toBe(501);
  return err as AmqpError;
}

// ---------------------------------------------------------------------------------- tests

describe("field table decoding and re-encoding", () => {
  test("every field type t b B s u I i l f d D S x A T F V is covered by the cases", () => {
    const covered = new Set(CASES.map((c) => c.type));
    expect([...covered].map(String).sort()).toEqual([..."tbBsuIilfdDSxATFV"].sort());
  });

  for (const c of CASES) {
    test(`field type '${c.type}' (${String(c.expected instanceof Uint8Array ? "bytes" : JSON.stringify(c.expected))}) decodes to plain JS and re-encodes byte-exactly`, () => {
      const bytes = tableBytes([["key", c]]);
      const r = new Reader(bytes);
      const table = decodeTable(r);
      expect(r.pos).toBe(bytes.length);
      expect(Object.keys(table)).toEqual(["key"]);
      expect(plain(table.key)).toEqual(c.expected);
      expect(reencode(table)).toEqual(bytes);
    });
  }

  test("a table with every field type at once re-encodes byte-exactly", () => {
    const entries = CASES.map((c, i): [string, Case] => [`k${i}-${c.type}`, c]);
    const bytes = tableBytes(entries);
    const table = decodeTable(new Reader(bytes));
    expect(Object.keys(table)).toEqual(entries.map(([k]) => k));
    expect(reencode(table)).toEqual(bytes);
  });

  test("a table nested in an array nested in a table keeps every wire type on re-encoding", () => {
    const nested = tableBytes(CASES.map((c, i): [string, Case] => [`n${i}`, c]));
    const arrayCase: Case = {
      type: "A",
      write: (w) => {
        const inner = new Writer();
        inner.u8(code("F"));
        inner.raw(nested);
        inner.u8(code("u"));
        inner.u16(9);
        inner.u8(code("l"));
        inner.i64(1);
        w.u32(inner.pos);
        w.raw(inner.written());
      },
      expected: null,
    };
    const bytes = tableBytes([["outer", arrayCase]]);
    const table = decodeTable(new Reader(bytes));
    expect(reencode(table)).toEqual(bytes);
  });

  test("decoded values are plain JavaScript types", () => {
    const bytes = tableBytes(CASES.map((c, i): [string, Case] => [`k${i}`, c]));
    const table = decodeTable(new Reader(bytes));
    const values = CASES.map((_, i) => table[`k${i}`]);
    CASES.forEach((c, i) => {
      const v = values[i];
      switch (c.type) {
        case "t":
          expect(typeof v).toBe("boolean");
          break;
        case "b":
        case "B":
        case "s":
        case "u":
        case "I":
        case "i":
        case "l":
        case "f":
        case "d":
          expect(typeof v).toBe("number");
          break;
        case "S":
          expect(typeof v).toBe("string");
          break;
        case "V":
          expect(v).toBeNull();
          break;
        case "x":
          expect(v).toBeInstanceOf(Uint8Array);
          break;
        case "T":
          expect(v).toBeInstanceOf(Date);
          break;
        case "D":
          expect(v).toBeInstanceOf(AmqpDecimal);
          break;
        case "A":
          expect(Array.isArray(v)).toBe(true);
          break;
        case "F":
          expect(typeof v).toBe("object");
          expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
          break;
      }
    });
  });

  test("a 'T' timestamp decodes to the Date of that many seconds since the epoch", () => {
    const c = CASES.find((x) => x.type === "T")!;
    const table = decodeTable(new Reader(tableBytes([["at", c]])));
    expect((table.at as Date).toISOString()).toBe("2023-11-14T22:13:20.000Z");
  });

  test("a decoded 'x' byte array is a copy that survives reuse of the source buffer", () => {
    const c = CASES.find((x) => x.type === "x")!;
    const bytes = tableBytes([["bin", c]]);
    const table = decodeTable(new Reader(bytes));
    bytes.fill(0);
    expect(table.bin).toEqual(new Uint8Array([0, 1, 0xce, 0xff]));
  });

  test("field arrays decode and re-encode byte-exactly on their own", () => {
    const w = new Writer();
    const inner = new Writer();
    inner.u8(code("B"));
    inner.u8(7);
    inner.u8(code("d"));
    inner.f64(0.5);
    inner.u8(code("t"));
    inner.u8(1);
    w.u32(inner.pos);
    w.raw(inner.written());
    const bytes = w.written().slice();
    const array = decodeArray(new Reader(bytes));
    expect(plain(array)).toEqual([7, 0.5, true]);
    const out = new Writer();
    encodeArray(out, array);
    expect(out.written()).toEqual(bytes);
  });
});

describe("field table encoding of plain values", () => {
  test("integers within int32 encode as 'I', larger ones as 'l'", () => {
    expect(typeOf(0)).toBe("I");
    expect(typeOf(-1)).toBe("I");
    expect(typeOf(2 ** 31 - 1)).toBe("I");
    expect(typeOf(-(2 ** 31))).toBe("I");
    expect(typeOf(2 ** 31)).toBe("l");
    expect(typeOf(-(2 ** 31) - 1)).toBe("l");
    expect(typeOf(2 ** 40)).toBe("l");
  });

  test("non-integers encode as 'd', strings as 'S', booleans as 't', null as 'V'", () => {
    expect(typeOf(1.5)).toBe("d");
    expect(typeOf(-0.25)).toBe("d");
    expect(typeOf("text")).toBe("S");
    expect(typeOf(true)).toBe("t");
    expect(typeOf(null)).toBe("V");
  });

  test("bytes encode as 'x', Date as 'T', AmqpDecimal as 'D', arrays as 'A', objects as 'F', bigint as 'l'", () => {
    expect(typeOf(new Uint8Array([1]))).toBe("x");
    expect(typeOf(new Date(0))).toBe("T");
    expect(typeOf(new AmqpDecimal(1, 5))).toBe("D");
    expect(typeOf([1, 2])).toBe("A");
    expect(typeOf({ a: 1 })).toBe("F");
    expect(typeOf(5n)).toBe("l");
  });

  test("canonicalType agrees with the encoder", () => {
    const values: FieldValue[] = [1, 2 ** 33, 0.5, "s", false, null, new Uint8Array(0), new Date(0), new AmqpDecimal(0, 0), [], {}, 3n];
    for (const v of values) expect(canonicalType(v)).toBe(typeOf(v) as FieldType);
    expect(canonicalType(undefined)).toBe("V");
  });

  test("plain values encode to the exact bytes of their canonical types", () => {
    const table: FieldTable = {
      i: -2,
      l: 2 ** 32 + 1,
      d: 0.5,
      s: "é",
      t: true,
      n: null,
      x: new Uint8Array([9]),
      T: new Date(1_500_000_000_999),
      D: new AmqpDecimal(3, 1234),
      A: [1, "a"],
      F: { z: false },
    };
    const expected = new Writer();
    const inner = new Writer();
    inner.shortstr("i");
    inner.u8(code("I"));
    inner.i32(-2);
    inner.shortstr("l");
    inner.u8(code("l"));
    inner.i64(2 ** 32 + 1);
    inner.shortstr("d");
    inner.u8(code("d"));
    inner.f64(0.5);
    inner.shortstr("s");
    inner.u8(code("S"));
    inner.u32(2);
    inner.u8(0xc3);
    inner.u8(0xa9);
    inner.shortstr("t");
    inner.u8(code("t"));
    inner.u8(1);
    inner.shortstr("n");
    inner.u8(code("V"));
    inner.shortstr("x");
    inner.u8(code("x"));
    inner.u32(1);
    inner.u8(9);
    inner.shortstr("T");
    inner.u8(code("T"));
    inner.u64(1_500_000_000); // seconds, rounded down
    inner.shortstr("D");
    inner.u8(code("D"));
    inner.u8(3);
    inner.i32(1234);
    inner.shortstr("A");
    inner.u8(code("A"));
    inner.u32(5 + 6); // I 1 (5 bytes), S "a" (6 bytes)
    inner.u8(code("I"));
    inner.i32(1);
    inner.u8(code("S"));
    inner.u32(1);
    inner.u8(code("a"));
    inner.shortstr("F");
    inner.u8(code("F"));
    inner.u32(4);
    inner.shortstr("z");
    inner.u8(code("t"));
    inner.u8(0);
    expected.u32(inner.pos);
    expected.raw(inner.written());
    expect(reencode(table)).toEqual(expected.written().slice());
  });

  test("undefined entries are left out and an undefined table encodes as an empty one", () => {
    expect(Array.from(reencode({ a: undefined as unknown as FieldValue, b: 1 }))).toEqual(
      [0, 0, 0, 7, 1, code("b"), code("I"), 0, 0, 0, 1],
    );
    const w = new Writer();
    encodeTable(w, undefined);
    expect(Array.from(w.written())).toEqual([0, 0, 0, 0]);
  });

  test("a plain value round-trips through encode and decode", () => {
    const table: FieldTable = {
      "x-message-ttl": 60000,
      "x-dead-letter-exchange": "dlx",
      "x-max-length-bytes": 2 ** 40,
      ratio: 0.75,
      flag: false,
      nothing: null,
      when: new Date(1_600_000_000_000),
      list: [1, "two", [3], { four: 4 }],
      nested: { deeper: { deepest: "ü" } },
      bin: new Uint8Array([1, 2, 3]),
      dec: new AmqpDecimal(2, 199),
    };
    expect(plain(decodeTable(new Reader(reencode(table))))).toEqual(table);
  });

  test("a Typed wrapper forces the wire type of a value", () => {
    const forced: [Typed, number[]][] = [
      [new Typed("b", -1), [code("b"), 0xff]],
      [new Typed("B", 200), [code("B"), 200]],
      [new Typed("s", -2), [code("s"), 0xff, 0xfe]],
      [new Typed("u", 65535), [code("u"), 0xff, 0xff]],
      [new Typed("i", 5), [code("i"), 0, 0, 0, 5]],
      [new Typed("l", 5), [code("l"), 0, 0, 0, 0, 0, 0, 0, 5]],
      [new Typed("f", 1.5), [code("f"), 0x3f, 0xc0, 0, 0]],
      [new Typed("d", 2), [code("d"), 0x40, 0, 0, 0, 0, 0, 0, 0]],
      [new Typed("T", 1_700_000_000), [code("T"), 0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00]],
      [new Typed("S", "ab"), [code("S"), 0, 0, 0, 2, code("a"), code("b")]],
    ];
    for (const [typed, bytes] of forced) {
      expect(Array.from(encodeOne(typed).subarray(6)), typed.type).toEqual(bytes);
    }
  });

  test("a decoded non-canonical type is kept when the value is changed to another number", () => {
    const c = CASES.find((x) => x.type === "b")!;
    const table = decodeTable(new Reader(tableBytes([["n", c]])));
    table.n = 9;
    // Still a signed octet.
    expect(Array.from(reencode(table))).toEqual([0, 0, 0, 4, 1, code("n"), code("b"), 9]);
  });

  test("a decoded type note is dropped when the value changes kind", () => {
    const c = CASES.find((x) => x.type === "b")!;
    const table = decodeTable(new Reader(tableBytes([["n", c]])));
    table.n = "now a string";
    expect(String.fromCharCode(reencode(table)[6]!)).toBe("S");
  });
});

describe("numberField", () => {
  test("reads a number whatever numeric wire type carried it", () => {
    const numeric = CASES.filter((c) => "bBsuIilfd".includes(c.type));
    const entries = numeric.map((c, i): [string, Case] => [`k${i}`, c]);
    const table = decodeTable(new Reader(tableBytes(entries)));
    numeric.forEach((c, i) => expect(numberField(table, `k${i}`), c.type).toBe(c.expected as number));
  });

  test("reads Typed numbers and bigints", () => {
    expect(numberField({ a: new Typed("b", 3) }, "a")).toBe(3);
    expect(numberField({ a: 12n }, "a")).toBe(12);
  });

  test("gives undefined for missing keys, non-numbers and a missing table", () => {
    expect(numberField({ a: "5" }, "a")).toBeUndefined();
    expect(numberField({ a: true }, "a")).toBeUndefined();
    expect(numberField({ a: null }, "a")).toBeUndefined();
    expect(numberField({}, "a")).toBeUndefined();
    expect(numberField(undefined, "a")).toBeUndefined();
  });
});

describe("malformed field tables", () => {
  test("an unknown field type octet throws AmqpError 501", () => {
    for (const t of ["Z", "U", "L", "c", "\u0000"]) {
      const w = new Writer();
      w.u32(1 + 1 + 1 + 4);
      w.shortstr("k");
      w.u8(code(t));
      w.u32(0);
      const err = expectFrameError(() => decodeTable(new Reader(w.written())), t);
      expect(err.message).toContain("field type");
    }
  });

  test("an unknown field type inside an array throws AmqpError 501", () => {
    const w = new Writer();
    w.u32(2);
    w.u8(code("Z"));
    w.u8(0);
    expectFrameError(() => decodeArray(new Reader(w.written())));
  });

  test("a table whose declared size is too small throws AmqpError 501", () => {
    const bytes = tableBytes([["a", CASES.find((c) => c.type === "I")!], ["b", CASES.find((c) => c.type === "S")!]]);
    for (let cut = 1; cut <= 3; cut++) {
      const wrong = bytes.slice();
      new DataView(wrong.buffer).setUint32(0, bytes.length - 4 - cut);
      expectFrameError(() => decodeTable(new Reader(wrong)), `size short by ${cut}`);
    }
  });

  test("a table whose declared size runs past the end of the data throws AmqpError 501", () => {
    const bytes = tableBytes([["a", CASES.find((c) => c.type === "I")!]]);
    const wrong = bytes.slice();
    new DataView(wrong.buffer).setUint32(0, bytes.length - 4 + 1);
    expectFrameError(() => decodeTable(new Reader(wrong)));
    // One stray byte after the real entries, inside the declared size, is no complete entry either.
    const padded = new Uint8Array(bytes.length + 1);
    padded.set(bytes);
    new DataView(padded.buffer).setUint32(0, bytes.length - 4 + 1);
    expectFrameError(() => decodeTable(new Reader(padded)));
  });

  test("a nested table that overruns its declared size throws even when the outer size is right", () => {
    const inner = new Writer();
    inner.shortstr("k");
    inner.u8(code("I"));
    inner.i32(1); // 7 bytes
    const outer = new Writer();
    outer.shortstr("n");
    outer.u8(code("F"));
    outer.u32(5);
    outer.raw(inner.written()); // declares 5, holds 7
    const w = new Writer();
    w.u32(outer.pos);
    w.raw(outer.written());
    expectFrameError(() => decodeTable(new Reader(w.written())));
  });

  test("a truncated table at any length throws AmqpError 501", () => {
    const bytes = tableBytes(CASES.map((c, i): [string, Case] => [`k${i}`, c]));
    for (let length = 0; length < bytes.length; length++) {
      expectFrameError(() => decodeTable(new Reader(bytes.slice(0, length))), `cut at ${length}`);
    }
  });
});

describe("prototype safety", () => {
  test('a table key "__proto__" becomes an own property and does not pollute prototypes', () => {
    const inner = new Writer();
    inner.shortstr("polluted");
    inner.u8(code("t"));
    inner.u8(1);
    const w = new Writer();
    const body = new Writer();
    body.shortstr("__proto__");
    body.u8(code("F"));
    body.u32(inner.pos);
    body.raw(inner.written());
    body.shortstr("after");
    body.u8(code("I"));
    body.i32(1);
    w.u32(body.pos);
    w.raw(body.written());
    const bytes = w.written().slice();

    const table = decodeTable(new Reader(bytes));
    expect(Object.getPrototypeOf(table)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(table, "__proto__")).toBe(true);
    expect(plain(Object.getOwnPropertyDescriptor(table, "__proto__")?.value)).toEqual({ polluted: true });
    expect(Object.keys(table)).toEqual(["__proto__", "after"]);
    expect((table as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as unknown as Record<string, unknown>).polluted).toBeUndefined();
    // And it encodes back as it came.
    expect(reencode(table)).toEqual(bytes);
  });

  test('a "__proto__" key nested inside a table does not pollute prototypes either', () => {
    const deepest = new Writer();
    deepest.shortstr("polluted2");
    deepest.u8(code("S"));
    deepest.longstr("yes");
    const mid = new Writer();
    mid.shortstr("__proto__");
    mid.u8(code("F"));
    mid.u32(deepest.pos);
    mid.raw(deepest.written());
    const top = new Writer();
    top.shortstr("outer");
    top.u8(code("F"));
    top.u32(mid.pos);
    top.raw(mid.written());
    const w = new Writer();
    w.u32(top.pos);
    w.raw(top.written());

    const table = decodeTable(new Reader(w.written()));
    const outer = table.outer as FieldTable;
    expect(Object.getPrototypeOf(outer)).toBe(Object.prototype);
    expect((outer as Record<string, unknown>).polluted2).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted2).toBeUndefined();
  });

  test('a "__proto__" key with a non-canonical wire type re-encodes byte-exactly', () => {
    // A 'b' (signed octet) would re-encode as 'I' unless its type note is kept.
    const bytes = tableBytes([["__proto__", CASES.find((c) => c.type === "b")!]]);
    const table = decodeTable(new Reader(bytes));
    expect(Object.getOwnPropertyDescriptor(table, "__proto__")?.value).toBe(-5);
    expect(reencode(table)).toEqual(bytes);
  });
});
