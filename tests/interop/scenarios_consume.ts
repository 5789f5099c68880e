// Issue 3 point 6, consumers: tags, exclusive consumers, no-ack, cancel, round-robin, basic.qos
// per consumer and per channel, delivery tags, server-initiated cancel.
import type { Channel, ChannelModel } from "amqplib";
import { bodyText, type Consumer, type Ctx, M, raw, type Scenario, scenario } from "./scenario.ts";

/** A queue holding `n` messages m1..mn. */
async function filled(ctx: Ctx, n: number, base = "q"): Promise<{ conn: ChannelModel; ch: Channel; q: string }> {
  const { conn, ch } = await ctx.open();
  const q = ctx.name(base);
  await ch.assertQueue(q);
  ctx.publishAll(ch, "", q, Array.from({ length: n }, (_, i) => `m${i + 1}`));
  await ctx.waitCount(conn, q, n);
  return { conn, ch, q };
}

/** Waits until `total` deliveries arrived across consumers and the queue shows `ready` left. */
async function settled(ctx: Ctx, conn: ChannelModel, q: string, cs: Consumer[], total: number, ready: number): Promise<void> {
  await ctx.waitFor(() => cs.reduce((n, c) => n + c.messages.length, 0) >= total, `${total} deliveries`);
  await ctx.waitCount(conn, q, ready);
  await ctx.settle();
  cs.forEach((c, i) => ctx.record(`consumer ${i + 1}`, c.bodies()));
  await ctx.queueState("queue", q);
}

/** Sets qos on a channel (each [count, global] in order), starts `consumers`, publishes 10. */
function prefetch(name: string, qos: [number, boolean][], consumers: number, total: number, ready: number): Scenario {
  return scenario(`qos: ${name}`, async (ctx) => {
    const { conn } = await ctx.open();
    const ch = await ctx.channel(conn);
    const q = ctx.name("q");
    await ch.assertQueue(q);
    for (const [count, global] of qos) await ctx.attempt(`qos ${count} global=${global}`, ch.prefetch(count, global));
    const cs: Consumer[] = [];
    for (let i = 0; i < consumers; i++) cs.push(await ctx.consume(ch, q));
    ctx.publishAll(ch, "", q, Array.from({ length: 10 }, (_, i) => `m${i + 1}`));
    await settled(ctx, conn, q, cs, total, ready);
  });
}

export const consumeScenarios: Scenario[] = [
  scenario("consume without a tag gets a server-generated amq.ctag-", async (ctx) => {
    const { ch, q } = await filled(ctx, 1);
    const c = await ctx.consume(ch, q);
    ctx.record("consumer tag", c.tag);
    const [m] = await c.waitFor(1);
    ctx.record("delivery carries the tag", m?.fields.consumerTag === c.tag);
  }),
  scenario("consume with a client tag uses it", async (ctx) => {
    const { ch, q } = await filled(ctx, 1);
    const c = await ctx.consume(ch, q, { consumerTag: ctx.name("tag") });
    ctx.record("consumer tag", c.tag);
    ctx.record("delivery", (await c.waitFor(1)).map((m) => [m.fields.consumerTag, bodyText(m.content)]));
  }),
  scenario("a duplicate consumer tag on one channel is 530", async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 0);
    const tag = ctx.name("tag");
    await ctx.attempt("first consume", ch.consume(q, () => {}, { consumerTag: tag }), (ok) => ok.consumerTag);
    await ctx.attempt("second consume", ch.consume(q, () => {}, { consumerTag: tag }), (ok) => ok.consumerTag);
    ctx.record("connection", await ctx.connectionClosed(conn));
  }),
  scenario("the same consumer tag on two channels is allowed", async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 0);
    const tag = ctx.name("tag");
    await ctx.attempt("consume on channel 1", ch.consume(q, () => {}, { consumerTag: tag }), (ok) => ok.consumerTag);
    const ch2 = await ctx.channel(conn);
    await ctx.attempt("consume on channel 2", ch2.consume(q, () => {}, { consumerTag: tag }), (ok) => ok.consumerTag);
    await ctx.queueState("queue", q);
  }),
  scenario("an exclusive consumer refuses others with 403", async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 0);
    await ctx.attempt("exclusive consume", ch.consume(q, () => {}, { exclusive: true }), (ok) => ok.consumerTag);
    const other = await ctx.channel(conn);
    await ctx.attempt("second consume on another channel", other.consume(q, () => {}), (ok) => ok.consumerTag);
    await ctx.attempt("second consume on the same channel", ch.consume(q, () => {}), (ok) => ok.consumerTag);
  }),
  scenario("exclusive consume on a queue that has a consumer is 403", async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 0);
    await ctx.attempt("consume", ch.consume(q, () => {}), (ok) => ok.consumerTag);
    await ctx.attempt("exclusive consume", (await ctx.channel(conn)).consume(q, () => {}, { exclusive: true }), (ok) => ok.consumerTag);
  }),
  scenario("after an exclusive consumer cancels, others may consume", async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 1);
    const c = await ctx.consume(ch, q, { exclusive: true, noAck: true });
    await c.waitFor(1);
    await ctx.attempt("cancel", ch.cancel(c.tag), (ok) => ok.consumerTag);
    await ctx.attempt("consume on another channel", (await ctx.channel(conn)).consume(q, () => {}), (ok) => ok.consumerTag);
  }),
  scenario("no-ack deliveries leave the queue and never come back", async (ctx) => {
    const { ch, q } = await filled(ctx, 3);
    const c = await ctx.consume(ch, q, { noAck: true });
    ctx.record("delivered", (await c.waitFor(3)).map((m) => [bodyText(m.content), m.fields.deliveryTag, m.fields.redelivered]));
    await ctx.queueState("queue while consuming", q);
    await ch.close();
    await ctx.settle();
    await ctx.queueState("queue after channel close", q);
  }),
  scenario("cancel stops deliveries and leaves the rest in the queue", async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 3);
    await ch.prefetch(1);
    const c = await ctx.consume(ch, q);
    const [m] = await c.waitFor(1);
    await ctx.attempt("cancel", ch.cancel(c.tag), (ok) => ok.consumerTag);
    await ctx.queueState("queue after cancel", q);
    if (m) ch.ack(m);
    await ctx.waitCount(conn, q, 2);
    await ctx.settle();
    ctx.record("delivered", c.bodies());
    await ctx.queueState("queue after ack", q);
  }),
  scenario("cancel of an unknown consumer tag", async (ctx) => {
    const { ch } = await ctx.open();
    await ctx.attempt("cancel", ch.cancel(ctx.name("nobody")), (ok) => ok.consumerTag);
    await ctx.probe("channel after", ch);
  }),
  scenario("consume on a missing queue is 404", async (ctx) => {
    const { ch } = await ctx.open();
    await ctx.attempt("consume", ch.consume(ctx.name("missing"), () => {}), (ok) => ok.consumerTag);
  }),
  scenario("round-robin across two consumers on one channel", async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 0);
    const cs = [await ctx.consume(ch, q, { noAck: true }), await ctx.consume(ch, q, { noAck: true })];
    ctx.publishAll(ch, "", q, ["m1", "m2", "m3", "m4", "m5", "m6"]);
    await settled(ctx, conn, q, cs, 6, 0);
  }),
  scenario("round-robin across consumers on two channels", async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 0);
    const ch2 = await ctx.channel(conn);
    const cs = [await ctx.consume(ch, q), await ctx.consume(ch2, q)];
    ctx.publishAll(ch, "", q, ["m1", "m2", "m3", "m4", "m5", "m6"]);
    await settled(ctx, conn, q, cs, 6, 0);
  }),
  prefetch("per consumer (global=false) limits each consumer", [[2, false]], 2, 4, 6),
  prefetch("per channel (global=true) limits the channel's consumers together", [[3, true]], 2, 3, 7),
  prefetch("per consumer, then per channel: both limits apply", [[2, false], [5, true]], 3, 5, 5),
  prefetch("per channel, then per consumer: the per-consumer qos lifts the channel limit", [[5, true], [2, false]], 3, 6, 4),
  prefetch("per channel 0 after per channel 2 lifts the channel limit", [[2, true], [0, true]], 2, 10, 0),
  prefetch("0 means unlimited", [[0, false]], 1, 10, 0),
  scenario("qos: a later basic.qos does not change an existing consumer", async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 0);
    const c = await ctx.consume(ch, q);
    await ctx.attempt("qos 1", ch.prefetch(1));
    ctx.publishAll(ch, "", q, ["m1", "m2", "m3", "m4"]);
    await settled(ctx, conn, q, [c], 4, 0);
  }),
  scenario("qos: a later per-channel qos limits existing consumers", async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 0);
    const c = await ctx.consume(ch, q);
    await ctx.attempt("qos 2 global=true", ch.prefetch(2, true));
    ctx.publishAll(ch, "", q, ["m1", "m2", "m3", "m4"]);
    await settled(ctx, conn, q, [c], 2, 2);
  }),
  scenario("qos: acking frees a slot for the next delivery", async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 5);
    await ch.prefetch(2);
    const c = await ctx.consume(ch, q);
    const [first] = await c.waitFor(2);
    await ctx.waitCount(conn, q, 3);
    await ctx.settle();
    ctx.record("before ack", c.bodies());
    if (first) ch.ack(first);
    await c.waitFor(3);
    await ctx.waitCount(conn, q, 2);
    await ctx.settle();
    ctx.record("after one ack", c.bodies());
  }),
  scenario("qos: no-ack consumers ignore prefetch", async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 5);
    await ch.prefetch(1);
    const c = await ctx.consume(ch, q, { noAck: true });
    await settled(ctx, conn, q, [c], 5, 0);
  }),
  scenario("qos: prefetch_size other than 0", async (ctx) => {
    const { conn, ch } = await ctx.open();
    await ctx.attempt("qos prefetch_size=10", raw(ch).rpc(M.BasicQos, { prefetchSize: 10, prefetchCount: 0, global: false }, M.BasicQosOk));
    ctx.record("connection", await ctx.connectionClosed(conn));
  }),
  scenario("delivery tags are per channel and shared by get and consume", async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 4);
    const ch2 = await ctx.channel(conn);
    ctx.record("get on channel 1", await ctx.drain(ch, q, { noAck: false }, 1));
    ctx.record("get on channel 2", await ctx.drain(ch2, q, { noAck: false }, 1));
    const c = await ctx.consume(ch, q);
    ctx.record("consume on channel 1", (await c.waitFor(2)).map((m) => [bodyText(m.content), m.fields.deliveryTag]));
  }),
  scenario("server cancels the consumer when its queue is deleted", async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 2);
    const c = await ctx.consume(ch, q);
    const got = await c.waitFor(2);
    await ctx.attempt("delete queue on another channel", (await ctx.channel(conn)).deleteQueue(q), (ok) => ok.messageCount);
    await c.waitCancelled();
    ctx.record("cancelled", c.cancelled);
    for (const m of got) ch.ack(m);
    await ctx.probe("channel after acking deliveries of the deleted queue", ch);
    await ctx.attempt("cancel the cancelled consumer", ch.cancel(c.tag), (ok) => ok.consumerTag);
  }),
  scenario("consumer count follows consume and cancel", async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 0);
    const c1 = await ctx.consume(ch, q);
    await ctx.consume(await ctx.channel(conn), q);
    await ctx.queueState("two consumers", q);
    await ch.cancel(c1.tag);
    await ctx.queueState("after one cancel", q);
  }),
  scenario("qos: basic.get ignores prefetch", async (ctx) => {
    const { ch, q } = await filled(ctx, 3);
    await ch.prefetch(1);
    ctx.record("gets", await ctx.drain(ch, q, { noAck: false }, 5));
  }),
  scenario("qos: a per-channel limit counts unacked basic.get messages", async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 6);
    ctx.record("gets", (await ctx.drain(ch, q, { noAck: false }, 2)).map((m) => m.body));
    await ctx.attempt("qos 3 global=true", ch.prefetch(3, true));
    const c = await ctx.consume(ch, q);
    await settled(ctx, conn, q, [c], 1, 3);
  }),
  scenario("qos: a per-consumer limit does not count basic.get messages", async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 6);
    ctx.record("gets", (await ctx.drain(ch, q, { noAck: false }, 2)).map((m) => m.body));
    await ctx.attempt("qos 3 global=false", ch.prefetch(3, false));
    const c = await ctx.consume(ch, q);
    await settled(ctx, conn, q, [c], 3, 1);
  }),
  scenario("closing a channel cancels its consumers and releases an exclusive consumer", async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 0);
    const cch = await ctx.channel(conn);
    await ctx.consume(cch, q, { exclusive: true });
    await ctx.queueState("with the exclusive consumer", q);
    await cch.close();
    await ctx.queueState("after its channel closed", q);
    await ctx.attempt("consume again", ch.consume(q, () => {}, { exclusive: true }), (ok) => ok.consumerTag);
  }),
  scenario("deleting a queue cancels only its own consumers", async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 0);
    const q2 = ctx.name("q2");
    await ch.assertQueue(q2);
    const [a, b, other] = [await ctx.consume(ch, q), await ctx.consume(ch, q), await ctx.consume(ch, q2)];
    await ctx.attempt("delete q", (await ctx.channel(conn)).deleteQueue(q), (ok) => ok.messageCount);
    await a.waitCancelled();
    await b.waitCancelled();
    await ctx.settle();
    ctx.record("cancelled", [a.cancelled, b.cancelled, other.cancelled]);
    ctx.publish(ch, "", q2, "still consuming");
    ctx.record("q2 consumer", (await other.waitFor(1)).map((m) => bodyText(m.content)));
  }),
];
