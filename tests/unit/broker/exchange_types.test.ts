// The exchange-type registry: the four built-in types, registering more, RabbitMQ's 503 for an
// unknown type, and each type's router and binding checks.
import { describe, expect, test } from "bun:test";
import { AmqpError } from "../../../src/amqp/errors.ts";
import { ExchangeTypes } from "../../../src/broker/exchange_types.ts";
import { DirectRouter, FanoutRouter, HeadersRouter, TopicRouter } from "../../../src/routing/mod.ts";

describe("exchange types", () => {
  test("a broker's registry starts with RabbitMQ's four types", () => {
    const types = new ExchangeTypes();
    expect(types.list().map((t) => t.type.name).sort()).toEqual(["direct", "fanout", "headers", "topic"]);
    expect(types.list().every((t) => t.plugin === undefined)).toBe(true);
  });

  test("each built-in type makes a new, empty router of its kind", () => {
    const types = new ExchangeTypes();
    expect(types.require("direct").createRouter({})).toBeInstanceOf(DirectRouter);
    expect(types.require("fanout").createRouter({})).toBeInstanceOf(FanoutRouter);
    expect(types.require("topic").createRouter({})).toBeInstanceOf(TopicRouter);
    expect(types.require("headers").createRouter({})).toBeInstanceOf(HeadersRouter);
    const a = types.require("direct").createRouter<string>({});
    a.bind("k", {}, "q");
    expect(types.require("direct").createRouter<string>({}).size).toBe(0);
  });

  test("an unknown type is RabbitMQ's 503 COMMAND_INVALID naming it (names are case-sensitive)", () => {
    const types = new ExchangeTypes();
    for (const name of ["x-delayed-message", "Topic"]) {
      let error: unknown;
      try {
        types.require(name);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(AmqpError);
      expect((error as AmqpError).code).toBe(503);
      expect((error as AmqpError).message).toBe(`unknown exchange type '${name}'`);
    }
  });

  test("only the headers type checks binding arguments (x-match)", () => {
    const types = new ExchangeTypes();
    const bad = { "x-match": "none" };
    expect(() => types.require("headers").validateBinding!("", bad)).toThrow(AmqpError);
    for (const name of ["direct", "fanout", "topic"]) expect(types.require(name).validateBinding).toBeUndefined();
    expect(() => types.require("headers").validateBinding!("", { "x-match": "any" })).not.toThrow();
  });

  test("a registered type is found, a second one of the same name is refused, unregister removes it", () => {
    const types = new ExchangeTypes();
    const mine = { name: "x-mine", description: "mine", createRouter: <D>() => new FanoutRouter<D>() };
    types.register(mine, "my_plugin");
    expect(types.get("x-mine")).toBe(mine);
    expect(types.list().find((t) => t.type.name === "x-mine")?.plugin).toBe("my_plugin");
    expect(() => types.register({ ...mine }, "other")).toThrow("exchange type 'x-mine' is already registered by my_plugin");
    expect(() => types.register({ ...mine, name: "direct" })).toThrow("exchange type 'direct' is already registered");
    types.unregister("x-mine");
    expect(types.get("x-mine")).toBeUndefined();
  });
});
