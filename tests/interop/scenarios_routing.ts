// Issue 3 point 4: routing by direct, fanout, topic and headers exchanges, exchange-to-exchange
// bindings, and one message routed to several queues.
import { type Ctx, type Scenario, scenario } from "./scenario.ts";

type Headers = Record<string, unknown>;
interface Binding {
  queue: string;
  key?: string;
  args?: Headers;
}
interface Publish {
  key?: string;
  headers?: Headers;
  label?: string;
}

/**
 * Declares an exchange of `type`, a queue per distinct binding queue, the bindings, publishes
 * each message (body = its label) with confirms as the barrier, then records per queue which
 * messages it holds, in order.
 */
async function matrix(ctx: Ctx, type: string, bindings: Binding[], publishes: Publish[], exchange?: string): Promise<void> {
  const conn = await ctx.connect();
  const ch = await ctx.confirmChannel(conn);
  const x = exchange ?? ctx.name("x");
  if (!exchange) await ctx.attempt(`declare ${type}`, ch.assertExchange(x, type));
  const queues = [...new Set(bindings.map((b) => b.queue))];
  for (const q of queues) await ch.assertQueue(ctx.name(q));
  for (const b of bindings) {
    await ctx.attempt(
      `bind ${b.queue} ${JSON.stringify(b.key ?? "")}${b.args ? ` ${JSON.stringify(b.args)}` : ""}`,
      ch.bindQueue(ctx.name(b.queue), x, b.key ?? "", b.args ?? {}),
    );
  }
  const log = ctx.confirms(ch);
  for (const p of publishes) {
    const label = p.label ?? JSON.stringify(p.key ?? "");
    ctx.publish(ch, x, p.key ?? "", label, p.headers ? { headers: p.headers, mandatory: true } : { mandatory: true });
  }
  await ch.waitForConfirms();
  ctx.record("returned", log.returns);
  for (const q of queues) ctx.record(q, (await ctx.drain(ch, ctx.name(q))).map((m) => m.body));
}

/** A topic exchange with one queue per pattern; records which keys each pattern matched. */
function topic(name: string, patterns: string[], keys: string[]): Scenario {
  return scenario(
    `topic: ${name}`,
    (ctx) => matrix(ctx, "topic", patterns.map((key, i) => ({ queue: `p${i}`, key })), keys.map((key) => ({ key }))),
  );
}

/** A headers exchange with one queue per binding; records which messages each matched. */
function headers(name: string, bindings: Headers[], messages: [string, Headers | undefined][]): Scenario {
  return scenario(
    `headers: ${name}`,
    (ctx) =>
      matrix(
        ctx,
        "headers",
        bindings.map((args, i) => ({ queue: `b${i}`, args })),
        messages.map(([label, h]) => (h ? { label, headers: h } : { label })),
      ),
  );
}

const int = (value: number) => ({ "!": "int", value });

export const routingScenarios: Scenario[] = [
  scenario(
    "direct: exact routing key match, case-sensitive",
    (ctx) =>
      matrix(
        ctx,
        "direct",
        [{ queue: "q1", key: "k1" }, { queue: "q2", key: "k2" }, { queue: "q3", key: "k1" }, { queue: "q4", key: "" }],
        [{ key: "k1" }, { key: "k2" }, { key: "K1" }, { key: "k3" }, { key: "" }, { key: "k1.x" }],
      ),
  ),
  scenario(
    "direct: a queue bound with two keys gets each matching message once",
    (ctx) => matrix(ctx, "direct", [{ queue: "q", key: "a" }, { queue: "q", key: "b" }], [{ key: "a" }, { key: "b" }, { key: "c" }]),
  ),
  scenario(
    "direct: amq.direct routes by key",
    (ctx) =>
      matrix(ctx, "direct", [{ queue: "q", key: ctx.name("k") }], [{ key: ctx.name("k"), label: "match" }, { key: "other" }], "amq.direct"),
  ),
  scenario("default exchange routes by queue name only", async (ctx) => {
    const { conn } = await ctx.open();
    const ch = await ctx.confirmChannel(conn);
    const q = ctx.name("Queue");
    await ch.assertQueue(q);
    const log = ctx.confirms(ch);
    ctx.publish(ch, "", q, "by name", { mandatory: true });
    ctx.publish(ch, "", ctx.name("queue"), "other case", { mandatory: true });
    ctx.publish(ch, "", "", "empty key", { mandatory: true });
    ctx.publish(ch, "", ctx.name("missing"), "missing queue", { mandatory: true });
    await ch.waitForConfirms();
    ctx.record("confirms", log.summary());
    ctx.record("q", (await ctx.drain(ch, q)).map((m) => m.body));
  }),
  scenario(
    "fanout: every bound queue gets every message whatever the key",
    (ctx) =>
      matrix(ctx, "fanout", [{ queue: "q1", key: "" }, { queue: "q2", key: "a" }, { queue: "q3", key: "b" }, { queue: "q3", key: "c" }], [
        { key: "" },
        { key: "a" },
        { key: "x.y" },
      ]),
  ),
  topic("* matches exactly one word", ["a.*", "*.b", "*", "*.*", "a.*.c"], [
    "a",
    "a.b",
    "a.b.c",
    "b",
    "",
    "a.",
    ".b",
    "x.b",
    "a.x.c",
    "a..c",
  ]),
  topic("# matches zero or more words", ["a.#", "#.b", "a.#.b", "#.#", "x.#.#"], [
    "a",
    "a.b",
    "a.x.b",
    "a.x.y.b",
    "b",
    "",
    "ab",
    "x.a.b",
    "x",
    "x.y",
  ]),
  topic("a binding of just # matches every key including the empty one", ["#"], ["", "a", "a.b.c", ".", "#", "*"]),
  topic("empty words between dots", ["a..b", "a.*.b", ".", "*.*", "#.", ".#", "*"], ["a..b", "a.b", "a.x.b", ".", "", "a.", ".a", ".."]),
  topic("* and # combined", ["*.#", "#.*", "*.*.#", "#.a.#", "*.a.*"], ["", "a", "b", "a.b", "b.a", "b.a.c", "x.y.z", "a.a"]),
  topic("long keys with many words", ["#.z", "a.#.z", "*.*.*.*.*.*.*.*.*.*", "#.m.#.z", "a.*.#.*.z"], [
    "a.b.c.d.e.f.g.h.i.z",
    "a.b.c.d.e.f.g.h.i.j.z",
    Array.from({ length: 60 }, (_, i) => (i === 30 ? "m" : "w")).join(".") + ".z",
    "a.z",
    "a.b.z",
    "z",
  ]),
  topic("literal words and case", ["A.b", "a.b", "stock.usd.nyse"], [
    "a.b",
    "A.b",
    "A.B",
    "stock.usd.nyse",
    "stock.usd",
    "stock.usd.nyse.x",
  ]),
  scenario(
    "topic: overlapping bindings to one queue deliver once",
    (ctx) =>
      matrix(ctx, "topic", [{ queue: "q", key: "a.*" }, { queue: "q", key: "#" }, { queue: "q", key: "a.b" }, { queue: "q", key: "*.b" }], [
        { key: "a.b" },
        { key: "c" },
      ]),
  ),
  scenario("topic: unbinding one pattern keeps the others", async (ctx) => {
    const { ch } = await ctx.open();
    const [x, q] = [ctx.name("x"), ctx.name("q")];
    await ch.assertExchange(x, "topic");
    await ch.assertQueue(q);
    for (const k of ["a.#", "#.b", "a.b"]) await ch.bindQueue(q, x, k);
    await ctx.attempt("unbind a.#", ch.unbindQueue(q, x, "a.#"));
    await matrix(ctx, "topic", [], [{ key: "a.b" }, { key: "a.c" }, { key: "c.b" }], x);
    ctx.record("q", (await ctx.drain(ch, q)).map((m) => m.body));
  }),
  headers("x-match all", [{ "x-match": "all", a: 1, b: "x" }], [
    ["a and b", { a: 1, b: "x" }],
    ["a only", { a: 1 }],
    ["a, b and c", { a: 1, b: "x", c: 3 }],
    ["b differs", { a: 1, b: "y" }],
    ["none", {}],
    ["no headers", undefined],
  ]),
  headers("x-match any", [{ "x-match": "any", a: 1, b: "x" }], [
    ["a and b", { a: 1, b: "x" }],
    ["a only", { a: 1 }],
    ["b only", { b: "x" }],
    ["c only", { c: 3 }],
    ["a differs, b same", { a: 2, b: "x" }],
    ["none", {}],
    ["no headers", undefined],
  ]),
  headers("no x-match means all", [{ a: 1, b: 2 }], [["both", { a: 1, b: 2 }], ["one", { a: 1 }]]),
  headers("x- keys are ignored by all and any", [{ "x-match": "any", "x-tag": "t" }, { "x-match": "all", "x-tag": "t" }, {
    "x-match": "all",
    "x-tag": "t",
    a: 1,
  }], [["x-tag t", { "x-tag": "t" }], ["x-tag u", { "x-tag": "u" }], ["a 1", { a: 1 }], ["nothing", {}]]),
  headers("all-with-x and any-with-x compare x- keys", [{ "x-match": "any-with-x", "x-tag": "t" }, {
    "x-match": "all-with-x",
    "x-tag": "t",
    a: 1,
  }], [["x-tag t", { "x-tag": "t" }], ["x-tag t and a", { "x-tag": "t", a: 1 }], ["a only", { a: 1 }], ["x-tag u", { "x-tag": "u" }]]),
  headers("a void binding value matches presence", [{ "x-match": "all", a: null }, { "x-match": "any", a: null, b: 1 }], [
    ["a string", { a: "s" }],
    ["a int", { a: 5 }],
    ["a void", { a: null }],
    ["b 1", { b: 1 }],
    ["nothing", {}],
  ]),
  headers("value types: integers of any width are equal, strings are not numbers", [{ a: int(1) }, { a: "1" }, { a: true }, { a: 1.5 }], [
    ["byte 1", { a: 1 }],
    ["int 1", { a: int(1) }],
    ["string 1", { a: "1" }],
    ["bool true", { a: true }],
    ["double 1.5", { a: 1.5 }],
    ["int 2", { a: int(2) }],
  ]),
  headers("tables and arrays compare by value", [{ a: { x: 1, y: "s" } }, { a: [1, "two"] }], [
    ["same table", { a: { x: 1, y: "s" } }],
    ["table with other value", { a: { x: 2, y: "s" } }],
    ["same array", { a: [1, "two"] }],
    ["array in other order", { a: ["two", 1] }],
  ]),
  headers("empty bindings: all matches everything, any matches nothing", [{ "x-match": "all" }, { "x-match": "any" }, {}], [[
    "some header",
    { a: 1 },
  ], ["no headers", undefined]]),
  scenario(
    "headers: amq.match is a headers exchange",
    (ctx) =>
      matrix(ctx, "headers", [{ queue: "q", args: { "x-match": "all", [ctx.name("h")]: "v" } }], [{
        label: "match",
        headers: { [ctx.name("h")]: "v" },
      }, { label: "no match", headers: { [ctx.name("h")]: "w" } }], "amq.match"),
  ),
  scenario("headers: an invalid x-match is refused", async (ctx) => {
    const { ch } = await ctx.open();
    const [x, q] = [ctx.name("x"), ctx.name("q")];
    await ch.assertExchange(x, "headers");
    await ch.assertQueue(q);
    await ctx.attempt("bind with x-match some", ch.bindQueue(q, x, "", { "x-match": "some", a: 1 }));
  }),
  scenario("one message routed to several queues reaches each once", async (ctx) => {
    const { conn } = await ctx.open();
    const ch = await ctx.confirmChannel(conn);
    const x = ctx.name("x");
    await ch.assertExchange(x, "direct");
    const qs = ["q1", "q2", "q3"].map((q) => ctx.name(q));
    for (const q of qs) await ch.bindQueue((await ch.assertQueue(q)).queue, x, "k");
    const log = ctx.confirms(ch);
    ctx.publish(ch, x, "k", "shared", { mandatory: true });
    await ch.waitForConfirms();
    ctx.record("confirms", log.events);
    const getter = await ctx.channel(conn);
    const first = await getter.get(qs[0] ?? "");
    if (first) getter.nack(first, false, true);
    await ctx.waitCount(conn, qs[0] ?? "", 1);
    for (const q of qs) ctx.record(q, await ctx.drain(ch, q));
  }),
  scenario("exchange-to-exchange: topic source into fanout destination", async (ctx) => {
    const { ch } = await ctx.open();
    const [src, dest] = [ctx.name("src"), ctx.name("dest")];
    await ch.assertExchange(src, "topic");
    await ch.assertExchange(dest, "fanout");
    await ctx.attempt("bind dest to src with a.*", ch.bindExchange(dest, src, "a.*"));
    await ch.assertQueue(ctx.name("direct-q"));
    await ch.bindQueue(ctx.name("direct-q"), src, "#");
    await matrix(ctx, "fanout", [{ queue: "dq1" }, { queue: "dq2" }], [], dest);
    await matrix(ctx, "topic", [], [{ key: "a.b" }, { key: "b.c" }], src);
    for (const q of ["dq1", "dq2", "direct-q"]) ctx.record(q, (await ctx.drain(ch, ctx.name(q))).map((m) => m.body));
  }),
  scenario("exchange-to-exchange: a binding cycle delivers once per queue", async (ctx) => {
    const { ch } = await ctx.open();
    const [x1, x2] = [ctx.name("x1"), ctx.name("x2")];
    await ch.assertExchange(x1, "fanout");
    await ch.assertExchange(x2, "fanout");
    await ctx.attempt("bind x2 to x1", ch.bindExchange(x2, x1, ""));
    await ctx.attempt("bind x1 to x2", ch.bindExchange(x1, x2, ""));
    await matrix(ctx, "fanout", [{ queue: "q2" }], [], x2);
    await matrix(ctx, "fanout", [{ queue: "q1" }], [{ key: "", label: "loop" }], x1);
    ctx.record("q2", (await ctx.drain(ch, ctx.name("q2"))).map((m) => m.body));
  }),
];
