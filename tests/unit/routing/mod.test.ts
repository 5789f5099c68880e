import { describe, expect, test } from "bun:test";
import { AmqpError } from "../../../src/amqp/errors.ts";
import {
  BUILTIN_EXCHANGE_TYPES, createRouter, DirectRouter, FanoutRouter, HeadersRouter, isBuiltinExchangeType,
  TopicRouter, validateBinding,
} from "../../../src/routing/mod.ts";

describe("routing module", () => {
  test("the built-in exchange types are RabbitMQ's four", () => {
    expect([...BUILTIN_EXCHANGE_TYPES].sort()).toEqual(["direct", "fanout", "headers", "topic"]);
    expect(isBuiltinExchangeType("topic")).toBe(true);
    expect(isBuiltinExchangeType("x-delayed-message")).toBe(false);
    expect(isBuiltinExchangeType("Topic")).toBe(false);
  });

  test("createRouter makes a new empty router of the named type", () => {
    expect(createRouter("direct")).toBeInstanceOf(DirectRouter);
    expect(createRouter("fanout")).toBeInstanceOf(FanoutRouter);
    expect(createRouter("topic")).toBeInstanceOf(TopicRouter);
    expect(createRouter("headers")).toBeInstanceOf(HeadersRouter);
    const a = createRouter<string>("direct");
    a.bind("k", {}, "q");
    expect(createRouter<string>("direct").size).toBe(0);
  });

  test("createRouter refuses a type that is not built in", () => {
    expect(() => createRouter("nope" as "direct")).toThrow('exchange type "nope" is not built in');
  });

  test("validateBinding checks x-match only for headers exchanges", () => {
    const bad = { "x-match": "none" };
    expect(() => validateBinding("headers", bad)).toThrow(AmqpError);
    for (const type of ["direct", "fanout", "topic"] as const) expect(() => validateBinding(type, bad)).not.toThrow();
    expect(() => validateBinding("headers", { "x-match": "any" })).not.toThrow();
  });
});
