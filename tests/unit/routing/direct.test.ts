import { describe, expect, test } from "bun:test";
import { DirectRouter } from "../../../src/routing/direct.ts";
import { names, routable, route, runRouterConformance } from "./conformance.ts";

runRouterConformance("direct", () => new DirectRouter(), {
  bindKey: "orders",
  bindArgs: {},
  routingKey: "orders",
  unrouted: { routingKey: "orders.eu" },
});

describe("direct router", () => {
  test("direct binding matches only the exact routing key", () => {
    const router = new DirectRouter<{ name: string }>();
    router.bind("a.b", {}, { name: "exact" });
    router.bind("a.*", {}, { name: "star" });
    router.bind("#", {}, { name: "hash" });
    expect(names(route(router, "a.b"))).toEqual(["exact"]);
    expect(names(route(router, "a.c"))).toEqual([]);
    expect(names(route(router, "a.*"))).toEqual(["star"]);
    expect(names(route(router, "A.B"))).toEqual([]);
  });

  test("direct binding with the empty key matches the empty routing key", () => {
    const router = new DirectRouter<{ name: string }>();
    router.bind("", {}, { name: "empty" });
    expect(names(route(router, ""))).toEqual(["empty"]);
    expect(names(route(router, " "))).toEqual([]);
  });

  test("direct routing ignores headers and binding arguments", () => {
    const router = new DirectRouter<{ name: string }>();
    router.bind("k", { "x-match": "any", a: 1 }, { name: "q" });
    let calls = 0;
    const out = new Set<{ name: string }>();
    router.route("k", routable("", { a: 2 }, () => calls++), out);
    expect(names(out)).toEqual(["q"]);
    expect(calls).toBe(0);
  });

  test("direct keys compare whole strings, including non-ASCII text", () => {
    const router = new DirectRouter<{ name: string }>();
    router.bind("café", {}, { name: "q" });
    expect(names(route(router, "café"))).toEqual(["q"]);
    expect(names(route(router, "cafe"))).toEqual([]);
    expect(names(route(router, "café\u0000"))).toEqual([]);
  });
});
