// Issue 3 points 1-2: the default topology, reserved names, exchange.declare/delete.
import type { Options } from "amqplib";
import { type Ctx, M, raw, type Scenario, scenario } from "./scenario.ts";

const TYPES = ["direct", "fanout", "topic", "headers"] as const;

/** Declares `x` with `first`, then again with `second`; records the second answer. */
function inequivalent(field: string, first: [string, Options.AssertExchange], second: [string, Options.AssertExchange]): Scenario {
  return scenario(`exchange redeclare with different ${field} is refused with 406`, async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.name("x");
    await ctx.attempt("declare", ch.assertExchange(x, first[0], first[1]));
    await ctx.attempt(`redeclare with different ${field}`, ch.assertExchange(x, second[0], second[1]));
    await ctx.exchangeState("exchange after", x);
  });
}

/** Publishes mandatory to `x` with key `k` and records whether it came back unroutable. */
async function routedMandatory(ctx: Ctx, label: string, x: string, k: string): Promise<void> {
  const ch = await ctx.confirmChannel();
  const log = ctx.confirms(ch);
  ctx.publish(ch, x, k, "probe", { mandatory: true });
  await ch.waitForConfirms();
  ctx.record(label, log.summary());
}

export const exchangeScenarios: Scenario[] = [
  scenario("the default topology exists in vhost /", async (ctx) => {
    const { ch } = await ctx.open();
    for (const x of ["amq.direct", "amq.fanout", "amq.topic", "amq.headers", "amq.match"]) {
      await ctx.attempt(`passive declare ${x}`, ch.checkExchange(x));
    }
    await ctx.attempt("passive declare the default exchange", ch.checkExchange(""));
  }),
  scenario("declaring an amq. exchange is refused with 403", async (ctx) => {
    const { ch } = await ctx.open();
    await ctx.attempt("declare amq.<p>-x", ch.assertExchange(`amq.${ctx.name("x")}`, "direct"));
  }),
  scenario("redeclaring amq.direct with its own properties succeeds", async (ctx) => {
    const { ch } = await ctx.open();
    await ctx.attempt("declare amq.direct direct durable", ch.assertExchange("amq.direct", "direct", { durable: true }));
  }),
  scenario("redeclaring amq.direct with other properties", async (ctx) => {
    const { ch } = await ctx.open();
    await ctx.attempt("declare amq.direct fanout durable", ch.assertExchange("amq.direct", "fanout", { durable: true }));
  }),
  scenario("passive declare of a missing amq. exchange is 404", async (ctx) => {
    const { ch } = await ctx.open();
    await ctx.attempt("passive declare amq.<p>-x", ch.checkExchange(`amq.${ctx.name("x")}`));
  }),
  scenario("declaring the default exchange actively is refused with 403", async (ctx) => {
    const { ch } = await ctx.open();
    await ctx.attempt("declare '' direct", ch.assertExchange("", "direct", { durable: true }));
  }),
  scenario("binding a queue to the default exchange is refused with 403", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    await ctx.attempt("declare q", ch.assertQueue(q), (ok) => ok.queue);
    await ctx.attempt("bind q to ''", ch.bindQueue(q, "", q));
  }),
  scenario("unbinding a queue from the default exchange is refused with 403", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    await ctx.attempt("declare q", ch.assertQueue(q), (ok) => ok.queue);
    await ctx.attempt("unbind q from ''", ch.unbindQueue(q, "", q));
  }),
  scenario("deleting the default exchange is refused with 403", async (ctx) => {
    const { ch } = await ctx.open();
    await ctx.attempt("delete ''", ch.deleteExchange(""));
  }),
  scenario("deleting amq.direct is refused with 403", async (ctx) => {
    const { ch } = await ctx.open();
    await ctx.attempt("delete amq.direct", ch.deleteExchange("amq.direct"));
    await ctx.exchangeState("amq.direct after", "amq.direct");
  }),
  ...TYPES.map((type) =>
    scenario(`declare a ${type} exchange, passively and again`, async (ctx) => {
      const { ch } = await ctx.open();
      const x = ctx.name("x");
      await ctx.attempt("declare", ch.assertExchange(x, type), (ok) => ok.exchange);
      await ctx.attempt("passive declare", ch.checkExchange(x));
      await ctx.attempt("redeclare identical", ch.assertExchange(x, type));
    })
  ),
  scenario("declaring an exchange of unknown type is 503", async (ctx) => {
    const { conn, ch } = await ctx.open();
    await ctx.attempt("declare type x-nonsense", ch.assertExchange(ctx.name("x"), "x-nonsense"));
    ctx.record("connection", await ctx.connectionClosed(conn));
  }),
  scenario("passive declare of a missing exchange is 404 and closes the channel", async (ctx) => {
    const { conn, ch } = await ctx.open();
    await ctx.attempt("passive declare", ch.checkExchange(ctx.name("missing")));
    ctx.record("channel", await ctx.channelClosed(ch));
    await ctx.probe("new channel on the same connection", await ctx.channel(conn));
  }),
  inequivalent("durable", ["direct", { durable: false }], ["direct", { durable: true }]),
  inequivalent("type", ["direct", {}], ["fanout", {}]),
  inequivalent("auto-delete", ["topic", { autoDelete: false }], ["topic", { autoDelete: true }]),
  inequivalent("internal", ["fanout", { internal: false }], ["fanout", { internal: true }]),
  inequivalent("alternate-exchange", ["direct", { alternateExchange: "amq.fanout" }], ["direct", {}]),
  scenario("exchange redeclare with a different unknown argument is accepted", async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.name("x");
    await ctx.attempt("declare", ch.assertExchange(x, "direct", { arguments: { "x-foo": 1 } }));
    await ctx.attempt("redeclare x-foo 2", ch.assertExchange(x, "direct", { arguments: { "x-foo": 2 } }));
  }),
  scenario("passive declare ignores type and flags", async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.name("x");
    await ctx.attempt("declare fanout durable", ch.assertExchange(x, "fanout", { durable: true }));
    await ctx.attempt(
      "passive declare as direct non-durable",
      raw(ch).rpc(M.ExchangeDeclare, { exchange: x, type: "direct", passive: true, durable: false }, M.ExchangeDeclareOk),
    );
  }),
  scenario("exchange.declare no-wait creates the exchange", async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.name("x");
    raw(ch).sendImmediately(M.ExchangeDeclare, { exchange: x, type: "topic", nowait: true });
    await ctx.attempt("passive declare", ch.checkExchange(x));
  }),
  scenario("exchange.declare no-wait with an error closes the channel", async (ctx) => {
    const { ch } = await ctx.open();
    raw(ch).sendImmediately(M.ExchangeDeclare, { exchange: `amq.${ctx.name("x")}`, type: "topic", nowait: true });
    ctx.record("channel", await ctx.channelClosed(ch));
  }),
  scenario("delete if-unused of an exchange with a binding is 406", async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.name("x");
    const q = ctx.name("q");
    await ctx.attempt("declare x", ch.assertExchange(x, "direct"));
    await ctx.attempt("declare q", ch.assertQueue(q), (ok) => ok.queue);
    await ctx.attempt("bind", ch.bindQueue(q, x, "k"));
    await ctx.attempt("delete if-unused", ch.deleteExchange(x, { ifUnused: true }));
    await ctx.exchangeState("exchange after", x);
  }),
  scenario("delete if-unused of an unbound exchange deletes it", async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.name("x");
    await ctx.attempt("declare x", ch.assertExchange(x, "fanout"));
    await ctx.attempt("delete if-unused", ch.deleteExchange(x, { ifUnused: true }));
    await ctx.exchangeState("exchange after", x);
  }),
  scenario("delete if-unused ignores bindings where the exchange is the destination", async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.name("x");
    await ctx.attempt("declare x", ch.assertExchange(x, "fanout"));
    await ctx.attempt("bind x to amq.fanout", ch.bindExchange(x, "amq.fanout", ""));
    await ctx.attempt("delete if-unused", ch.deleteExchange(x, { ifUnused: true }));
    await ctx.exchangeState("exchange after", x);
  }),
  scenario("deleting a missing exchange succeeds", async (ctx) => {
    const { ch } = await ctx.open();
    await ctx.attempt("delete missing", ch.deleteExchange(ctx.name("missing")));
    await ctx.probe("channel after", ch);
  }),
  scenario("deleting an exchange removes its bindings", async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.name("x");
    const q = ctx.name("q");
    await ctx.attempt("declare x", ch.assertExchange(x, "direct"));
    await ctx.attempt("declare q", ch.assertQueue(q), (ok) => ok.queue);
    await ctx.attempt("bind", ch.bindQueue(q, x, "k"));
    await ctx.attempt("delete x", ch.deleteExchange(x));
    await ctx.attempt("redeclare x", ch.assertExchange(x, "direct"));
    await routedMandatory(ctx, "publish mandatory to k", x, "k");
  }),
  scenario("publishing to an internal exchange is refused with 403", async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.name("x");
    await ctx.attempt("declare internal", ch.assertExchange(x, "fanout", { internal: true }));
    ctx.publish(ch, x, "", "m");
    ctx.record("channel", await ctx.channelClosed(ch));
  }),
  scenario("an internal exchange receives messages through an exchange binding", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const [x, inner, q] = [ctx.name("x"), ctx.name("inner"), ctx.name("q")];
    await ctx.attempt("declare x", ch.assertExchange(x, "fanout"));
    await ctx.attempt("declare inner internal", ch.assertExchange(inner, "direct", { internal: true }));
    await ctx.attempt("declare q", ch.assertQueue(q), (ok) => ok.queue);
    await ctx.attempt("bind inner to x", ch.bindExchange(inner, x, ""));
    await ctx.attempt("bind q to inner with k", ch.bindQueue(q, inner, "k"));
    ctx.publishAll(ch, x, "k", ["one"]);
    ctx.publishAll(ch, x, "other", ["two"]);
    ctx.publishAll(ch, x, "k", ["three"]);
    await ctx.waitCount(conn, q, 2);
    ctx.record("q", (await ctx.drain(ch, q)).map((m) => m.body));
  }),
  scenario("an auto-delete exchange exists until its last binding goes", async (ctx) => {
    const { ch } = await ctx.open();
    const [x, q1, q2] = [ctx.name("x"), ctx.name("q1"), ctx.name("q2")];
    await ctx.attempt("declare auto-delete", ch.assertExchange(x, "direct", { autoDelete: true }));
    await ctx.exchangeState("before any binding", x);
    await ctx.attempt("declare q1", ch.assertQueue(q1), (ok) => ok.queue);
    await ctx.attempt("declare q2", ch.assertQueue(q2), (ok) => ok.queue);
    await ctx.attempt("bind q1", ch.bindQueue(q1, x, "a"));
    await ctx.attempt("bind q2", ch.bindQueue(q2, x, "b"));
    await ctx.attempt("unbind q1", ch.unbindQueue(q1, x, "a"));
    await ctx.exchangeState("after first unbind", x);
    await ctx.attempt("unbind q2", ch.unbindQueue(q2, x, "b"));
    await ctx.exchangeState("after last unbind", x);
  }),
  scenario("an auto-delete exchange goes when its only bound queue is deleted", async (ctx) => {
    const { ch } = await ctx.open();
    const [x, q] = [ctx.name("x"), ctx.name("q")];
    await ctx.attempt("declare auto-delete", ch.assertExchange(x, "fanout", { autoDelete: true }));
    await ctx.attempt("declare q", ch.assertQueue(q), (ok) => ok.queue);
    await ctx.attempt("bind", ch.bindQueue(q, x, ""));
    await ctx.attempt("delete q", ch.deleteQueue(q), (ok) => ok.messageCount);
    await ctx.exchangeState("exchange after", x);
  }),
  scenario("an auto-delete exchange goes when its exchange binding is removed", async (ctx) => {
    const { ch } = await ctx.open();
    const [x, dest] = [ctx.name("x"), ctx.name("dest")];
    await ctx.attempt("declare auto-delete source", ch.assertExchange(x, "fanout", { autoDelete: true }));
    await ctx.attempt("declare destination", ch.assertExchange(dest, "fanout"));
    await ctx.attempt("bind dest to x", ch.bindExchange(dest, x, ""));
    await ctx.attempt("unbind dest from x", ch.unbindExchange(dest, x, ""));
    await ctx.exchangeState("source after", x);
    await ctx.exchangeState("destination after", dest);
  }),
  scenario("exchange.bind and unbind with a missing source or destination", async (ctx) => {
    const conn = await ctx.connect();
    const x = ctx.name("x");
    const ch = await ctx.channel(conn);
    await ch.assertExchange(x, "fanout");
    const missing = ctx.name("missing");
    await ctx.attempt("bind x to a missing source", (await ctx.channel(conn)).bindExchange(x, missing, ""));
    await ctx.attempt("bind a missing destination to x", (await ctx.channel(conn)).bindExchange(missing, x, ""));
    await ctx.attempt("unbind x from a missing source", (await ctx.channel(conn)).unbindExchange(x, missing, ""));
    await ctx.attempt("unbind a missing destination from x", (await ctx.channel(conn)).unbindExchange(missing, x, ""));
    await ctx.attempt("bind the default exchange as destination", (await ctx.channel(conn)).bindExchange("", x, ""));
    await ctx.attempt("bind x to the default exchange", (await ctx.channel(conn)).bindExchange(x, "", ""));
  }),
  scenario("deleting a destination exchange removes its exchange bindings", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const [src, dest] = [ctx.name("src"), ctx.name("dest")];
    await ch.assertExchange(src, "fanout");
    await ch.assertExchange(dest, "fanout");
    await ch.bindExchange(dest, src, "");
    await ctx.attempt("delete src if-unused", (await ctx.channel(conn)).deleteExchange(src, { ifUnused: true }));
    await ctx.attempt("delete dest", ch.deleteExchange(dest));
    await ctx.attempt("delete src if-unused after", ch.deleteExchange(src, { ifUnused: true }));
  }),
];
