// Issue 5 point 7: direct reply-to (amq.rabbitmq.reply-to).
import { type Scenario, scenario } from "./scenario.ts";

const REPLY_TO = "amq.rabbitmq.reply-to";

export const replyToScenarios: Scenario[] = [
  scenario("direct reply-to: an RPC round trip without a reply queue", async (ctx) => {
    const client = await ctx.open();
    const server = await ctx.open();
    const rpc = ctx.name("rpc");
    await server.ch.assertQueue(rpc);
    const replies: { body: string; key: string; exchange: string; redelivered: boolean }[] = [];
    await client.ch.consume(REPLY_TO, (m) => {
      if (m) {
        replies.push({
          body: m.content.toString(),
          key: m.fields.routingKey,
          exchange: m.fields.exchange,
          redelivered: m.fields.redelivered,
        });
      }
    }, { noAck: true });
    client.ch.sendToQueue(rpc, Buffer.from("2+2"), { replyTo: REPLY_TO, correlationId: "c1" });
    let replyTo = "";
    await ctx.waitFor(async () => {
      const m = await server.ch.get(rpc, { noAck: true });
      if (m) replyTo = m.properties.replyTo as string;
      return m !== false;
    }, "the request");
    ctx.record("reply-to rewritten", replyTo.startsWith(`${REPLY_TO}.`));
    const declared = await server.ch.checkQueue(replyTo);
    ctx.record("declare of the reply-to name", [declared.messageCount, declared.consumerCount]);
    server.ch.sendToQueue(replyTo, Buffer.from("4"), { correlationId: "c1" });
    await ctx.waitFor(() => replies.length === 1, "the reply");
    ctx.record("reply", { ...replies[0], key: replies[0]?.key === replyTo });
  }),
  scenario("direct reply-to: consuming with acks is refused", async (ctx) => {
    const { ch } = await ctx.open();
    await ctx.attempt("consume with ack", ch.consume(REPLY_TO, () => {}, { noAck: false }));
  }),
  scenario("direct reply-to: a second reply consumer on the channel is refused", async (ctx) => {
    const { ch } = await ctx.open();
    await ch.consume(REPLY_TO, () => {}, { noAck: true });
    await ctx.attempt("second consume", ch.consume(REPLY_TO, () => {}, { noAck: true }));
  }),
  scenario("direct reply-to: publishing with reply_to but no reply consumer is refused", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q);
    ch.sendToQueue(q, Buffer.from("x"), { replyTo: REPLY_TO });
    await ctx.attempt("round trip", ch.checkQueue(q));
  }),
  scenario("direct reply-to: declaring an unknown reply-to name is 404", async (ctx) => {
    const { ch } = await ctx.open();
    await ctx.attempt("declare bare", ch.checkQueue(REPLY_TO));
    const probe = await ctx.open();
    await ctx.attempt("declare unknown", probe.ch.checkQueue(`${REPLY_TO}.bogus`));
  }),
];
