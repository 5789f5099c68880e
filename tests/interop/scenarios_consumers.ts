// Issue 5 point 6: single active consumer.
import { type Scenario, scenario } from "./scenario.ts";

export const consumerScenarios: Scenario[] = [
  scenario("single active consumer: only the first consumer receives; the next takes over when it cancels", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q, { arguments: { "x-single-active-consumer": true } });
    const c1 = await ctx.consume(ch, q, { noAck: true });
    const c2 = await ctx.consume(ch, q, { noAck: true });
    for (const b of ["m1", "m2", "m3"]) ch.sendToQueue(q, Buffer.from(b));
    await c1.waitFor(3);
    ctx.record("c1", c1.bodies());
    ctx.record("c2", c2.bodies());
    await ch.cancel(c1.tag);
    for (const b of ["m4", "m5"]) ch.sendToQueue(q, Buffer.from(b));
    await c2.waitFor(2);
    ctx.record("c2 after cancel", c2.bodies());
  }),
  scenario("single active consumer: a non-boolean argument is refused", async (ctx) => {
    const { ch } = await ctx.open();
    await ctx.attempt("declare", ch.assertQueue(ctx.name("q"), { arguments: { "x-single-active-consumer": "yes" } }));
  }),
];
