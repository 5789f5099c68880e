// One conformance suite for every router (Hono's common.case.test.ts style): each exchange
// type's test file calls runRouterConformance with a factory and a binding that routes a
// sample message. Plugin exchange types can run the same suite.
import { describe, expect, test } from "bun:test";
import type { FieldTable } from "../../../src/amqp/table.ts";
import { argumentsKey } from "../../../src/routing/field_values.ts";
import type { RoutableMessage, Router } from "../../../src/routing/router.ts";

export interface ConformanceSample {
  /** A binding (key, arguments) that routes the message below. */
  bindKey: string;
  bindArgs: FieldTable;
  /** The message. */
  routingKey: string;
  headers?: FieldTable;
  /** A message the binding does not route, when the type can tell (fanout cannot). */
  unrouted?: { routingKey: string; headers?: FieldTable };
  /** The type routes each message to exactly one of the destinations it could go to (x-consistent-hash). */
  picksOne?: boolean;
  /**
   * Removing any binding of a destination stops routing to it even when it has other bindings
   * (RabbitMQ's consistent-hash ring drops all the destination's buckets).
   */
  unbindDropsDestination?: boolean;
}

interface Q {
  name: string;
}

/** A RoutableMessage with the given headers; `onHeaders` counts how often a router decodes them. */
export function routable(routingKey: string, headers?: FieldTable, onHeaders?: () => void): RoutableMessage {
  return {
    routingKey,
    headerTable: () => (onHeaders?.(), headers),
    get props() {
      onHeaders?.();
      return headers === undefined ? {} : { headers };
    },
  };
}

export function route<D>(router: Router<D>, routingKey: string, headers?: FieldTable): Set<D> {
  const out = new Set<D>();
  router.route(routingKey, routable(routingKey, headers), out);
  return out;
}

/** Names of the queues a message reaches, sorted. */
export function names(out: Set<Q>): string[] {
  return [...out].map((q) => q.name).sort();
}

export function runRouterConformance(name: string, create: () => Router<Q>, sample: ConformanceSample): void {
  describe(`${name} router conformance`, () => {
    const { bindKey, bindArgs, routingKey, headers } = sample;
    /** Routes to exactly `expected`, or to one of them for a type that picks one. */
    const expectRoutes = (out: Set<Q>, expected: string[]) => {
      if (sample.picksOne && expected.length > 1) {
        expect(out.size).toBe(1);
        expect(expected).toContain(names(out)[0]!);
      } else expect(names(out)).toEqual(expected);
    };
    // The same binding told apart by an extra argument that no type routes on.
    const otherArgs: FieldTable = { ...bindArgs, "x-note": "second" };
    const q1: Q = { name: "q1" };
    const q2: Q = { name: "q2" };

    test("a new router has no bindings and routes nothing", () => {
      const router = create();
      expect(router.size).toBe(0);
      let calls = 0;
      const out = new Set<Q>();
      router.route(routingKey, routable(routingKey, headers, () => calls++), out);
      expect(out.size).toBe(0);
      expect(calls).toBe(0);
    });

    test("bind returns true and the binding routes the message", () => {
      const router = create();
      expect(router.bind(bindKey, bindArgs, q1)).toBe(true);
      expect(router.size).toBe(1);
      expect(router.has(bindKey, bindArgs, q1)).toBe(true);
      expect(names(route(router, routingKey, headers))).toEqual(["q1"]);
    });

    if (sample.unrouted) {
      const unrouted = sample.unrouted;
      test("a message the binding does not match routes nowhere", () => {
        const router = create();
        router.bind(bindKey, bindArgs, q1);
        expect(route(router, unrouted.routingKey, unrouted.headers).size).toBe(0);
      });
    }

    test("binding the same key, arguments and destination twice returns false", () => {
      const router = create();
      expect(router.bind(bindKey, bindArgs, q1)).toBe(true);
      expect(router.bind(bindKey, { ...bindArgs }, q1)).toBe(false);
      expect(router.size).toBe(1);
    });

    test("argument order does not tell bindings apart", () => {
      const router = create();
      const reversed: FieldTable = {};
      for (const key of Object.keys(otherArgs).reverse()) reversed[key] = otherArgs[key]!;
      expect(router.bind(bindKey, otherArgs, q1)).toBe(true);
      expect(router.bind(bindKey, reversed, q1)).toBe(false);
      expect(router.has(bindKey, reversed, q1)).toBe(true);
    });

    test("different arguments make a second binding that routes the destination once", () => {
      const router = create();
      expect(router.bind(bindKey, bindArgs, q1)).toBe(true);
      expect(router.bind(bindKey, otherArgs, q1)).toBe(true);
      expect(router.size).toBe(2);
      const out = route(router, routingKey, headers);
      expect(names(out)).toEqual(["q1"]);
    });

    test("a different routing key makes a second binding", () => {
      const router = create();
      expect(router.bind(bindKey, bindArgs, q1)).toBe(true);
      expect(router.bind(`${bindKey}.other`, bindArgs, q1)).toBe(true);
      expect(router.size).toBe(2);
      expect(router.has(`${bindKey}.other`, bindArgs, q1)).toBe(true);
    });

    test("a routing key that spells out some arguments is not those arguments", () => {
      const router = create();
      expect(router.bind(bindKey, otherArgs, q1)).toBe(true);
      expect(router.bind(bindKey + argumentsKey(otherArgs), {}, q1)).toBe(true);
      expect(router.size).toBe(2);
    });

    test("two destinations on one binding key both get the message", () => {
      const router = create();
      router.bind(bindKey, bindArgs, q1);
      router.bind(bindKey, bindArgs, q2);
      expectRoutes(route(router, routingKey, headers), ["q1", "q2"]);
    });

    test("unbind returns true once, then false, and the message no longer routes", () => {
      const router = create();
      router.bind(bindKey, bindArgs, q1);
      expect(router.unbind(bindKey, bindArgs, q1)).toBe(true);
      expect(router.unbind(bindKey, bindArgs, q1)).toBe(false);
      expect(router.size).toBe(0);
      expect(router.has(bindKey, bindArgs, q1)).toBe(false);
      expect(route(router, routingKey, headers).size).toBe(0);
    });

    test("unbind with other arguments, key or destination leaves the binding", () => {
      const router = create();
      router.bind(bindKey, bindArgs, q1);
      expect(router.unbind(bindKey, otherArgs, q1)).toBe(false);
      expect(router.unbind(`${bindKey}.other`, bindArgs, q1)).toBe(false);
      expect(router.unbind(bindKey, bindArgs, q2)).toBe(false);
      expect(router.size).toBe(1);
      expect(names(route(router, routingKey, headers))).toEqual(["q1"]);
    });

    test("unbinding one of two bindings to a destination keeps it routed", () => {
      const router = create();
      router.bind(bindKey, bindArgs, q1);
      router.bind(bindKey, otherArgs, q1);
      router.unbind(bindKey, bindArgs, q1);
      expect(router.size).toBe(1);
      expect(names(route(router, routingKey, headers))).toEqual(sample.unbindDropsDestination ? [] : ["q1"]);
    });

    test("a binding can be made again after unbind", () => {
      const router = create();
      router.bind(bindKey, bindArgs, q1);
      router.unbind(bindKey, bindArgs, q1);
      expect(router.bind(bindKey, bindArgs, q1)).toBe(true);
      expect(names(route(router, routingKey, headers))).toEqual(["q1"]);
    });

    test("removeDestination removes every binding of that destination only", () => {
      const router = create();
      router.bind(bindKey, bindArgs, q1);
      router.bind(bindKey, otherArgs, q1);
      router.bind(`${bindKey}.other`, bindArgs, q1);
      router.bind(bindKey, bindArgs, q2);
      router.removeDestination(q1);
      expect(router.size).toBe(1);
      expect(router.has(bindKey, bindArgs, q1)).toBe(false);
      expect(router.has(bindKey, bindArgs, q2)).toBe(true);
      expect(names(route(router, routingKey, headers))).toEqual(["q2"]);
      router.removeDestination(q1);
      router.removeDestination({ name: "never bound" });
      expect(router.size).toBe(1);
    });

    test("bindingsTo, where a router has it, lists the bindings of that destination only", () => {
      const router = create();
      if (router.bindingsTo === undefined) return;
      router.bind(bindKey, bindArgs, q1);
      router.bind(`${bindKey}.other`, bindArgs, q1);
      router.bind(bindKey, bindArgs, q2);
      expect([...router.bindingsTo(q1)].map((b) => [b.routingKey, b.destination.name]).sort()).toEqual([
        [bindKey, "q1"],
        [`${bindKey}.other`, "q1"],
      ]);
      expect([...router.bindingsTo({ name: "never bound" })]).toEqual([]);
      router.removeDestination(q1);
      expect([...router.bindingsTo(q1)]).toEqual([]);
    });

    test("route adds to the caller's set without clearing it", () => {
      const router = create();
      router.bind(bindKey, bindArgs, q1);
      const earlier: Q = { name: "earlier" };
      const out = new Set<Q>([earlier]);
      router.route(routingKey, routable(routingKey, headers), out);
      expect(names(out)).toEqual(["earlier", "q1"]);
    });

    test("route reads the headers at most once", () => {
      const router = create();
      for (let i = 0; i < 5; i++) router.bind(bindKey, { ...bindArgs, [`x-n${i}`]: i }, { name: `q${i}` });
      let calls = 0;
      const access: RoutableMessage = routable("", headers, () => calls++);
      router.route(routingKey, access, new Set());
      expect(calls).toBeLessThanOrEqual(1);
    });

    test("many bindings unbound in any order leave an empty router", () => {
      const router = create();
      const queues = Array.from({ length: 20 }, (_, i) => ({ name: `q${i}` }));
      for (const q of queues) {
        router.bind(bindKey, bindArgs, q);
        router.bind(bindKey, otherArgs, q);
      }
      expect(router.size).toBe(40);
      for (let i = 0; i < queues.length; i += 3) router.unbind(bindKey, bindArgs, queues[i]!);
      for (let i = 0; i < queues.length; i += 2) router.removeDestination(queues[i]!);
      const left = queues.filter((_, i) => i % 2 !== 0);
      expectRoutes(route(router, routingKey, headers), left.map((q) => q.name).sort());
      for (const q of queues) router.removeDestination(q);
      expect(router.size).toBe(0);
      expect(route(router, routingKey, headers).size).toBe(0);
    });
  });
}
