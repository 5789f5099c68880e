import { describe, expect, test } from "bun:test";
import { FanoutRouter } from "../../../src/routing/fanout.ts";
import { names, route, runRouterConformance } from "./conformance.ts";

runRouterConformance("fanout", () => new FanoutRouter(), {
  bindKey: "ignored",
  bindArgs: {},
  routingKey: "anything.at.all",
});

describe("fanout router", () => {
  test("fanout routes every message to every destination whatever the keys", () => {
    const router = new FanoutRouter<{ name: string }>();
    router.bind("a", {}, { name: "q1" });
    router.bind("b.c", { "x-match": "any" }, { name: "q2" });
    router.bind("", {}, { name: "q3" });
    for (const key of ["", "a", "zzz", "#"]) expect(names(route(router, key))).toEqual(["q1", "q2", "q3"]);
  });

  test("fanout binds one destination under several keys but delivers to it once", () => {
    const router = new FanoutRouter<{ name: string }>();
    const q = { name: "q" };
    expect(router.bind("a", {}, q)).toBe(true);
    expect(router.bind("b", {}, q)).toBe(true);
    expect(router.size).toBe(2);
    expect(route(router, "x").size).toBe(1);
    router.unbind("a", {}, q);
    expect(names(route(router, "x"))).toEqual(["q"]);
  });
});
