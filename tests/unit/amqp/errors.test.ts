import { describe, expect, test } from "bun:test";
import {
  accessRefused,
  AmqpError,
  channelError,
  commandInvalid,
  frameError,
  notAllowed,
  notImplemented,
  preconditionFailed,
  syntaxError,
  unexpectedFrame,
} from "../../../src/amqp/errors.ts";
import { isHardError, ReplyCode, replyCodeName } from "../../../src/amqp/spec/constants.gen.ts";
import { Writer } from "../../../src/amqp/writer.ts";
import { Reader } from "../../../src/amqp/reader.ts";
import { spec, specTest } from "./spec_json.ts";

const HARD = [320, 402, 501, 502, 503, 504, 505, 506, 530, 540, 541];
const SOFT = [311, 312, 313, 403, 404, 405, 406];

const utf8Bytes = (s: string) => new TextEncoder().encode(s).length;

describe("AmqpError", () => {
  test("hard is true for 320 402 501 502 503 504 505 506 530 540 541", () => {
    for (const code of HARD) expect(new AmqpError(code, "x").hard, String(code)).toBe(true);
  });

  test("hard is false for 311 312 313 403 404 405 406", () => {
    for (const code of SOFT) expect(new AmqpError(code, "x").hard, String(code)).toBe(false);
  });

  specTest("hard and soft codes match the classes of the spec's constants", () => {
    const classified = spec.constants.filter((c) => c.class === "hard-error" || c.class === "soft-error");
    expect(classified.length).toBe(HARD.length + SOFT.length);
    for (const c of classified) {
      expect(isHardError(c.value), c.name).toBe(c.class === "hard-error");
      expect(new AmqpError(c.value, "x").hard, c.name).toBe(c.class === "hard-error");
    }
  });

  test("an unknown reply code counts as hard", () => {
    expect(new AmqpError(999, "x").hard).toBe(true);
  });

  test('replyText is "NAME - text" with RabbitMQ\'s name for the code', () => {
    expect(new AmqpError(404, "no queue 'q' in vhost '/'").replyText).toBe("NOT_FOUND - no queue 'q' in vhost '/'");
    expect(new AmqpError(406, "inequivalent arg 'durable'").replyText).toBe("PRECONDITION_FAILED - inequivalent arg 'durable'");
    expect(new AmqpError(501, "bad frame").replyText).toBe("FRAME_ERROR - bad frame");
  });

  specTest("every reply code of the spec has its constant name in replyText", () => {
    for (const c of spec.constants.filter((x) => x.class !== undefined || x.name === "REPLY-SUCCESS")) {
      const name = c.name.replace(/-/g, "_");
      expect(replyCodeName(c.value), c.name).toBe(name);
      expect((ReplyCode as Record<string, number>)[name], c.name).toBe(c.value);
      expect(new AmqpError(c.value, "t").replyText, c.name).toBe(`${name} - t`);
    }
  });

  test("a long ASCII replyText is cut to at most 255 bytes and keeps its start", () => {
    const text = "q".repeat(1000);
    const reply = new AmqpError(404, text).replyText;
    expect(utf8Bytes(reply)).toBeLessThanOrEqual(255);
    expect(reply.startsWith("NOT_FOUND - qqq")).toBe(true);
    expect(reply.length).toBeGreaterThan(200);
  });

  test("a replyText of exactly 255 bytes is kept whole", () => {
    const text = "x".repeat(255 - "NOT_FOUND - ".length);
    expect(new AmqpError(404, text).replyText).toBe(`NOT_FOUND - ${text}`);
  });

  test("a long non-ASCII replyText is at most 255 bytes (it is sent as a shortstr)", () => {
    for (const text of ["é".repeat(200), "✓".repeat(100), "🐇".repeat(70), `queue '${"ü".repeat(150)}' not found`]) {
      const reply = new AmqpError(404, text).replyText;
      expect(utf8Bytes(reply), JSON.stringify(text.slice(0, 10))).toBeLessThanOrEqual(255);
      expect(reply.startsWith("NOT_FOUND - ")).toBe(true);
    }
  });

  test("a cut replyText never ends in half a surrogate pair", () => {
    for (let pad = 0; pad < 4; pad++) {
      const reply = new AmqpError(404, "a".repeat(pad) + "🐇".repeat(200)).replyText;
      expect(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(reply), `pad ${pad}`).toBe(false);
    }
  });

  test("any replyText can be written as the reply-text shortstr of a close method", () => {
    for (const text of ["short", "z".repeat(400), "é".repeat(300), "🐇".repeat(100)]) {
      const reply = new AmqpError(541, text).replyText;
      const w = new Writer();
      w.shortstr(reply);
      expect(new Reader(w.written()).shortstr()).toBe(reply);
    }
  });

  test("carries the class and method that caused it, 0 when none", () => {
    const e = new AmqpError(404, "no exchange", 40, 10);
    expect([e.code, e.classId, e.methodId]).toEqual([404, 40, 10]);
    const bare = new AmqpError(404, "x");
    expect([bare.classId, bare.methodId]).toEqual([0, 0]);
    expect(bare).toBeInstanceOf(Error);
    expect(bare.name).toBe("AmqpError");
    expect(bare.message).toBe("x");
  });

  test("the helper constructors use the matching reply codes", () => {
    const cases: [(t: string) => AmqpError, number][] = [
      [frameError, 501],
      [syntaxError, 502],
      [commandInvalid, 503],
      [channelError, 504],
      [unexpectedFrame, 505],
      [notAllowed, 530],
      [notImplemented, 540],
      [accessRefused, 403],
      [preconditionFailed, 406],
    ];
    for (const [make, code] of cases) {
      const e = make("why");
      expect(e.code, make.name).toBe(code);
      expect(e.message).toBe("why");
    }
  });
});
