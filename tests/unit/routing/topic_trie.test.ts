import { describe, expect, test } from "bun:test";
import type { FieldTable } from "../../../src/amqp/table.ts";
import { TopicRouter } from "../../../src/routing/topic_trie.ts";
import { names, route, runRouterConformance } from "./conformance.ts";

runRouterConformance("topic", () => new TopicRouter(), {
  bindKey: "stock.*.nyse",
  bindArgs: {},
  routingKey: "stock.ibm.nyse",
  unrouted: { routingKey: "stock.ibm.lse" },
});

interface Q {
  name: string;
}

/** [binding key, routing key, matches] — RabbitMQ 3.10.8 semantics. */
const CASES: [string, string, boolean][] = [
  // literal words
  ["a.b.c", "a.b.c", true],
  ["a.b.c", "a.b", false],
  ["a.b.c", "a.b.c.d", false],
  ["A.b", "a.b", false],
  ["café.*", "café.au-lait", true],
  ["a b.*", "a b.c", true],
  // "*" is exactly one word
  ["*", "a", true],
  ["*", "a.b", false],
  ["*", "", false], // the empty key has no words at all
  ["*", ".", false], // "." is two empty words
  ["*.*", ".", true],
  ["*.*", "..", false],
  ["*.*.*", "..", true],
  ["*.*.*", "a.b.c", true],
  ["*.*.*", "a.b", false],
  ["a.*", "a", false],
  ["a.*", "a.", true],
  ["a.*.c", "a..c", true],
  ["*.b", "a.b.", false],
  ["*.a", ".a", true],
  // "#" is zero or more words
  ["#", "", true],
  ["#", "a", true],
  ["#", "a.b.c", true],
  ["#", "..", true],
  ["#.#", "", true],
  ["#.#", "a.b", true],
  ["#.#.#", "...", true],
  ["a.#", "a", true],
  ["a.#", "a.b.c", true],
  ["a.#", "b.a", false],
  ["a.#", "", false],
  ["#.a", "a", true],
  ["#.a", "b.a", true],
  ["#.a", "a.b", false],
  ["a.#.b", "a.b", true],
  ["a.#.b", "a.x.y.b", true],
  ["a.#.b", "a.b.b", true],
  ["a.#.b", "a.b.c", false],
  ["a.#.#.b", "a.b", true],
  ["#.b.#", "b", true],
  ["#.b.#", "a.c", false],
  ["#.a.#.a.#", "a.a", true],
  ["#.a.#.a.#", "a", false],
  ["#.a.#.a.#", "b.a.c.a.d", true],
  // "*" and "#" together
  ["*.#", "", false],
  ["*.#", "a", true],
  ["#.*", "a.b", true],
  ["#.*", "", false],
  ["#.*.#", "", false],
  ["#.*.#", "x", true],
  ["a.*.#", "a.b", true],
  ["a.*.#", "a", false],
  ["#.*.*", "a", false],
  ["#.*.*", "a.b", true],
  // empty words and the empty key
  ["", "", true],
  ["", "a", false],
  ["", ".", false],
  ["a..b", "a..b", true],
  ["a..b", "a.b", false],
  ["a.", "a.", true],
  ["a.", "a", false],
  [".a", ".a", true],
  ["..", "..", true],
  ["a.b.", "a.b.", true],
  ["a.b", "a.b.", false],
  // wildcard characters in a routing key are plain words
  ["a.b", "a.*", false],
  ["*", "#", true],
  ["a.#", "a.*", true],
  ["a.*.c", "a.#.c", true],
  ["a.#.c", "a.#", false],
  ["a*.b", "a*.b", true],
  ["a*.b", "ax.b", false],
  ["a#", "a", false],
];

describe("topic binding matches", () => {
  for (const [binding, key, expected] of CASES) {
    test(`topic binding "${binding}" ${expected ? "matches" : "does not match"} key "${key}"`, () => {
      const router = new TopicRouter<Q>();
      router.bind(binding, {}, { name: "q" });
      expect(route(router, key).size).toBe(expected ? 1 : 0);
      // and the reference agrees with the table, so a wrong reference cannot hide a bug
      expect(referenceMatch(binding, key)).toBe(expected);
    });
  }

  test("topic bindings in one trie each match as they would alone", () => {
    const router = new TopicRouter<Q>();
    const bindings = [...new Set(CASES.map(([b]) => b))];
    for (const b of bindings) router.bind(b, {}, { name: b });
    for (const key of new Set(CASES.map(([, k]) => k))) {
      const expected = bindings.filter((b) => referenceMatch(b, key)).sort();
      expect({ key, routed: names(route(router, key)) }).toEqual({ key, routed: expected });
    }
  });
});

describe("topic router against RabbitMQ's topic_matching test", () => {
  // deps/rabbit/test/unit_access_control_SUITE.erl, topic_matching1, v3.10.8
  const bindings: [string, string, FieldTable][] = [
    ["a.b.c", "t1", {}],
    ["a.*.c", "t2", {}],
    ["a.#.b", "t3", {}],
    ["a.b.b.c", "t4", {}],
    ["#", "t5", {}],
    ["#.#", "t6", {}],
    ["#.b", "t7", {}],
    ["*.*", "t8", {}],
    ["a.*", "t9", {}],
    ["*.b.c", "t10", {}],
    ["a.#", "t11", {}],
    ["a.#.#", "t12", {}],
    ["b.b.c", "t13", {}],
    ["a.b.b", "t14", {}],
    ["a.b", "t15", {}],
    ["b.c", "t16", {}],
    ["", "t17", {}],
    ["*.*.*", "t18", {}],
    ["vodka.martini", "t19", {}],
    ["a.b.c", "t20", {}],
    ["*.#", "t21", {}],
    ["#.*.#", "t22", {}],
    ["*.#.#", "t23", {}],
    ["#.#.#", "t24", {}],
    ["*", "t25", {}],
    ["#.b.#", "t26", {}],
    ["args-test", "t27", { foo: "bar" }],
    ["args-test", "t27", { foo: "baz" }],
  ];
  const router = new TopicRouter<Q>();
  const queues = new Map<string, Q>();
  const queue = (name: string) => queues.get(name) ?? (queues.set(name, { name }), queues.get(name)!);
  const check = (key: string, expected: string[]) =>
    expect({ key, routed: names(route(router, key)) }).toEqual({ key, routed: expected.sort() });

  test("topic router routes RabbitMQ's keys to RabbitMQ's queues", () => {
    for (const [key, q, args] of bindings) expect(router.bind(key, args, queue(q))).toBe(true);
    expect(router.size).toBe(28);
    check("a.b.c", ["t1", "t2", "t5", "t6", "t10", "t11", "t12", "t18", "t20", "t21", "t22", "t23", "t24", "t26"]);
    check("a.b", ["t3", "t5", "t6", "t7", "t8", "t9", "t11", "t12", "t15", "t21", "t22", "t23", "t24", "t26"]);
    check("a.b.b", ["t3", "t5", "t6", "t7", "t11", "t12", "t14", "t18", "t21", "t22", "t23", "t24", "t26"]);
    check("", ["t5", "t6", "t17", "t24"]);
    check("b.c.c", ["t5", "t6", "t18", "t21", "t22", "t23", "t24", "t26"]);
    check("a.a.a.a.a", ["t5", "t6", "t11", "t12", "t21", "t22", "t23", "t24"]);
    check("vodka.gin", ["t5", "t6", "t8", "t21", "t22", "t23", "t24"]);
    check("vodka.martini", ["t5", "t6", "t8", "t19", "t21", "t22", "t23", "t24"]);
    check("b.b.c", ["t5", "t6", "t10", "t13", "t18", "t21", "t22", "t23", "t24", "t26"]);
    check("nothing.here.at.all", ["t5", "t6", "t21", "t22", "t23", "t24"]);
    check("oneword", ["t5", "t6", "t21", "t22", "t23", "t24", "t25"]);
    check("args-test", ["t5", "t6", "t21", "t22", "t23", "t24", "t25", "t27"]);
  });

  test("topic router routes RabbitMQ's keys after RabbitMQ's removals", () => {
    for (const n of [1, 5, 11, 19, 21, 28]) {
      const [key, q, args] = bindings[n - 1]!;
      expect(router.unbind(key, args, queue(q))).toBe(true);
    }
    expect(router.size).toBe(22);
    check("a.b.c", ["t2", "t6", "t10", "t12", "t18", "t20", "t22", "t23", "t24", "t26"]);
    check("a.b", ["t3", "t6", "t7", "t8", "t9", "t12", "t15", "t22", "t23", "t24", "t26"]);
    check("a.b.b", ["t3", "t6", "t7", "t12", "t14", "t18", "t22", "t23", "t24", "t26"]);
    check("", ["t6", "t17", "t24"]);
    check("b.c.c", ["t6", "t18", "t22", "t23", "t24", "t26"]);
    check("a.a.a.a.a", ["t6", "t12", "t22", "t23", "t24"]);
    check("vodka.gin", ["t6", "t8", "t22", "t23", "t24"]);
    check("vodka.martini", ["t6", "t8", "t22", "t23", "t24"]);
    check("b.b.c", ["t6", "t10", "t13", "t18", "t22", "t23", "t24", "t26"]);
    check("nothing.here.at.all", ["t6", "t22", "t23", "t24"]);
    check("oneword", ["t6", "t22", "t23", "t24", "t25"]);
    check("args-test", ["t6", "t22", "t23", "t24", "t25", "t27"]);
  });

  test("topic router routes nothing once every destination is removed", () => {
    for (const q of queues.values()) router.removeDestination(q);
    expect(router.size).toBe(0);
    expect(router.nodeCount).toBe(0);
    for (const key of ["a.b.c", "b.b.c", ""]) check(key, []);
  });
});

describe("topic trie", () => {
  test("topic unbind removes trie nodes no binding needs", () => {
    const router = new TopicRouter<Q>();
    const q = { name: "q" };
    router.bind("a.b.c", {}, q);
    expect(router.nodeCount).toBe(3);
    router.bind("a.b.d", {}, q);
    router.bind("a.*.#", {}, q);
    expect(router.nodeCount).toBe(6);
    router.unbind("a.b.c", {}, q);
    expect(router.nodeCount).toBe(5);
    router.unbind("a.*.#", {}, q);
    expect(router.nodeCount).toBe(3);
    router.unbind("a.b.d", {}, q);
    expect(router.nodeCount).toBe(0);
  });

  test("topic unbind keeps a node that has children or other bindings", () => {
    const router = new TopicRouter<Q>();
    const q1 = { name: "q1" };
    const q2 = { name: "q2" };
    router.bind("a", {}, q1);
    router.bind("a.b", {}, q1);
    router.bind("a", {}, q2);
    router.unbind("a", {}, q1);
    expect(router.nodeCount).toBe(2);
    expect(names(route(router, "a"))).toEqual(["q2"]);
    expect(names(route(router, "a.b"))).toEqual(["q1"]);
    router.removeDestination(q1);
    expect(router.nodeCount).toBe(1);
    router.removeDestination(q2);
    expect(router.nodeCount).toBe(0);
  });

  test("topic binding of the empty key lives at the root and adds no node", () => {
    const router = new TopicRouter<Q>();
    router.bind("", {}, { name: "q" });
    expect(router.nodeCount).toBe(0);
    expect(names(route(router, ""))).toEqual(["q"]);
    expect(names(route(router, "a"))).toEqual([]);
  });

  test("topic routing the same key again gives the same destinations after trie changes", () => {
    const router = new TopicRouter<Q>();
    const q1 = { name: "q1" };
    const q2 = { name: "q2" };
    router.bind("a.*", {}, q1);
    expect(names(route(router, "a.b"))).toEqual(["q1"]);
    expect(names(route(router, "a.b"))).toEqual(["q1"]);
    router.bind("#.b", {}, q2);
    expect(names(route(router, "a.b"))).toEqual(["q1", "q2"]);
    expect(names(route(router, "a.b.c"))).toEqual([]);
    expect(names(route(router, "a"))).toEqual([]);
    expect(names(route(router, "a.b"))).toEqual(["q1", "q2"]);
  });

  test("topic bindings of many hashes stay fast on long keys", () => {
    // Matching naively tries every way of splitting the words between the "#"s: with eight
    // of them and 120 words that is about 10^12 paths, so a naive trie would time out here.
    const router = new TopicRouter<Q>();
    router.bind("#.#.#.#.#.#.#.#.z", {}, { name: "hashes" });
    router.bind("#.a.#.a.#.a.#.a.#.b", {}, { name: "spread" });
    const key = Array.from({ length: 120 }, () => "a").join(".");
    expect(names(route(router, key))).toEqual([]);
    expect(names(route(router, `${key}.z`))).toEqual(["hashes"]);
    expect(names(route(router, `${key}.b`))).toEqual(["spread"]);
  });
});

// ------------------------------------------------------------------------------ randomized

/**
 * The reference: RabbitMQ's rule as a regular expression over the key with a "." before each
 * word ("" has no words), so a word is `\.[^.]*`, "*" one of them and "#" any number.
 */
function referenceMatch(binding: string, key: string): boolean {
  const words = binding === "" ? [] : binding.split(".");
  const source = words
    .map((w) => (w === "*" ? "\\.[^.]*" : w === "#" ? "(?:\\.[^.]*)*" : `\\.${w.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&")}`))
    .join("");
  return new RegExp(`^${source}$`).test(key === "" ? "" : `.${key}`);
}

/** mulberry32: a small seeded generator, so a failure can be replayed from its seed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function words(next: () => number, alphabet: string[], max: number): string {
  const n = Math.floor(next() * (max + 1));
  return Array.from({ length: n }, () => alphabet[Math.floor(next() * alphabet.length)]!).join(".");
}

describe("topic router against a reference matcher", () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    test(`topic router agrees with the regex reference on random keys (seed ${seed})`, () => {
      const next = random(seed);
      const router = new TopicRouter<Q>();
      const bound: [string, Q][] = [];
      const queues = Array.from({ length: 40 }, (_, i) => ({ name: `q${i}` }));
      for (let i = 0; i < 60; i++) {
        const binding = words(next, ["a", "b", "", "*", "#", "#"], 5);
        const q = queues[Math.floor(next() * queues.length)]!; // some queues bound under several keys
        if (router.bind(binding, {}, q)) bound.push([binding, q]);
      }
      const compare = () => {
        for (let i = 0; i < 300; i++) {
          const key = words(next, ["a", "b", "c", "", "*", "#"], 7);
          const expected = [...new Set(bound.filter(([b]) => referenceMatch(b, key)).map(([, q]) => q))];
          const routed = [...route(router, key)];
          expect({ seed, key, routed: routed.length }).toEqual({ seed, key, routed: expected.length });
          for (const q of expected) expect(routed).toContain(q);
        }
      };
      compare();
      // unbind half, in random order, and compare again
      for (let i = bound.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [bound[i], bound[j]] = [bound[j]!, bound[i]!];
      }
      for (const [binding, q] of bound.splice(0, bound.length >> 1)) expect(router.unbind(binding, {}, q)).toBe(true);
      compare();
      for (const [binding, q] of bound) router.unbind(binding, {}, q);
      expect(router.size).toBe(0);
      expect(router.nodeCount).toBe(0);
    });
  }
});
