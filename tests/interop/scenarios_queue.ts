// Issue 3 point 3: queue.declare/bind/unbind/purge/delete, exclusive and auto-delete queues,
// counts, and the channel's last declared queue standing in for an empty queue name.
import type { Channel, Options } from "amqplib";
import { type Ctx, M, raw, type Scenario, scenario } from "./scenario.ts";

const counts = (ok: { messageCount: number; consumerCount: number }) => [ok.messageCount, ok.consumerCount];

/** Declares `q` with `first`, then again with `second`; records the second answer. */
function inequivalent(field: string, first: Options.AssertQueue, second: Options.AssertQueue): Scenario {
  return scenario(`queue redeclare with different ${field}`, async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    await ctx.attempt("declare", ch.assertQueue(q, first), counts);
    await ctx.attempt(`redeclare with different ${field}`, ch.assertQueue(q, second), counts);
    await ctx.queueState("queue after", q);
  });
}

/** Declares an exclusive queue on one connection and touches it from another. */
function lockedFromOtherConnection(op: string, act: (ch: Channel, q: string) => Promise<unknown>): Scenario {
  return scenario(`exclusive queue: ${op} from another connection`, async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.name("q");
    await ctx.attempt("declare exclusive", ch.assertQueue(q, { exclusive: true }), counts);
    ctx.publish(ch, "", q, "m");
    await ctx.waitCount(conn, q, 1);
    const other = await ctx.channel();
    await ctx.attempt(op, act(other, q));
    await ctx.attempt("owner connection still sees", (await ctx.channel(conn)).checkQueue(q), counts);
  });
}

/** Uses an empty queue name after declaring `q` on the same channel. */
function emptyName(op: string, act: (ctx: Ctx, ch: Channel, declared: string) => Promise<void>): Scenario {
  return scenario(`empty queue name in ${op} means the last declared queue`, async (ctx) => {
    const { ch } = await ctx.open();
    const [q1, q2] = [ctx.name("q1"), ctx.name("q2")];
    await ctx.attempt("declare q1", ch.assertQueue(q1), counts);
    await ctx.attempt("declare q2", ch.assertQueue(q2), counts);
    await act(ctx, ch, q2);
    await ctx.queueState("q1", q1);
    await ctx.queueState("q2", q2);
  });
}

/** Uses an empty queue name on a channel that declared no queue. */
function emptyNameNoneDeclared(op: string, act: (ch: Channel) => Promise<unknown>): Scenario {
  return scenario(`empty queue name in ${op} with no queue declared on the channel`, async (ctx) => {
    const { conn, ch } = await ctx.open();
    const other = await ctx.channel(conn);
    await ctx.attempt("declare q on another channel", other.assertQueue(ctx.name("q")), counts);
    await ctx.attempt(op, act(ch));
  });
}

export const queueScenarios: Scenario[] = [
  scenario("server-named queue gets an amq.gen- name", async (ctx) => {
    const { ch } = await ctx.open();
    const ok = await ctx.attempt("declare ''", ch.assertQueue("", { exclusive: true }), (ok) => [ok.queue, ...counts(ok)]);
    if (ok) await ctx.attempt("passive declare it", ch.checkQueue(ok.queue), (ok) => [ok.queue, ...counts(ok)]);
  }),
  scenario("declare-ok reports ready messages and consumers", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.name("q");
    await ctx.attempt("declare", ch.assertQueue(q), counts);
    ctx.publishAll(ch, "", q, ["a", "b", "c"]);
    await ctx.waitCount(conn, q, 3);
    await ctx.attempt("redeclare", ch.assertQueue(q), counts);
    const cch = await ctx.channel(conn);
    await cch.prefetch(1);
    const c = await ctx.consume(cch, q);
    await c.waitFor(1);
    await ctx.waitCount(conn, q, 2);
    await ctx.attempt("redeclare with one unacked", ch.assertQueue(q), counts);
    await ctx.attempt("passive declare", ch.checkQueue(q), counts);
  }),
  scenario("passive declare of a missing queue is 404", async (ctx) => {
    const { ch } = await ctx.open();
    await ctx.attempt("passive declare", ch.checkQueue(ctx.name("missing")), counts);
    ctx.record("channel", await ctx.channelClosed(ch));
  }),
  scenario("declaring an amq. queue is refused with 403", async (ctx) => {
    const { ch } = await ctx.open();
    await ctx.attempt("declare amq.<p>-q", ch.assertQueue(`amq.${ctx.name("q")}`), counts);
  }),
  scenario("passive queue declare ignores flags and arguments", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    await ctx.attempt(
      "declare durable auto-delete with ttl",
      ch.assertQueue(q, { durable: true, autoDelete: true, messageTtl: 500 }),
      counts,
    );
    await ctx.attempt(
      "passive declare with other flags",
      raw(ch).rpc(
        M.QueueDeclare,
        { queue: q, passive: true, durable: false, autoDelete: false, arguments: { "x-message-ttl": 9 } },
        M.QueueDeclareOk,
      ),
      (ok) => [ok.queue, ok.messageCount, ok.consumerCount],
    );
  }),
  scenario("queue.declare no-wait creates the queue", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    raw(ch).sendImmediately(M.QueueDeclare, { queue: q, nowait: true, arguments: {} });
    await ctx.attempt("passive declare", ch.checkQueue(q), counts);
  }),
  inequivalent("durable", { durable: false }, { durable: true }),
  inequivalent("auto-delete", { autoDelete: false }, { autoDelete: true }),
  inequivalent("exclusive", { exclusive: false }, { exclusive: true }),
  inequivalent("exclusive (declared exclusive, then not)", { exclusive: true }, { exclusive: false }),
  inequivalent("x-message-ttl", { messageTtl: 1000 }, { messageTtl: 2000 }),
  inequivalent("x-max-length (absent, then set)", {}, { maxLength: 5 }),
  inequivalent("unknown x- argument", { arguments: { "x-foo": 1 } }, { arguments: { "x-foo": 2 } }),
  lockedFromOtherConnection("declare", (ch, q) => ch.assertQueue(q, { exclusive: true })),
  lockedFromOtherConnection("passive declare", (ch, q) => ch.checkQueue(q)),
  lockedFromOtherConnection("consume", (ch, q) => ch.consume(q, () => {})),
  lockedFromOtherConnection("get", (ch, q) => ch.get(q)),
  lockedFromOtherConnection("purge", (ch, q) => ch.purgeQueue(q)),
  lockedFromOtherConnection("delete", (ch, q) => ch.deleteQueue(q)),
  lockedFromOtherConnection("bind", (ch, q) => ch.bindQueue(q, "amq.fanout", "")),
  scenario("exclusive queue is usable from another channel of its connection", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.name("q");
    await ctx.attempt("declare exclusive", ch.assertQueue(q, { exclusive: true }), counts);
    const other = await ctx.channel(conn);
    ctx.publish(other, "", q, "m");
    await ctx.waitCount(conn, q, 1);
    ctx.record("get on other channel", await ctx.drain(other, q));
    await ctx.attempt("redeclare on other channel", other.assertQueue(q, { exclusive: true }), counts);
  }),
  scenario("exclusive queue survives its channel and goes with its connection", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.name("q");
    await ctx.attempt("declare exclusive", ch.assertQueue(q, { exclusive: true }), counts);
    await ch.close();
    await ctx.attempt("passive declare after channel close", (await ctx.channel(conn)).checkQueue(q), counts);
    await conn.close();
    await ctx.waitQueueGone("after connection close", q);
  }),
  scenario("auto-delete queue lives until its last consumer cancels", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.name("q");
    await ctx.attempt("declare auto-delete", ch.assertQueue(q, { autoDelete: true }), counts);
    ctx.publish(ch, "", q, "m");
    await ctx.waitCount(conn, q, 1);
    ctx.record("get does not delete it", await ctx.drain(ch, q));
    await ctx.settle();
    await ctx.queueState("before any consumer", q);
    const c1 = await ctx.consume(ch, q);
    const c2 = await ctx.consume(ch, q);
    await ctx.queueState("with two consumers", q);
    await ctx.attempt("cancel first", ch.cancel(c1.tag), () => "ok");
    await ctx.queueState("after first cancel", q);
    await ctx.attempt("cancel second", ch.cancel(c2.tag), () => "ok");
    await ctx.waitQueueGone("after last cancel", q);
  }),
  scenario("auto-delete queue goes when its consumer's channel closes", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.name("q");
    await ctx.attempt("declare auto-delete", ch.assertQueue(q, { autoDelete: true }), counts);
    const cch = await ctx.channel(conn);
    await ctx.consume(cch, q);
    await cch.close();
    await ctx.waitQueueGone("after consumer channel close", q);
  }),
  scenario("bind and unbind with a missing exchange or queue", async (ctx) => {
    const conn = await ctx.connect();
    const q = ctx.name("q");
    const x = ctx.name("x");
    const ch = await ctx.channel(conn);
    await ctx.attempt("declare q", ch.assertQueue(q), counts);
    await ctx.attempt("declare x", ch.assertExchange(x, "direct"));
    const missingX = ctx.name("missing-x");
    const missingQ = ctx.name("missing-q");
    await ctx.attempt("bind q to missing exchange", (await ctx.channel(conn)).bindQueue(q, missingX, "k"));
    await ctx.attempt("bind missing queue to x", (await ctx.channel(conn)).bindQueue(missingQ, x, "k"));
    await ctx.attempt("unbind q from missing exchange", (await ctx.channel(conn)).unbindQueue(q, missingX, "k"));
    await ctx.attempt("unbind missing queue from x", (await ctx.channel(conn)).unbindQueue(missingQ, x, "k"));
    await ctx.attempt("bind missing queue to missing exchange", (await ctx.channel(conn)).bindQueue(missingQ, missingX, "k"));
    await ctx.attempt("unbind a binding that does not exist", (await ctx.channel(conn)).unbindQueue(q, x, "nope"));
  }),
  scenario("binding twice is idempotent and one unbind removes it", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const [q, x] = [ctx.name("q"), ctx.name("x")];
    await ctx.attempt("declare q", ch.assertQueue(q), counts);
    await ctx.attempt("declare x", ch.assertExchange(x, "direct"));
    await ctx.attempt("bind", ch.bindQueue(q, x, "k"));
    await ctx.attempt("bind again", ch.bindQueue(q, x, "k"));
    ctx.publish(ch, x, "k", "once");
    await ctx.waitCount(conn, q, 1);
    ctx.record("q", await ctx.drain(ch, q));
    await ctx.attempt("unbind", ch.unbindQueue(q, x, "k"));
    const cch = await ctx.confirmChannel(conn);
    const log = ctx.confirms(cch);
    ctx.publish(cch, x, "k", "after unbind", { mandatory: true });
    await cch.waitForConfirms();
    ctx.record("publish after unbind", log.summary());
  }),
  scenario("purge returns the number of ready messages and leaves unacked ones", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.name("q");
    await ctx.attempt("declare", ch.assertQueue(q), counts);
    ctx.publishAll(ch, "", q, ["a", "b", "c", "d"]);
    await ctx.waitCount(conn, q, 4);
    const getter = await ctx.channel(conn);
    ctx.record("get without ack", (await ctx.drain(getter, q, { noAck: false }, 1)).map((m) => m.body));
    await ctx.attempt("purge", ch.purgeQueue(q), (ok) => ok.messageCount);
    await ctx.attempt("purge again", ch.purgeQueue(q), (ok) => ok.messageCount);
    await getter.close();
    await ctx.waitCount(conn, q, 1);
    ctx.record("after the getter closed", await ctx.drain(ch, q));
  }),
  scenario("purge of a missing queue is 404", async (ctx) => {
    const { ch } = await ctx.open();
    await ctx.attempt("purge missing", ch.purgeQueue(ctx.name("missing")), (ok) => ok.messageCount);
  }),
  scenario("delete returns the number of messages", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.name("q");
    await ctx.attempt("declare", ch.assertQueue(q), counts);
    ctx.publishAll(ch, "", q, ["a", "b", "c"]);
    await ctx.waitCount(conn, q, 3);
    await ctx.attempt("delete", ch.deleteQueue(q), (ok) => ok.messageCount);
    await ctx.queueState("after delete", q);
  }),
  scenario("delete of a missing queue succeeds with zero messages", async (ctx) => {
    const { ch } = await ctx.open();
    await ctx.attempt("delete missing", ch.deleteQueue(ctx.name("missing")), (ok) => ok.messageCount);
    await ctx.probe("channel after", ch);
  }),
  scenario("delete if-unused of a queue with a consumer is 406", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.name("q");
    await ctx.attempt("declare", ch.assertQueue(q), counts);
    await ctx.consume(await ctx.channel(conn), q);
    await ctx.attempt("delete if-unused", ch.deleteQueue(q, { ifUnused: true }), (ok) => ok.messageCount);
    await ctx.queueState("after", q);
  }),
  scenario("delete if-empty of a queue with messages is 406", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.name("q");
    await ctx.attempt("declare", ch.assertQueue(q), counts);
    ctx.publishAll(ch, "", q, ["a", "b"]);
    await ctx.waitCount(conn, q, 2);
    await ctx.attempt("delete if-empty", ch.deleteQueue(q, { ifEmpty: true }), (ok) => ok.messageCount);
    await ctx.queueState("after", q);
  }),
  scenario("delete if-unused and if-empty of an idle empty queue deletes it", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    await ctx.attempt("declare", ch.assertQueue(q), counts);
    await ctx.attempt("delete", ch.deleteQueue(q, { ifUnused: true, ifEmpty: true }), (ok) => ok.messageCount);
    await ctx.queueState("after", q);
  }),
  scenario("delete if-empty counts only ready messages", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.name("q");
    await ctx.attempt("declare", ch.assertQueue(q), counts);
    ctx.publish(ch, "", q, "a");
    await ctx.waitCount(conn, q, 1);
    ctx.record("get without ack", (await ctx.drain(await ctx.channel(conn), q, { noAck: false }, 1)).map((m) => m.body));
    await ctx.attempt("delete if-empty", ch.deleteQueue(q, { ifEmpty: true }), (ok) => ok.messageCount);
    await ctx.queueState("after", q);
  }),
  emptyName("queue.bind", async (ctx, ch, declared) => {
    await ctx.attempt("bind '' to amq.direct with k", ch.bindQueue("", "amq.direct", "k"));
    ctx.publish(ch, "amq.direct", "k", "routed");
    await ctx.waitCount(await ctx.connect(), declared, 1);
  }),
  emptyName("basic.consume", async (ctx, ch, declared) => {
    const c = await ctx.consume(ch, "");
    ctx.publish(ch, "", declared, "m");
    ctx.record("delivered", (await c.waitFor(1)).map((m) => m.fields.routingKey === declared));
  }),
  emptyName("basic.get", async (ctx, ch, declared) => {
    ctx.publish(ch, "", declared, "m");
    await ctx.waitCount(await ctx.connect(), declared, 1);
    ctx.record("get ''", await ctx.drain(ch, ""));
  }),
  emptyName("queue.purge", async (ctx, ch, declared) => {
    ctx.publishAll(ch, "", declared, ["a", "b"]);
    await ctx.waitCount(await ctx.connect(), declared, 2);
    await ctx.attempt("purge ''", ch.purgeQueue(""), (ok) => ok.messageCount);
  }),
  emptyName("queue.delete", async (ctx, ch) => {
    await ctx.attempt("delete ''", ch.deleteQueue(""), (ok) => ok.messageCount);
  }),
  emptyNameNoneDeclared("queue.bind", (ch) => ch.bindQueue("", "amq.direct", "k")),
  emptyNameNoneDeclared("basic.consume", (ch) => ch.consume("", () => {})),
  emptyNameNoneDeclared("basic.get", (ch) => ch.get("")),
  emptyNameNoneDeclared("queue.purge", (ch) => ch.purgeQueue("")),
  emptyNameNoneDeclared("queue.delete", (ch) => ch.deleteQueue("")),
  emptyNameNoneDeclared("queue.unbind", (ch) => ch.unbindQueue("", "amq.direct", "k")),
  emptyName("queue.unbind", async (ctx, ch, declared) => {
    await ctx.attempt("bind q2 to amq.direct", ch.bindQueue(declared, "amq.direct", declared));
    await ctx.attempt("unbind '' from amq.direct", ch.unbindQueue("", "amq.direct", declared));
    ctx.publish(ch, "amq.direct", declared, "not routed");
    await ctx.settle();
  }),
  scenario("empty queue name in a passive queue.declare is not the last declared queue", async (ctx) => {
    const { ch } = await ctx.open();
    await ctx.attempt("declare q", ch.assertQueue(ctx.name("q")), counts);
    await ctx.attempt("passive declare ''", ch.checkQueue(""), (ok) => [ok.queue, ...counts(ok)]);
  }),
  scenario("a server-named queue becomes the channel's default queue", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const ok = await ctx.attempt("declare ''", ch.assertQueue("", { exclusive: true }), (ok) => ok.queue);
    await ctx.attempt("bind '' to amq.direct", ch.bindQueue("", "amq.direct", ctx.name("k")));
    ctx.publish(ch, "amq.direct", ctx.name("k"), "via binding");
    if (ok) await ctx.waitCount(conn, ok.queue, 1);
    ctx.record("get ''", await ctx.drain(ch, ""));
  }),
  scenario("delete reports only ready messages when some are unacked", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.name("q");
    await ctx.attempt("declare", ch.assertQueue(q), counts);
    ctx.publishAll(ch, "", q, ["a", "b", "c"]);
    await ctx.waitCount(conn, q, 3);
    ctx.record("get without ack", (await ctx.drain(await ctx.channel(conn), q, { noAck: false }, 1)).map((m) => m.body));
    await ctx.attempt("delete", ch.deleteQueue(q), (ok) => ok.messageCount);
  }),
  scenario("deleting a queue removes its bindings", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const [q, x] = [ctx.name("q"), ctx.name("x")];
    await ch.assertExchange(x, "fanout");
    await ch.assertQueue(q);
    await ch.bindQueue(q, x, "");
    await ctx.attempt("delete", ch.deleteQueue(q), (ok) => ok.messageCount);
    await ctx.attempt("redeclare", ch.assertQueue(q), counts);
    const cch = await ctx.confirmChannel(conn);
    const log = ctx.confirms(cch);
    ctx.publish(cch, x, "", "after delete", { mandatory: true });
    await cch.waitForConfirms();
    ctx.record("publish to the old binding", log.summary());
  }),
  scenario("queue arguments of the wrong type or range are refused", async (ctx) => {
    const conn = await ctx.connect();
    await ctx.attempt(
      "x-message-ttl as a string",
      (await ctx.channel(conn)).assertQueue(ctx.name("q1"), { arguments: { "x-message-ttl": "1000" } }),
      counts,
    );
    await ctx.attempt(
      "negative x-max-length",
      (await ctx.channel(conn)).assertQueue(ctx.name("q2"), { arguments: { "x-max-length": -1 } }),
      counts,
    );
    await ctx.attempt("x-expires 0", (await ctx.channel(conn)).assertQueue(ctx.name("q3"), { arguments: { "x-expires": 0 } }), counts);
  }),
];
