import { describe, expect, test } from "bun:test";
import { AmqpError } from "../../../src/amqp/errors.ts";
import { Reader } from "../../../src/amqp/reader.ts";
import { ReplyCode } from "../../../src/amqp/spec/constants.gen.ts";
import { AmqpDecimal, decodeTable, encodeTable, type FieldTable, Typed } from "../../../src/amqp/table.ts";
import { Writer } from "../../../src/amqp/writer.ts";
import { HeadersRouter, validateHeadersBinding } from "../../../src/routing/headers.ts";
import { routable, runRouterConformance } from "./conformance.ts";

runRouterConformance("headers", () => new HeadersRouter(), {
  bindKey: "",
  bindArgs: { "x-match": "all", format: "pdf" },
  routingKey: "",
  headers: { format: "pdf", type: "report" },
  unrouted: { routingKey: "", headers: { format: "zip", type: "report" } },
});

/** A table as it arrives off the wire: Typed values become plain ones with their types noted. */
function wire(table: FieldTable): FieldTable {
  const w = new Writer(64);
  encodeTable(w, table);
  return decodeTable(new Reader(w.written()));
}

const bytes = (s: string) => new TextEncoder().encode(s);

/** Whether a message with `headers` routes through a binding with `args`. */
function matches(args: FieldTable, headers: FieldTable | undefined): boolean {
  const router = new HeadersRouter<string>();
  router.bind("", args, "q");
  const out = new Set<string>();
  router.route("ignored", routable("ignored", headers), out);
  return out.has("q");
}

/** [description, binding arguments, headers, matches] */
type Case = [string, FieldTable, FieldTable | undefined, boolean];

function cases(title: string, list: Case[]): void {
  describe(title, () => {
    for (const [name, args, headers, expected] of list) {
      test(name, () => {
        expect(matches(wire(args), headers === undefined ? undefined : wire(headers))).toBe(expected);
      });
    }
  });
}

cases("headers x-match all", [
  ["all matches when every key is present with an equal value", { a: 1, b: "x" }, { a: 1, b: "x", c: 3 }, true],
  ["all is the default when x-match is absent", { a: 1, b: "x" }, { b: "x", a: 1 }, true],
  ["all fails when one key is missing", { "x-match": "all", a: 1, b: "x" }, { a: 1 }, false],
  ["all fails when one value differs", { "x-match": "all", a: 1, b: "x" }, { a: 2, b: "x" }, false],
  ["all fails on a message without headers", { "x-match": "all", a: 1 }, undefined, false],
  ["all with no keys matches a message without headers", { "x-match": "all" }, undefined, true],
  ["all with no arguments at all matches every message", {}, { z: 1 }, true],
  ["all with only x- keys matches everything", { "x-match": "all", "x-a": 1 }, {}, true],
  ["all ignores x- keys of the binding", { "x-match": "all", "x-a": 1, b: 2 }, { b: 2 }, true],
  ["all does not compare x- keys even when the message has them", { "x-a": 1, b: 2 }, { "x-a": 9, b: 2 }, true],
  ["all compares keys case-sensitively", { A: 1 }, { a: 1 }, false],
]);

cases("headers x-match any", [
  ["any matches when one key is present with an equal value", { "x-match": "any", a: 1, b: 2 }, { b: 2 }, true],
  ["any matches despite other keys differing", { "x-match": "any", a: 1, b: 2 }, { a: 9, b: 2 }, true],
  ["any fails when no key has an equal value", { "x-match": "any", a: 1, b: 2 }, { a: 9, c: 1 }, false],
  ["any fails on a message without headers", { "x-match": "any", a: 1 }, undefined, false],
  ["any fails on empty headers", { "x-match": "any", a: 1 }, {}, false],
  ["any with no keys matches nothing", { "x-match": "any" }, { a: 1 }, false],
  ["any with only x- keys matches nothing, even the same x- header", { "x-match": "any", "x-a": 1 }, { "x-a": 1 }, false],
]);

cases("headers x-match all-with-x and any-with-x", [
  ["all-with-x compares x- keys", { "x-match": "all-with-x", "x-a": 1, b: 2 }, { "x-a": 1, b: 2 }, true],
  ["all-with-x fails when an x- key is missing", { "x-match": "all-with-x", "x-a": 1, b: 2 }, { b: 2 }, false],
  ["all-with-x fails when an x- value differs", { "x-match": "all-with-x", "x-a": 1 }, { "x-a": 2 }, false],
  ["all-with-x never compares x-match itself", { "x-match": "all-with-x", a: 1 }, { a: 1 }, true],
  ["all-with-x with no other keys matches everything", { "x-match": "all-with-x" }, undefined, true],
  ["any-with-x matches on an x- key", { "x-match": "any-with-x", "x-a": 1, b: 2 }, { "x-a": 1 }, true],
  ["any-with-x fails when no key matches", { "x-match": "any-with-x", "x-a": 1 }, { "x-a": 2 }, false],
  ["any-with-x does not match on the message's own x-match header", { "x-match": "any-with-x" }, { "x-match": "any-with-x" }, false],
]);

cases("headers void values", [
  ["a void binding value matches a header present with any value", { a: null }, { a: "anything" }, true],
  ["a void binding value matches a void header", { a: null }, { a: null }, true],
  ["a void binding value matches a header holding false", { a: null }, { a: false }, true],
  ["a void binding value does not match a missing header", { a: null }, { b: 1 }, false],
  ["any with a void binding value matches on presence", { "x-match": "any", a: null, b: 1 }, { a: 0 }, true],
  ["a void header does not equal a non-void binding value", { a: 1 }, { a: null }, false],
  ["a void header does not equal an empty string", { a: "" }, { a: null }, false],
]);

cases("headers value types", [
  ["a signed int binding value equals a byte header (amqplib's small integers)", { n: new Typed("I", 5) }, { n: new Typed("b", 5) }, true],
  ["a byte binding value equals a signed int header", { n: new Typed("b", 5) }, { n: new Typed("I", 5) }, true],
  ["integers of every width compare by value", { n: new Typed("s", -3) }, { n: new Typed("l", -3) }, true],
  ["an unsigned short equals an unsigned int of the same value", { n: new Typed("u", 300) }, { n: new Typed("i", 300) }, true],
  ["a double equals an integer of the same value", { n: new Typed("d", 7) }, { n: new Typed("B", 7) }, true],
  ["a float equals a double of the same value", { n: new Typed("f", 1.5) }, { n: 1.5 }, true],
  ["different numbers do not match", { n: new Typed("I", 5) }, { n: new Typed("b", 6) }, false],
  ["a number does not equal its text", { n: 5 }, { n: "5" }, false],
  ["a string equals bytes with the same UTF-8", { s: "café" }, { s: bytes("café") }, true],
  ["bytes equal a string with the same UTF-8", { s: bytes("abc") }, { s: "abc" }, true],
  ["bytes compare by content", { s: bytes("abc") }, { s: bytes("abd") }, false],
  ["strings compare exactly", { s: "abc" }, { s: "ABC" }, false],
  ["a boolean does not equal 1", { t: true }, { t: new Typed("b", 1) }, false],
  ["booleans compare by value", { t: false }, { t: false }, true],
  ["booleans that differ do not match", { t: false }, { t: true }, false],
  ["a timestamp equals a timestamp of the same second", { at: new Date(1_700_000_000_000) }, { at: new Date(1_700_000_000_000) }, true],
  ["a timestamp equals the integer of its seconds, as in Erlang", { at: new Date(1_700_000_000_000) }, { at: 1_700_000_000 }, true],
  ["timestamps of different seconds do not match", { at: new Date(1_700_000_000_000) }, { at: new Date(1_700_000_001_000) }, false],
  ["decimals compare by scale and digits", { d: new AmqpDecimal(2, 150) }, { d: new AmqpDecimal(2, 150) }, true],
  ["decimals of equal value but other scale do not match", { d: new AmqpDecimal(2, 150) }, { d: new AmqpDecimal(1, 15) }, false],
  ["a decimal does not equal a number", { d: new AmqpDecimal(0, 3) }, { d: 3 }, false],
]);

cases("headers nested values", [
  ["equal arrays match", { a: ["x", 1, true] }, { a: ["x", 1, true] }, true],
  ["arrays in another order do not match", { a: ["x", "y"] }, { a: ["y", "x"] }, false],
  ["arrays of different length do not match", { a: ["x"] }, { a: ["x", "x"] }, false],
  ["array elements compare with their types, as RabbitMQ's nested terms do", { a: [new Typed("I", 1)] }, { a: [new Typed("b", 1)] }, false],
  ["array elements of the same type compare by value", { a: [new Typed("b", 1)] }, { a: [new Typed("b", 1)] }, true],
  ["equal tables match", { t: { k: "v", n: 2 } }, { t: { k: "v", n: 2 } }, true],
  ["tables with a differing value do not match", { t: { k: "v" } }, { t: { k: "w" } }, false],
  ["tables with keys in another order do not match", { t: { a: 1, b: 2 } }, { t: { b: 2, a: 1 } }, false],
  ["tables nested in arrays compare deeply", { a: [{ k: [bytes("z")] }] }, { a: [{ k: [bytes("z")] }] }, true],
  ["deeply nested bytes that differ do not match", { a: [{ k: [bytes("z")] }] }, { a: [{ k: [bytes("y")] }] }, false],
  ["a nested string does not equal nested bytes", { a: ["abc"] }, { a: [bytes("abc")] }, false],
  ["an empty table equals an empty array, both [] in Erlang", { e: {} }, { e: [] }, true],
  ["a table does not equal an array of the same values", { e: { "0": 1 } }, { e: [1] }, false],
  ["nested dates compare by second", { a: [new Date(5000)] }, { a: [new Date(5000)] }, true],
]);

describe("headers router", () => {
  test("headers router does not read the headers when it has no bindings", () => {
    const router = new HeadersRouter<string>();
    let calls = 0;
    router.route("", routable("", { a: 1 }, () => calls++), new Set());
    router.bind("", { a: 1 }, "q");
    router.unbind("", { a: 1 }, "q");
    router.route("", routable("", { a: 1 }, () => calls++), new Set());
    expect(calls).toBe(0);
  });

  test("headers router reads the headers once for many bindings", () => {
    const router = new HeadersRouter<string>();
    for (let i = 0; i < 10; i++) router.bind("", { "x-match": i % 2 ? "any" : "all", [`k${i}`]: i }, `q${i}`);
    let calls = 0;
    const out = new Set<string>();
    router.route("", routable("", { k3: 3, k4: 4 }, () => calls++), out);
    expect(calls).toBe(1);
    expect([...out].sort()).toEqual(["q3", "q4"]);
  });

  test("headers router does not read the headers when no binding has keys to compare", () => {
    const router = new HeadersRouter<string>();
    router.bind("", {}, "all");
    router.bind("", { "x-match": "any" }, "any");
    let calls = 0;
    const out = new Set<string>();
    router.route("", routable("", undefined, () => calls++), out);
    expect(calls).toBe(0);
    expect([...out]).toEqual(["all"]);
  });

  test("headers routing ignores the routing key", () => {
    const router = new HeadersRouter<string>();
    router.bind("some.key", { a: 1 }, "q");
    const out = new Set<string>();
    router.route("other", routable("other", { a: 1 }), out);
    expect([...out]).toEqual(["q"]);
  });

  test("header keys named like Object properties are absent unless sent", () => {
    expect(matches({ constructor: null }, {})).toBe(false);
    expect(matches({ toString: null, "x-match": "any", hasOwnProperty: null }, { a: 1 })).toBe(false);
    expect(matches(wire({ constructor: "c" }), wire({ constructor: "c" }))).toBe(true);
    const proto = wire(JSON.parse('{"__proto__": "p"}') as FieldTable);
    expect(matches(proto, {})).toBe(false);
    expect(matches(proto, proto)).toBe(true);
  });

  test("a binding with an invalid x-match routes as all, as RabbitMQ's legacy fallback", () => {
    expect(matches({ "x-match": "bogus", a: 1, b: 2 }, { a: 1 })).toBe(false);
    expect(matches({ "x-match": "bogus", a: 1, b: 2 }, { a: 1, b: 2 })).toBe(true);
    expect(matches({ "x-match": 1, a: 1 }, { a: 1, "x-match": 1 })).toBe(true);
  });

  test("bindings differing only in an argument's wire type are distinct, as in RabbitMQ", () => {
    const router = new HeadersRouter<string>();
    expect(router.bind("", wire({ a: new Typed("b", 1) }), "q")).toBe(true);
    expect(router.bind("", wire({ a: new Typed("I", 1) }), "q")).toBe(true);
    expect(router.bind("", wire({ a: new Typed("b", 1) }), "q")).toBe(false);
    expect(router.has("", { a: new Typed("b", 1) }, "q")).toBe(true);
    expect(router.size).toBe(2);
  });
});

describe("headers binding validation", () => {
  const rejects = (args: FieldTable, text: string) => {
    let caught: unknown;
    try {
      validateHeadersBinding(args);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(AmqpError);
    const error = caught as AmqpError;
    expect(error.code).toBe(ReplyCode.PRECONDITION_FAILED);
    expect(error.message).toBe(text);
    expect(error.replyText).toBe(`PRECONDITION_FAILED - ${text}`);
  };

  test("the four x-match values and no x-match are accepted", () => {
    for (const mode of ["all", "any", "all-with-x", "any-with-x"]) {
      expect(() => validateHeadersBinding(wire({ "x-match": mode, a: 1 }))).not.toThrow();
    }
    expect(() => validateHeadersBinding({})).not.toThrow();
    expect(() => validateHeadersBinding({ a: null, "x-other": 1 })).not.toThrow();
  });

  test("an unknown x-match string is rejected with RabbitMQ's text", () => {
    rejects({ "x-match": "some" }, 'Invalid x-match field value <<"some">>; expected all, any, all-with-x, or any-with-x');
    rejects({ "x-match": "ALL" }, 'Invalid x-match field value <<"ALL">>; expected all, any, all-with-x, or any-with-x');
    rejects({ "x-match": "" }, "Invalid x-match field value <<>>; expected all, any, all-with-x, or any-with-x");
    rejects({ "x-match": 'a"b' }, 'Invalid x-match field value <<"a\\"b">>; expected all, any, all-with-x, or any-with-x');
    rejects({ "x-match": "\b\t\n\\" }, 'Invalid x-match field value <<"\\b\\t\\n\\\\">>; expected all, any, all-with-x, or any-with-x');
    rejects({ "x-match": "\u0001" }, "Invalid x-match field value <<1>>; expected all, any, all-with-x, or any-with-x");
  });

  test("an x-match that is not a long string is rejected with its Erlang type", () => {
    rejects(wire({ "x-match": new Typed("b", 1) }), "Invalid x-match field type byte (value 1); expected longstr");
    rejects({ "x-match": 70000 }, "Invalid x-match field type signedint (value 70000); expected longstr");
    rejects({ "x-match": true }, "Invalid x-match field type bool (value true); expected longstr");
    rejects({ "x-match": null }, "Invalid x-match field type void (value undefined); expected longstr");
    rejects({ "x-match": bytes("all") }, 'Invalid x-match field type binary (value <<"all">>); expected longstr');
    rejects({ "x-match": 1.5 }, "Invalid x-match field type double (value 1.5); expected longstr");
    rejects(wire({ "x-match": new Typed("d", 2) }), "Invalid x-match field type double (value 2.0); expected longstr");
    rejects({ "x-match": ["all"] }, 'Invalid x-match field type array (value [{longstr,<<"all">>}]); expected longstr');
    rejects({ "x-match": { m: "all" } }, 'Invalid x-match field type table (value [{<<"m">>,longstr,<<"all">>}]); expected longstr');
  });
});
