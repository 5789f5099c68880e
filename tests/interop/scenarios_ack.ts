// Issue 3 point 6, acknowledgements: basic.get, ack/nack/reject with multiple and requeue,
// unknown tags, basic.recover, and unacked messages returning when a channel or connection ends.
import type { Channel, ChannelModel, GetMessage } from "amqplib";
import { bodyFlag, type Ctx, M, raw, type Scenario, scenario } from "./scenario.ts";

/** A queue holding m1..mn. */
async function filled(ctx: Ctx, n: number): Promise<{ conn: ChannelModel; ch: Channel; q: string }> {
  const { conn, ch } = await ctx.open();
  const q = ctx.name("q");
  await ch.assertQueue(q);
  ctx.publishAll(ch, "", q, Array.from({ length: n }, (_, i) => `m${i + 1}`));
  await ctx.waitCount(conn, q, n);
  return { conn, ch, q };
}

/** basic.get with acks `n` times; the messages (all present, or the scenario aborts). */
async function take(ch: Channel, q: string, n: number): Promise<GetMessage[]> {
  const out: GetMessage[] = [];
  for (let i = 0; i < n; i++) {
    const m = await ch.get(q, { noAck: false });
    if (!m) throw new Error(`get-empty after ${i} of ${n} messages`);
    out.push(m);
  }
  return out;
}

/** Waits for `ready` messages, then records the queue's contents in order (and empties it). */
async function contents(ctx: Ctx, conn: ChannelModel, q: string, ready: number, label = "queue"): Promise<void> {
  await ctx.waitCount(conn, q, ready);
  const ch = await ctx.channel(conn);
  const got: string[] = [];
  for (;;) {
    const m = await ch.get(q, { noAck: true });
    if (!m) break;
    got.push(bodyFlag(m));
  }
  ctx.record(label, got);
  await ch.close();
}

/** Gets m1..m3 unacked, applies `act`, and records what the queue holds after. */
function settle(name: string, ready: number, act: (ch: Channel, ms: GetMessage[]) => void, afterClose?: number): Scenario {
  return scenario(name, async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 3);
    const ms = await take(ch, q, 3);
    act(ch, ms);
    await contents(ctx, conn, q, ready);
    await ctx.probe("channel after", ch);
    if (afterClose !== undefined) {
      await ch.close();
      await contents(ctx, conn, q, afterClose, "queue after the channel closed");
    }
  });
}

/** Acts with a delivery tag the channel does not have; records the channel close. */
function unknownTag(name: string, act: (ch: Channel, ms: GetMessage[]) => void): Scenario {
  return scenario(name, async (ctx) => {
    const { ch, q } = await filled(ctx, 2);
    const ms = await take(ch, q, 1);
    act(ch, ms);
    ctx.record("channel", await ctx.channelClosed(ch));
  });
}

/** A message with a delivery tag of our choosing. */
const tagged = (m: GetMessage | undefined, deliveryTag: number): GetMessage => {
  if (!m) throw new Error("no message");
  return { ...m, fields: { ...m.fields, deliveryTag } };
};

export const ackScenarios: Scenario[] = [
  scenario("basic.get reports the remaining count, then get-empty", async (ctx) => {
    const { ch, q } = await filled(ctx, 3);
    for (let i = 0; i < 4; i++) {
      const m = await ch.get(q, { noAck: true });
      ctx.record(`get ${i + 1}`, m ? [bodyFlag(m), m.fields.messageCount, m.fields.deliveryTag] : "get-empty");
    }
  }),
  scenario("basic.get count excludes unacked messages", async (ctx) => {
    const { ch, q } = await filled(ctx, 4);
    await take(ch, q, 2);
    const m = await ch.get(q, { noAck: false });
    ctx.record("third get", m ? [bodyFlag(m), m.fields.messageCount] : "get-empty");
    await ctx.queueState("queue", q);
  }),
  scenario("basic.get on a missing queue is 404", async (ctx) => {
    const { ch } = await ctx.open();
    await ctx.attempt("get", ch.get(ctx.name("missing")), (m) => m);
  }),
  settle("ack one message", 0, (ch, ms) => ch.ack(ms[1] as GetMessage), 2),
  settle("ack multiple acks every tag up to it", 0, (ch, ms) => ch.ack(ms[1] as GetMessage, true), 1),
  settle("ackAll (multiple with tag 0) acks everything", 0, (ch) => ch.ackAll(), 0),
  settle("nack with requeue puts the message back at its position", 1, (ch, ms) => ch.nack(ms[1] as GetMessage, false, true), 2),
  settle("reject with requeue puts messages back in their original order", 2, (ch, ms) => {
    ch.reject(ms[2] as GetMessage, true);
    ch.reject(ms[0] as GetMessage, true);
  }, 1),
  settle("nack multiple with requeue returns all in order", 3, (ch, ms) => ch.nack(ms[2] as GetMessage, true, true), 0),
  settle("nackAll with requeue returns all in order", 3, (ch) => ch.nackAll(true), 0),
  settle("nack without requeue drops the message", 0, (ch, ms) => ch.nack(ms[0] as GetMessage, false, false), 2),
  settle("reject without requeue drops the message", 0, (ch, ms) => ch.reject(ms[0] as GetMessage, false), 2),
  scenario("requeued messages go before newer ready ones", async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 5);
    const ms = await take(ch, q, 3);
    ch.nack(ms[2] as GetMessage, false, true);
    ch.nack(ms[0] as GetMessage, false, true);
    await contents(ctx, conn, q, 4);
  }),
  unknownTag("ack of an unknown delivery tag is 406", (ch, ms) => ch.ack(tagged(ms[0], 5))),
  unknownTag("ack multiple of an unknown delivery tag is 406", (ch, ms) => ch.ack(tagged(ms[0], 7), true)),
  unknownTag("a second ack of the same tag is 406", (ch, ms) => {
    ch.ack(ms[0] as GetMessage);
    ch.ack(ms[0] as GetMessage);
  }),
  unknownTag("ack multiple of an acked tag with older unacked tags is 406", (ch, ms) => {
    ch.ack(ms[0] as GetMessage);
    ch.ack(ms[0] as GetMessage, true);
  }),
  unknownTag("ack of tag 0 without multiple is 406", (ch, ms) => ch.ack(tagged(ms[0], 0))),
  unknownTag("nack of an unknown delivery tag is 406", (ch, ms) => ch.nack(tagged(ms[0], 9), false, true)),
  unknownTag("reject of an unknown delivery tag is 406", (ch, ms) => ch.reject(tagged(ms[0], 9), true)),
  scenario("ack of a no-ack delivery's tag is 406", async (ctx) => {
    const { ch, q } = await filled(ctx, 1);
    const m = await ch.get(q, { noAck: true });
    if (m) ch.ack(m);
    ctx.record("channel", await ctx.channelClosed(ch));
  }),
  scenario("ack of another channel's delivery tag is 406", async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 2);
    const [m] = await take(ch, q, 1);
    const other = await ctx.channel(conn);
    if (m) other.ack(m);
    ctx.record("other channel", await ctx.channelClosed(other));
    await ctx.probe("first channel", ch);
  }),
  scenario("basic.recover requeues unacked deliveries, redelivered", async (ctx) => {
    const { ch, q } = await filled(ctx, 3);
    await ch.prefetch(2);
    const c = await ctx.consume(ch, q);
    await c.waitFor(2);
    await ctx.attempt("recover", ch.recover());
    const got = await c.waitFor(4);
    ctx.record("deliveries", got.map((m) => [bodyFlag(m), m.fields.deliveryTag]));
    await ctx.queueState("queue", q);
  }),
  scenario("basic.recover requeues unacked gets", async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 3);
    await take(ch, q, 2);
    await ctx.attempt("recover", ch.recover());
    await contents(ctx, conn, q, 3);
  }),
  scenario("basic.recover with requeue=false", async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 2);
    const c = await ctx.consume(ch, q);
    await c.waitFor(2);
    await ctx.attempt("recover requeue=false", raw(ch).rpc(M.BasicRecover, { requeue: false }, M.BasicRecoverOk));
    await ctx.settle();
    ctx.record("deliveries", c.messages.map((m) => [bodyFlag(m), m.fields.deliveryTag]));
    ctx.record("connection", await ctx.connectionClosed(conn));
  }),
  scenario("nack with requeue redelivers to the same consumer first", async (ctx) => {
    const { ch, q } = await filled(ctx, 3);
    await ch.prefetch(1);
    const c = await ctx.consume(ch, q);
    const [first] = await c.waitFor(1);
    if (first) ch.nack(first, false, true);
    const [, second] = await c.waitFor(2);
    if (second) ch.ack(second);
    const got = await c.waitFor(3);
    ctx.record("deliveries", got.map((m) => [bodyFlag(m), m.fields.deliveryTag]));
  }),
  scenario("closing a channel returns its unacked deliveries in order", async (ctx) => {
    const { conn, q } = await filled(ctx, 5);
    const cch = await ctx.channel(conn);
    await cch.prefetch(3);
    const c = await ctx.consume(cch, q);
    const [, second] = await c.waitFor(3);
    if (second) cch.ack(second);
    await c.waitFor(4);
    await cch.close();
    await contents(ctx, conn, q, 4);
  }),
  scenario("closing a connection returns its unacked deliveries in order", async (ctx) => {
    const { conn, q } = await filled(ctx, 4);
    const consumerConn = await ctx.connect();
    const cch = await ctx.channel(consumerConn);
    const c = await ctx.consume(cch, q);
    await c.waitFor(4);
    await consumerConn.close();
    await contents(ctx, conn, q, 4);
  }),
  scenario("a channel closed by an error returns its unacked deliveries", async (ctx) => {
    const { conn, ch, q } = await filled(ctx, 3);
    const ms = await take(ch, q, 2);
    ch.ack(tagged(ms[0], 9));
    ctx.record("channel", await ctx.channelClosed(ch));
    await contents(ctx, conn, q, 3);
  }),
];
