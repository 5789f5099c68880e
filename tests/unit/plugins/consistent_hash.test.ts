// x-consistent-hash: Erlang hashing and jump hash against values computed by Erlang/OTP 25
// (erlang:phash2/1, rand exs1024 as RabbitMQ 3.10 uses them), validation texts, the router
// (conformance suite, weights, stability, moved keys).
import { describe, expect, test } from "bun:test";
import { AmqpError } from "../../../src/amqp/errors.ts";
import { AmqpDecimal, FIELD_TYPES, type FieldTable } from "../../../src/amqp/table.ts";
import { consistentHashExchangeType, ConsistentHashRouter, HashOn, plugin } from "../../../plugins/consistent_hash/mod.ts";
import { formatBinary } from "../../../plugins/consistent_hash/erlang_format.ts";
import { jumpConsistentHash } from "../../../plugins/consistent_hash/jump.ts";
import { phash2Decimal, phash2Header, phash2Text, phash2Undefined } from "../../../plugins/consistent_hash/phash2.ts";
import { routable, runRouterConformance } from "../routing/conformance.ts";

interface Q {
  name: string;
}

describe("Erlang hashing", () => {
  test("phash2 of binaries and jump_consistent_hash match Erlang/OTP 25", () => {
    // {phash2(Key), jump(Key, 7), jump(Key, 1000)} from erl.
    const cases: [string, number, number, number][] = [
      ["", 13708901, 6, 161],
      ["a", 112802447, 6, 47],
      ["key-1", 5452885, 1, 935],
      ["order.12345", 122160328, 5, 418],
      ["héllo", 65360587, 5, 707],
      ["0123456789abcdef0123456789", 41478414, 4, 23],
    ];
    for (const [key, hash, j7, j1000] of cases) {
      expect(phash2Text(key)).toBe(hash);
      expect(jumpConsistentHash(hash, 7)).toBe(j7);
      expect(jumpConsistentHash(hash, 1000)).toBe(j1000);
    }
    const jumps: number[] = [];
    for (const k of [0, 1, 5, 12345, 98228475, 134217727]) for (const n of [2, 3, 10, 100, 1000]) jumps.push(jumpConsistentHash(k, n));
    expect(jumps.join(",")).toBe("0,0,4,47,807,0,2,3,29,856,0,2,4,65,125,0,0,0,61,485,1,1,5,88,543,0,2,6,74,220");
    expect(jumpConsistentHash(12345, 1)).toBe(0);
  });

  test("phash2 of undefined, decimal text and header {Type, Value} tuples match Erlang", () => {
    expect(phash2Undefined()).toBe(45914356);
    expect([0, 1700000000].map(phash2Decimal)).toEqual([107350362, 71065017]);
    const byte: FieldTable = { h: 200 };
    (byte as { [FIELD_TYPES]?: Record<string, string> })[FIELD_TYPES] = { h: "B" };
    const signedByte: FieldTable = { h: -3 };
    (signedByte as { [FIELD_TYPES]?: Record<string, string> })[FIELD_TYPES] = { h: "b" };
    const values: [FieldTable | undefined, number][] = [
      [{ h: "v" }, 83007481],
      [{ h: -5 }, 39932925],
      [{ h: 2 ** 40 }, 93748608],
      [{ h: true }, 32030443],
      [{ h: null }, 27077197],
      [{ h: -2.5 }, 29892421],
      [{ h: new Date(1700000000 * 1000) }, 59280699],
      [{ h: new Uint8Array([1, 2]) }, 115591744],
      [{ h: new AmqpDecimal(2, -1) }, 66114998],
      [{ h: ["b", true, null, new AmqpDecimal(2, 12345)] }, 131003965],
      [{ h: { a: "b", n: -3 } }, 14779411],
      [byte, 88973546],
      [signedByte, 57291036],
      [{ other: "x" }, 45914356],
      [undefined, 45914356],
    ];
    for (const [headers, hash] of values) expect(phash2Header(headers, "h")).toBe(hash);
  });

  test("~p of a binary: printable Latin-1 quoted and escaped, else bytes wrapped at 80 columns", () => {
    const p = (bytes: number[] | string, column = 36) =>
      new TextDecoder().decode(formatBinary(typeof bytes === "string" ? new TextEncoder().encode(bytes) : Uint8Array.from(bytes), column));
    expect(p("abc")).toBe('<<"abc">>');
    expect(p("")).toBe("<<>>");
    expect(p('a"b\\c\nd\te')).toBe('<<"a\\"b\\\\c\\nd\\te">>');
    expect(p("é")).toBe('<<"é">>');
    expect(p("ą")).toBe("<<196,133>>");
    expect(p([97, 0, 98])).toBe("<<97,0,98>>");
    expect(p([97, 127, 98])).toBe("<<97,127,98>>");
    const indent = " ".repeat(38);
    expect(p(Array.from({ length: 60 }, (_, i) => i + 1))).toBe(
      "<<1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,\n" +
        `${indent}17,18,19,20,21,22,23,24,25,26,27,28,29,\n` +
        `${indent}30,31,32,33,34,35,36,37,38,39,40,41,42,\n` +
        `${indent}43,44,45,46,47,48,49,50,51,52,53,54,55,\n` +
        `${indent}56,57,58,59,60>>`,
    );
    expect(p([...Array(60).fill(200), 1])).toBe(
      Array.from({ length: 6 }, () => Array(10).fill("200").join(",")).join(`,\n${indent}`).replace(/^/, "<<") + ",1>>",
    );
  });
});

describe("x-consistent-hash validation", () => {
  const fails = (f: () => void) => {
    try {
      f();
    } catch (err) {
      expect(err).toBeInstanceOf(AmqpError);
      return `${(err as AmqpError).code} ${(err as AmqpError).replyText}`;
    }
    return "ok";
  };
  const { validate, validateBinding } = consistentHashExchangeType;

  test("declare arguments", () => {
    expect(fails(() => validate!({}))).toBe("ok");
    expect(fails(() => validate!({ "hash-header": "" }))).toBe("ok");
    for (const property of ["message_id", "correlation_id", "timestamp"]) {
      expect(fails(() => validate!({ "hash-property": property }))).toBe("ok");
    }
    expect(fails(() => validate!({ "hash-header": "h", "hash-property": "nope" }))).toBe(
      "406 PRECONDITION_FAILED - hash-header and hash-property are mutually exclusive",
    );
    expect(fails(() => validate!({ "hash-property": "nope" }))).toBe("406 PRECONDITION_FAILED - Unsupported property: nope");
    expect(fails(() => validate!({ "hash-property": "" }))).toBe("406 PRECONDITION_FAILED - Unsupported property: ");
    expect(fails(() => validate!({ "hash-header": 5 }))).toStartWith("406 PRECONDITION_FAILED - Invalid hash-header argument");
  });

  test("binding keys", () => {
    for (const key of ["1", "+1", "01", "99999999999999999999", "1000"]) expect(fails(() => validateBinding!(key, {}))).toBe("ok");
    for (const key of ["0", "-1", "-0", "+0", "000"]) {
      expect(fails(() => validateBinding!(key, {}))).toBe("406 PRECONDITION_FAILED - The binding key must be greater than 0");
    }
    const notInteger: [string, string][] = [
      ["abc", '<<"abc">>'],
      ["", "<<>>"],
      ["1.5", '<<"1.5">>'],
      [" 1", '<<" 1">>'],
      ["1e3", '<<"1e3">>'],
      ["1_000", '<<"1_000">>'],
      ["+", '<<"+">>'],
      ["a\u0000b", "<<97,0,98>>"],
      ["é", '<<"é">>'],
    ];
    for (const [key, printed] of notInteger) {
      expect(fails(() => validateBinding!(key, {}))).toBe(`406 PRECONDITION_FAILED - The binding key must be an integer: ${printed}`);
    }
  });

  test("the plugin provides the type under RabbitMQ's plugin name", () => {
    expect(plugin.name).toBe("rabbitmq_consistent_hash_exchange");
    expect(plugin.exchangeTypes).toEqual([consistentHashExchangeType]);
    expect(consistentHashExchangeType.name).toBe("x-consistent-hash");
  });
});

runRouterConformance("x-consistent-hash", () => consistentHashExchangeType.createRouter<Q>({}), {
  bindKey: "1",
  bindArgs: {},
  routingKey: "some.key",
  picksOne: true,
  unbindDropsDestination: true,
});

describe("x-consistent-hash routing", () => {
  const queues = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `q${i}` }));
  const keys = Array.from({ length: 20_000 }, (_, i) => `key-${i}`);
  const spread = (router: ConsistentHashRouter<Q>) => {
    const out = new Set<Q>();
    return keys.map((key) => {
      out.clear();
      router.route(key, routable(key), out);
      expect(out.size).toBe(1);
      return [...out][0]!;
    });
  };
  const counts = (picked: Q[]) => {
    const c = new Map<string, number>();
    for (const q of picked) c.set(q.name, (c.get(q.name) ?? 0) + 1);
    return c;
  };

  test("distribution is proportional to the weights", () => {
    const router = new ConsistentHashRouter<Q>(HashOn.RoutingKey);
    const qs = queues(4);
    const weights = [1, 2, 3, 4];
    qs.forEach((q, i) => router.bind(String(weights[i]), {}, q));
    expect(router.buckets).toBe(10);
    const c = counts(spread(router));
    qs.forEach((q, i) => {
      const share = c.get(q.name)! / keys.length;
      expect(Math.abs(share - weights[i]! / 10)).toBeLessThan(0.02);
    });
  });

  test("the same bindings in the same order give the same mapping", () => {
    const make = () => {
      const router = new ConsistentHashRouter<Q>(HashOn.RoutingKey);
      queues(5).forEach((q, i) => router.bind(String(i + 1), {}, q));
      return spread(router).map((q) => q.name);
    };
    expect(make()).toEqual(make());
  });

  test("adding a queue moves only its share of keys, all to it; removing it moves them back", () => {
    const router = new ConsistentHashRouter<Q>(HashOn.RoutingKey);
    const qs = queues(5);
    for (const q of qs.slice(0, 4)) router.bind("10", {}, q);
    const before = spread(router).map((q) => q.name);
    router.bind("10", {}, qs[4]!);
    const after = spread(router).map((q) => q.name);
    let moved = 0;
    after.forEach((name, i) => {
      if (name !== before[i]) {
        moved++;
        expect(name).toBe("q4");
      }
    });
    expect(Math.abs(moved / keys.length - 1 / 5)).toBeLessThan(0.02);
    router.unbind("10", {}, qs[4]!);
    expect(spread(router).map((q) => q.name)).toEqual(before);
  });

  test("a second binding to a queue adds no buckets; unbinding either takes the queue out (as RabbitMQ)", () => {
    const router = new ConsistentHashRouter<Q>(HashOn.RoutingKey);
    const [a, b] = queues(2) as [Q, Q];
    router.bind("1", {}, a);
    router.bind("5", {}, a);
    router.bind("1", {}, b);
    expect(router.buckets).toBe(2);
    expect(router.ringState().map((e) => [e.destination.name, e.weight])).toEqual([["q0", 1], ["q1", 1]]);
    router.unbind("5", {}, a);
    expect(router.size).toBe(2);
    expect(router.ringState().map((e) => e.destination.name)).toEqual(["q1"]);
    expect(new Set(spread(router).map((q) => q.name))).toEqual(new Set(["q1"]));
  });

  test("hashing on a header or property; a missing value always picks the same queue", () => {
    for (
      const [hashOn, message] of [
        [HashOn.Header, (v: string) => ({ routingKey: "rk", headerTable: () => ({ h: v }), props: { headers: { h: v } } })],
        [HashOn.MessageId, (v: string) => ({ routingKey: "rk", headerTable: () => undefined, props: { messageId: v } })],
        [HashOn.CorrelationId, (v: string) => ({ routingKey: "rk", headerTable: () => undefined, props: { correlationId: v } })],
      ] as const
    ) {
      const router = new ConsistentHashRouter<Q>(hashOn, "h");
      queues(4).forEach((q) => router.bind("1", {}, q));
      const picked = new Set<string>();
      for (let i = 0; i < 200; i++) {
        const out = new Set<Q>();
        router.route("rk", message(`v${i}`), out);
        picked.add([...out][0]!.name);
      }
      expect(picked.size).toBe(4);
      const missing = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const out = new Set<Q>();
        router.route(`rk${i}`, { routingKey: `rk${i}`, headerTable: () => undefined, props: {} }, out);
        missing.add([...out][0]!.name);
      }
      expect(missing.size).toBe(1);
    }
  });

  test("CC keys do not change the pick: RabbitMQ hashes the message's own routing key", () => {
    const router = new ConsistentHashRouter<Q>(HashOn.RoutingKey);
    queues(8).forEach((q) => router.bind("1", {}, q));
    const message = routable("own");
    const a = new Set<Q>();
    const b = new Set<Q>();
    router.route("own", message, a);
    router.route("cc-key", message, b);
    expect([...b]).toEqual([...a]);
  });
});
