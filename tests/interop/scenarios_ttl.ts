// Issue 5 point 3: message TTL per queue and per message, expiry to the dead-letter exchange,
// TTL 0, and invalid expiration values.
import type { Channel } from "amqplib";
import { type Ctx, type Scenario, scenario } from "./scenario.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function deaths(ctx: Ctx, ch: Channel, queue: string): Promise<void> {
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (!m) break;
    const d = (m.properties.headers?.["x-death"] as Record<string, unknown>[] | undefined)?.map(({ time: _t, ...rest }) => rest);
    ctx.record("dead", { body: m.content.toString(), expiration: m.properties.expiration ?? null, death: d ?? null });
  }
}

export const ttlScenarios: Scenario[] = [
  scenario("x-message-ttl expires ready messages to the dead-letter exchange with reason expired", async (ctx) => {
    const { ch } = await ctx.open();
    const [q, dlq] = [ctx.name("q"), ctx.name("dlq")];
    await ch.assertQueue(dlq);
    await ch.assertQueue(q, { messageTtl: 50, deadLetterExchange: "", deadLetterRoutingKey: dlq });
    for (const b of ["t1", "t2"]) ch.sendToQueue(q, Buffer.from(b));
    await ch.checkQueue(q);
    await sleep(300);
    ctx.record("queue", (await ch.checkQueue(q)).messageCount);
    await deaths(ctx, ch, dlq);
  }),
  scenario("per-message expiration expires and keeps it as original-expiration", async (ctx) => {
    const { ch } = await ctx.open();
    const [q, dlq] = [ctx.name("q"), ctx.name("dlq")];
    await ch.assertQueue(dlq);
    await ch.assertQueue(q, { deadLetterExchange: "", deadLetterRoutingKey: dlq });
    ch.sendToQueue(q, Buffer.from("short"), { expiration: "40" });
    await ch.checkQueue(q);
    await sleep(300);
    const m = await ch.get(q, { noAck: true });
    ctx.record("get", m ? m.content.toString() : "empty");
    await deaths(ctx, ch, dlq);
  }),
  scenario("the lower of queue TTL and message expiration wins", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q, { messageTtl: 60_000 });
    ch.sendToQueue(q, Buffer.from("short"), { expiration: "30" });
    ch.sendToQueue(q, Buffer.from("long"), { expiration: "120000" });
    await ch.checkQueue(q);
    await sleep(300);
    ctx.record("left", (await ctx.drain(ch, q)).map((m) => m.body));
  }),
  scenario("TTL 0: delivered to a waiting consumer, otherwise dropped", async (ctx) => {
    const { ch } = await ctx.open();
    const [idle, busy] = [ctx.name("idle"), ctx.name("busy")];
    await ch.assertQueue(idle, { messageTtl: 0 });
    await ch.assertQueue(busy, { messageTtl: 0 });
    const got: string[] = [];
    await ch.consume(busy, (m) => {
      if (m) got.push(m.content.toString());
    }, { noAck: true });
    ch.sendToQueue(idle, Buffer.from("nobody"));
    ch.sendToQueue(busy, Buffer.from("someone"));
    await ch.checkQueue(idle);
    await sleep(100);
    ctx.record("idle count", (await ch.checkQueue(idle)).messageCount);
    ctx.record("busy got", got);
  }),
  scenario("a message behind a longer-lived head waits for it", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q);
    ch.sendToQueue(q, Buffer.from("head"), { expiration: "60000" });
    ch.sendToQueue(q, Buffer.from("behind"), { expiration: "10" });
    await ch.checkQueue(q);
    await sleep(200);
    ctx.record("count", (await ch.checkQueue(q)).messageCount);
    ctx.record("get", (await ctx.drain(ch, q)).map((m) => m.body));
  }),
  scenario("invalid expiration values are refused with 406", async (ctx) => {
    for (const expiration of ["abc", "-5", "12x"]) {
      const { ch } = await ctx.open();
      const q = ctx.name("q");
      await ch.assertQueue(q);
      ch.sendToQueue(q, Buffer.from("x"), { expiration });
      await ctx.attempt(`expiration ${expiration}`, ch.checkQueue(q));
    }
  }),
];

ttlScenarios.push(
  scenario("x-expires deletes a queue left unused, not one with a consumer", async (ctx) => {
    const { ch } = await ctx.open();
    const [idle, used] = [ctx.name("idle"), ctx.name("used")];
    await ch.assertQueue(idle, { expires: 100 });
    await ch.assertQueue(used, { expires: 100 });
    await ch.consume(used, () => {}, { noAck: true });
    await sleep(400);
    const probe = await ctx.open();
    await ctx.attempt("idle still there", probe.ch.checkQueue(idle));
    const probe2 = await ctx.open();
    await ctx.attempt("used still there", probe2.ch.checkQueue(used));
  }),
);
