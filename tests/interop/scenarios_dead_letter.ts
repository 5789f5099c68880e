// Issue 5 points 2 and 4: dead-lettering (rejected, maxlen), x-death as RabbitMQ builds it,
// cycles, and length limits with each x-overflow mode.
import type { Channel } from "amqplib";
import { type Ctx, type Scenario, scenario } from "./scenario.ts";

/** x-death and x-first-death-* without the time (it differs between runs). */
function deathView(headers: Record<string, unknown> | undefined): unknown {
  if (!headers) return null;
  const deaths = (headers["x-death"] as Record<string, unknown>[] | undefined)?.map(({ time: _t, ...rest }) => rest);
  return {
    "x-death": deaths ?? null,
    "x-first-death-reason": headers["x-first-death-reason"] ?? null,
    "x-first-death-queue": headers["x-first-death-queue"] ?? null,
    "x-first-death-exchange": headers["x-first-death-exchange"] ?? null,
  };
}

async function getAll(ctx: Ctx, ch: Channel, queue: string): Promise<void> {
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (!m) break;
    ctx.record(`${queue} message`, {
      body: m.content.toString(),
      key: m.fields.routingKey,
      exchange: m.fields.exchange,
      death: deathView(m.properties.headers),
    });
  }
}

export const deadLetterScenarios: Scenario[] = [
  scenario("reject without requeue dead-letters with reason rejected and an x-death entry", async (ctx) => {
    const { ch } = await ctx.open();
    const [q, dlq, dlx] = [ctx.name("q"), ctx.name("dlq"), ctx.name("dlx")];
    await ch.assertExchange(dlx, "fanout");
    await ch.assertQueue(dlq);
    await ch.bindQueue(dlq, dlx, "");
    await ch.assertQueue(q, { deadLetterExchange: dlx });
    ch.sendToQueue(q, Buffer.from("r1"), { headers: { keep: 1 } });
    await ch.checkQueue(q);
    const m = await ch.get(q);
    if (m) ch.reject(m, false);
    await ch.checkQueue(dlq);
    await getAll(ctx, ch, dlq);
  }),
  scenario("dead-letter routing key replaces the key; a second death of the same kind counts up", async (ctx) => {
    const { ch } = await ctx.open();
    const [q1, q2] = [ctx.name("q1"), ctx.name("q2")];
    await ch.assertQueue(q2, { deadLetterExchange: "", deadLetterRoutingKey: q1 });
    await ch.assertQueue(q1, { deadLetterExchange: "", deadLetterRoutingKey: q2 });
    ch.sendToQueue(q1, Buffer.from("ping"));
    await ch.checkQueue(q1);
    for (const q of [q1, q2, q1]) {
      const m = await ch.get(q);
      if (m) ch.nack(m, false, false);
      await ch.checkQueue(q);
    }
    await getAll(ctx, ch, q2);
  }),
  scenario("x-max-length drop-head dead-letters the oldest with reason maxlen", async (ctx) => {
    const { ch } = await ctx.open();
    const [q, dlq] = [ctx.name("q"), ctx.name("dlq")];
    await ch.assertQueue(dlq);
    await ch.assertQueue(q, { maxLength: 2, deadLetterExchange: "", deadLetterRoutingKey: dlq });
    for (const b of ["m1", "m2", "m3", "m4"]) ch.sendToQueue(q, Buffer.from(b));
    await ch.checkQueue(q);
    ctx.record("queue", (await ctx.drain(ch, q)).map((m) => m.body));
    await getAll(ctx, ch, dlq);
  }),
  scenario("x-max-length-bytes drops from the head by body size", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q, { arguments: { "x-max-length-bytes": 10 } });
    for (const b of ["aaaa", "bbbb", "cccc", "dd"]) ch.sendToQueue(q, Buffer.from(b));
    await ch.checkQueue(q);
    ctx.record("queue", (await ctx.drain(ch, q)).map((m) => m.body));
  }),
  scenario("x-overflow reject-publish nacks the publisher and keeps the head", async (ctx) => {
    const conn = await ctx.connect();
    const ch = await ctx.confirmChannel(conn);
    const q = ctx.name("q");
    await ch.assertQueue(q, { maxLength: 2, arguments: { "x-overflow": "reject-publish" } });
    const outcomes: string[] = [];
    for (const b of ["m1", "m2", "m3"]) ch.sendToQueue(q, Buffer.from(b), {}, (err) => outcomes.push(`${b} ${err ? "nack" : "ack"}`));
    await ch.waitForConfirms().catch(() => {});
    ctx.record("confirms", outcomes);
    ctx.record("queue", (await ctx.drain(ch, q)).map((m) => m.body));
  }),
  scenario("x-overflow reject-publish-dlx nacks and dead-letters the rejected message", async (ctx) => {
    const conn = await ctx.connect();
    const ch = await ctx.confirmChannel(conn);
    const [q, dlq] = [ctx.name("q"), ctx.name("dlq")];
    await ch.assertQueue(dlq);
    await ch.assertQueue(q, {
      maxLength: 1,
      deadLetterExchange: "",
      deadLetterRoutingKey: dlq,
      arguments: { "x-overflow": "reject-publish-dlx" },
    });
    const outcomes: string[] = [];
    for (const b of ["m1", "m2"]) ch.sendToQueue(q, Buffer.from(b), {}, (err) => outcomes.push(`${b} ${err ? "nack" : "ack"}`));
    await ch.waitForConfirms().catch(() => {});
    ctx.record("confirms", outcomes);
    ctx.record("queue", (await ctx.drain(ch, q)).map((m) => m.body));
    await getAll(ctx, ch, dlq);
  }),
  scenario("a maxlen dead-letter cycle back to the same queue is dropped", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q, { maxLength: 1, deadLetterExchange: "", deadLetterRoutingKey: q });
    for (const b of ["m1", "m2", "m3"]) ch.sendToQueue(q, Buffer.from(b));
    await ch.checkQueue(q);
    ctx.record("queue", (await ctx.drain(ch, q)).map((m) => m.body));
  }),
  scenario("a missing dead-letter exchange drops the message", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q, { deadLetterExchange: ctx.name("nowhere") });
    ch.sendToQueue(q, Buffer.from("gone"));
    await ch.checkQueue(q);
    const m = await ch.get(q);
    if (m) ch.reject(m, false);
    ctx.record("queue after", (await ch.checkQueue(q)).messageCount);
  }),
];
