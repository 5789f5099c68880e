// Issue 3 point 7: publisher confirms — tags, returns before confirms, confirm/tx exclusion.
import type { Channel, ConfirmChannel } from "amqplib";
import { type ConfirmLog, type Ctx, M, raw, type Scenario, scenario } from "./scenario.ts";

/** A confirm channel with its log, and a queue to publish to. */
async function confirming(ctx: Ctx): Promise<{ ch: ConfirmChannel; log: ConfirmLog; q: string }> {
  const ch = await ctx.confirmChannel();
  const q = ctx.name("q");
  await ch.assertQueue(q);
  return { ch, log: ctx.confirms(ch), q };
}

/** Waits until `n` publishes were confirmed on a channel amqplib does not treat as a confirm channel. */
async function confirmed(ctx: Ctx, log: ConfirmLog, n: number): Promise<void> {
  await ctx.waitFor(() => log.confirmed >= n, `${n} confirms`);
}

async function selectConfirm(ch: Channel): Promise<unknown> {
  return raw(ch).rpc(M.ConfirmSelect, { nowait: false }, M.ConfirmSelectOk);
}

async function selectTx(ch: Channel): Promise<unknown> {
  return raw(ch).rpc(M.TxSelect, {}, M.TxSelectOk);
}

export const confirmScenarios: Scenario[] = [
  scenario("confirms ack every publish with tags from 1", async (ctx) => {
    const { ch, log, q } = await confirming(ctx);
    ctx.publishAll(ch, "", q, ["a", "b", "c", "d", "e"]);
    await ch.waitForConfirms();
    ctx.record("confirms", log.summary());
    await ctx.queueState("queue", q);
  }),
  scenario("confirms for 500 publishes cover every tag once", async (ctx) => {
    const { ch, log, q } = await confirming(ctx);
    ctx.publishAll(ch, "", q, Array.from({ length: 500 }, (_, i) => `m${i}`));
    await ch.waitForConfirms();
    const s = log.summary();
    ctx.record("acked", [s.acked.length, s.acked[0], s.acked.at(-1), new Set(s.acked).size]);
    ctx.record("nacked", s.nacked);
  }),
  scenario("the confirm of an unroutable mandatory message comes after its return", async (ctx) => {
    const ch = await ctx.confirmChannel();
    const log = ctx.confirms(ch);
    ctx.publish(ch, "amq.direct", ctx.name("nowhere"), "lost", { mandatory: true });
    await ch.waitForConfirms();
    ctx.record("events", log.events);
  }),
  scenario("an unroutable message without mandatory is confirmed", async (ctx) => {
    const ch = await ctx.confirmChannel();
    const log = ctx.confirms(ch);
    ctx.publish(ch, "amq.direct", ctx.name("nowhere"), "lost");
    await ch.waitForConfirms();
    ctx.record("events", log.events);
  }),
  scenario("routed and unroutable publishes are all acked, returns in order", async (ctx) => {
    const { ch, log, q } = await confirming(ctx);
    for (let i = 1; i <= 6; i++) ctx.publish(ch, "", i % 2 ? q : ctx.name(`none${i}`), `m${i}`, { mandatory: true });
    await ch.waitForConfirms();
    ctx.record("confirms", log.summary());
  }),
  scenario("one confirm per message routed to several queues", async (ctx) => {
    const ch = await ctx.confirmChannel();
    const x = ctx.name("x");
    await ch.assertExchange(x, "fanout");
    for (const b of ["q1", "q2", "q3"]) await ch.bindQueue((await ch.assertQueue(ctx.name(b))).queue, x, "");
    const log = ctx.confirms(ch);
    ctx.publishAll(ch, x, "", ["a", "b"]);
    await ch.waitForConfirms();
    ctx.record("confirms", log.summary());
  }),
  scenario("a persistent message on a durable queue is confirmed", async (ctx) => {
    const ch = await ctx.confirmChannel();
    const q = ctx.name("q");
    await ch.assertQueue(q, { durable: true });
    const log = ctx.confirms(ch);
    ctx.publish(ch, "", q, "kept", { persistent: true });
    await ch.waitForConfirms();
    ctx.record("confirms", log.summary());
    ctx.record("queue", await ctx.drain(ch, q));
  }),
  scenario("confirm tags are per channel", async (ctx) => {
    const conn = await ctx.connect();
    const [a, b] = [await ctx.confirmChannel(conn), await ctx.confirmChannel(conn)];
    const [la, lb] = [ctx.confirms(a), ctx.confirms(b)];
    ctx.publishAll(a, "amq.fanout", "", ["a1", "a2", "a3"]);
    ctx.publishAll(b, "amq.fanout", "", ["b1", "b2"]);
    await Promise.all([a.waitForConfirms(), b.waitForConfirms()]);
    ctx.record("channel a", la.summary());
    ctx.record("channel b", lb.summary());
  }),
  scenario("publishes before confirm.select are not counted", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q);
    ctx.publishAll(ch, "", q, ["before1", "before2"]);
    await ctx.attempt("confirm.select", selectConfirm(ch));
    const log = ctx.confirms(ch);
    ctx.publishAll(ch, "", q, ["after1", "after2", "after3"]);
    await confirmed(ctx, log, 3);
    await ctx.settle();
    ctx.record("confirms", log.summary());
  }),
  scenario("confirm.select twice is accepted", async (ctx) => {
    const { ch } = await ctx.open();
    await ctx.attempt("confirm.select", selectConfirm(ch));
    await ctx.attempt("confirm.select again", selectConfirm(ch));
  }),
  scenario("confirm.select no-wait then publish", async (ctx) => {
    const { ch } = await ctx.open();
    raw(ch).sendImmediately(M.ConfirmSelect, { nowait: true });
    const log = ctx.confirms(ch);
    ctx.publishAll(ch, "amq.fanout", "", ["a", "b"]);
    await confirmed(ctx, log, 2);
    ctx.record("confirms", log.summary());
  }),
  scenario("tx.select after confirm.select is 406", async (ctx) => {
    const { ch } = await ctx.open();
    await ctx.attempt("confirm.select", selectConfirm(ch));
    await ctx.attempt("tx.select", selectTx(ch));
  }),
  scenario("confirm.select after tx.select is 406", async (ctx) => {
    const { ch } = await ctx.open();
    await ctx.attempt("tx.select", selectTx(ch));
    await ctx.attempt("confirm.select", selectConfirm(ch));
  }),
  scenario("confirm mode on one channel does not affect another", async (ctx) => {
    const conn = await ctx.connect();
    const c = await ctx.confirmChannel(conn);
    const plain = await ctx.channel(conn);
    await ctx.attempt("tx.select on the other channel", selectTx(plain));
    await ctx.probe("confirm channel", c);
  }),
];
