// Issue 5 point 1 (beyond exchange-to-exchange bindings, in routing): alternate exchanges and
// sender-selected distribution (CC / BCC headers).
import { type Scenario, scenario } from "./scenario.ts";

export const extensionScenarios: Scenario[] = [
  scenario("alternate exchange receives what its exchange routes nowhere", async (ctx) => {
    const { ch } = await ctx.open();
    const [x, ae, q, aq] = [ctx.name("x"), ctx.name("ae"), ctx.name("q"), ctx.name("aq")];
    await ch.assertExchange(ae, "fanout");
    await ctx.attempt("declare x with alternate-exchange", ch.assertExchange(x, "direct", { alternateExchange: ae }));
    await ch.assertQueue(q);
    await ch.assertQueue(aq);
    await ch.bindQueue(q, x, "k");
    await ch.bindQueue(aq, ae, "");
    ch.publish(x, "k", Buffer.from("routed"));
    ch.publish(x, "other", Buffer.from("unrouted"));
    await ch.checkQueue(q);
    ctx.record("q", (await ctx.drain(ch, q)).map((m) => m.body));
    ctx.record("aq", (await ctx.drain(ch, aq)).map((m) => m.body));
  }),
  scenario("alternate exchange: a mandatory message it takes is not returned; a missing one is ignored", async (ctx) => {
    const conn = await ctx.connect();
    const ch = await ctx.confirmChannel(conn);
    const [x, ae, y, aq] = [ctx.name("x"), ctx.name("ae"), ctx.name("y"), ctx.name("aq")];
    await ch.assertExchange(ae, "fanout");
    await ch.assertExchange(x, "direct", { alternateExchange: ae });
    await ch.assertExchange(y, "direct", { alternateExchange: ctx.name("missing") });
    await ch.assertQueue(aq);
    await ch.bindQueue(aq, ae, "");
    const log = ctx.confirms(ch);
    ctx.publish(ch, x, "nowhere", "via-ae", { mandatory: true });
    ctx.publish(ch, y, "nowhere", "lost", { mandatory: true });
    await ch.waitForConfirms();
    ctx.record("returned", log.returns);
    ctx.record("aq", (await ctx.drain(ch, aq)).map((m) => m.body));
  }),
  scenario("alternate exchanges chain, and a cycle of them ends", async (ctx) => {
    const { ch } = await ctx.open();
    const [a, b, q] = [ctx.name("a"), ctx.name("b"), ctx.name("q")];
    await ch.assertExchange(a, "direct", { alternateExchange: b });
    await ch.assertExchange(b, "direct", { alternateExchange: a });
    await ch.assertQueue(q);
    await ch.bindQueue(q, b, "k");
    ch.publish(a, "k", Buffer.from("a-then-b"));
    ch.publish(a, "z", Buffer.from("cycle"));
    await ch.checkQueue(q);
    ctx.record("q", (await ctx.drain(ch, q)).map((m) => m.body));
  }),
  scenario("CC routes copies by the extra keys; BCC does too and is removed before delivery", async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.name("x");
    const [q1, q2, q3] = [ctx.name("q1"), ctx.name("q2"), ctx.name("q3")];
    await ch.assertExchange(x, "direct");
    for (const [q, k] of [[q1, "k1"], [q2, "k2"], [q3, "k3"]] as const) {
      await ch.assertQueue(q);
      await ch.bindQueue(q, x, k);
    }
    ch.publish(x, "k1", Buffer.from("m"), { headers: { CC: ["k2"], BCC: ["k3"], keep: "yes" } });
    await ch.checkQueue(q1);
    for (const q of [q1, q2, q3]) {
      const m = await ch.get(q, { noAck: true });
      ctx.record(q, m ? { body: m.content.toString(), headers: m.properties.headers ?? null } : null);
    }
  }),
  scenario("CC through the default exchange names queues", async (ctx) => {
    const { ch } = await ctx.open();
    const [q1, q2] = [ctx.name("q1"), ctx.name("q2")];
    await ch.assertQueue(q1);
    await ch.assertQueue(q2);
    ch.sendToQueue(q1, Buffer.from("both"), { headers: { CC: [q2, q2] } });
    await ch.checkQueue(q1);
    ctx.record("q1", (await ctx.drain(ch, q1)).map((m) => m.body));
    ctx.record("q2", (await ctx.drain(ch, q2)).map((m) => m.body));
  }),
];
