// Issue 5 point 10: policies and operator policies, applied to new and existing queues and
// exchanges, combined with queue arguments as RabbitMQ combines them.
import type { Channel, ChannelModel } from "amqplib";
import { type Ctx, type Scenario, scenario } from "./scenario.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A pattern matching exactly one of this scenario's names. */
const only = (name: string) => `^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`;

async function bodies(ch: Channel, q: string): Promise<string[]> {
  const out: string[] = [];
  for (let m = await ch.get(q, { noAck: true }); m; m = await ch.get(q, { noAck: true })) out.push(m.content.toString());
  return out;
}

async function publishN(ctx: Ctx, conn: ChannelModel, ch: Channel, q: string, n: number, prefix = "m"): Promise<void> {
  for (let i = 1; i <= n; i++) ctx.publish(ch, "", q, `${prefix}${i}`);
  await ch.checkQueue(q);
  await sleep(50);
  void conn;
}

export const policyScenarios: Scenario[] = [
  // Past Warren's in-memory window (4,096 persistent messages) and a page, so the cut on disk is
  // counted without reading it (Backlog.cutOldest).
  scenario(
    "policy: max-length with a dead-letter exchange on a backlog of 8000 persistent messages dead-letters the oldest in order",
    async (ctx) => {
      const { conn, ch } = await ctx.open();
      const [q, dlq] = [ctx.name("q"), ctx.name("dlq")];
      await ch.assertQueue(q, { durable: true });
      await ch.assertQueue(dlq, { durable: true });
      for (let i = 1; i <= 8000; i++) ctx.publish(ch, "", q, `m${i}`, { persistent: true });
      await ctx.waitCount(conn, q, 8000);
      await ctx.setPolicy("policy", ctx.name("p"), {
        pattern: only(q),
        definition: { "max-length": 10, "dead-letter-exchange": "", "dead-letter-routing-key": dlq },
        "apply-to": "queues",
      });
      ctx.record("count", (await ch.checkQueue(q)).messageCount);
      await ctx.waitCount(conn, dlq, 7990);
      const dead = await bodies(ch, dlq);
      ctx.record("dead", { count: dead.length, inOrder: dead.every((b, i) => b === `m${i + 1}`) });
      ctx.record("kept", await bodies(ch, q));
    },
  ),
  scenario("policy: max-length-bytes on a backlog of 8000 persistent messages keeps the newest that fit", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q, { durable: true });
    // Bodies of 100 bytes; 1,050 bytes hold 10 of them.
    for (let i = 1; i <= 8000; i++) ctx.publish(ch, "", q, `m${i}`.padEnd(100, "."), { persistent: true });
    await ctx.waitCount(conn, q, 8000);
    await ctx.setPolicy("policy", ctx.name("p"), { pattern: only(q), definition: { "max-length-bytes": 1050 }, "apply-to": "queues" });
    ctx.record("count", (await ch.checkQueue(q)).messageCount);
    ctx.record("kept", (await bodies(ch, q)).map((b) => b.replace(/\.+$/, "")));
  }),
  scenario("policy: max-length applies to an existing queue at once, dropping from the head", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q);
    await publishN(ctx, conn, ch, q, 5);
    await ctx.setPolicy("policy", ctx.name("p"), { pattern: only(q), definition: { "max-length": 2 }, "apply-to": "queues" });
    ctx.record("count", (await ch.checkQueue(q)).messageCount);
    ctx.record("kept", await bodies(ch, q));
  }),
  scenario("policy: message-ttl and dead-letter-exchange from a policy expire messages to the dead-letter queue", async (ctx) => {
    const { ch } = await ctx.open();
    const [q, dlq] = [ctx.name("q"), ctx.name("dlq")];
    await ch.assertQueue(dlq);
    await ctx.setPolicy("policy", ctx.name("p"), {
      pattern: only(q),
      definition: { "message-ttl": 50, "dead-letter-exchange": "", "dead-letter-routing-key": dlq },
    });
    await ch.assertQueue(q);
    ctx.publish(ch, "", q, "t1");
    await ch.checkQueue(q);
    await sleep(300);
    ctx.record("left", (await ch.checkQueue(q)).messageCount);
    const m = await ch.get(dlq, { noAck: true });
    const death = m
      ? (m.properties.headers?.["x-death"] as unknown as Record<string, unknown>[]).map(({ time: _t, ...rest }) => rest)
      : null;
    ctx.record("dead", m ? { body: m.content.toString(), death } : "empty");
  }),
  scenario("policy: the lower of argument and policy wins for max-length", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const [q1, q2] = [ctx.name("arg-lower"), ctx.name("policy-lower")];
    await ch.assertQueue(q1, { maxLength: 2 });
    await ch.assertQueue(q2, { maxLength: 4 });
    await ctx.setPolicy("policy", ctx.name("p"), { pattern: `^${ctx.prefix}-(arg|policy)-lower$`, definition: { "max-length": 3 } });
    await publishN(ctx, conn, ch, q1, 5);
    await publishN(ctx, conn, ch, q2, 5);
    ctx.record("arg 2, policy 3", await bodies(ch, q1));
    ctx.record("arg 4, policy 3", await bodies(ch, q2));
  }),
  scenario("policy: the queue's dead-letter arguments win over the policy's", async (ctx) => {
    const { ch } = await ctx.open();
    const [q, byArg, byPolicy] = [ctx.name("q"), ctx.name("by-arg"), ctx.name("by-policy")];
    await ch.assertQueue(byArg);
    await ch.assertQueue(byPolicy);
    await ch.assertQueue(q, { deadLetterExchange: "", deadLetterRoutingKey: byArg });
    await ctx.setPolicy("policy", ctx.name("p"), {
      pattern: only(q),
      definition: { "dead-letter-exchange": "", "dead-letter-routing-key": byPolicy },
    });
    ctx.publish(ch, "", q, "r1");
    await ch.checkQueue(q);
    const m = await ch.get(q);
    if (m) ch.reject(m, false);
    await ch.checkQueue(q);
    await sleep(50);
    ctx.record("by-arg", await bodies(ch, byArg));
    ctx.record("by-policy", await bodies(ch, byPolicy));
  }),
  scenario("policy: the highest priority matching policy is the one applied", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q);
    await ctx.setPolicy("policy", ctx.name("low"), { pattern: only(q), definition: { "max-length": 1 }, priority: 1 });
    await ctx.setPolicy("policy", ctx.name("high"), { pattern: `^${ctx.prefix}-`, definition: { "max-length": 3 }, priority: 5 });
    await publishN(ctx, conn, ch, q, 5);
    ctx.record("kept", await bodies(ch, q));
  }),
  scenario("operator policy: caps a policy's max-length and applies alone too", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const [q1, q2] = [ctx.name("both"), ctx.name("op-only")];
    await ch.assertQueue(q1);
    await ch.assertQueue(q2);
    await ctx.setPolicy("policy", ctx.name("p"), { pattern: only(q1), definition: { "max-length": 10 } });
    await ctx.setPolicy("operator_policy", ctx.name("op"), { pattern: `^${ctx.prefix}-(both|op-only)$`, definition: { "max-length": 2 } });
    await publishN(ctx, conn, ch, q1, 4);
    await publishN(ctx, conn, ch, q2, 4);
    ctx.record("policy 10, operator 2", await bodies(ch, q1));
    ctx.record("operator 2", await bodies(ch, q2));
  }),
  scenario("policy: clearing a policy lifts its limit", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q);
    const p = ctx.name("p");
    await ctx.setPolicy("policy", p, { pattern: only(q), definition: { "max-length": 1 } });
    await publishN(ctx, conn, ch, q, 3, "a");
    await ctx.clearPolicy("policy", p);
    await publishN(ctx, conn, ch, q, 3, "b");
    ctx.record("kept", await bodies(ch, q));
  }),
  scenario("policy: apply-to exchanges does not touch queues, apply-to queues does not touch exchanges", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const [q, x, ae, aeq] = [ctx.name("q"), ctx.name("x"), ctx.name("ae"), ctx.name("aeq")];
    await ch.assertQueue(q);
    await ch.assertExchange(x, "direct");
    await ch.assertExchange(ae, "fanout");
    await ch.assertQueue(aeq);
    await ch.bindQueue(aeq, ae, "");
    await ctx.setPolicy("policy", ctx.name("px"), {
      pattern: `^${ctx.prefix}-(q|x)$`,
      definition: { "max-length": 1 },
      "apply-to": "exchanges",
    });
    await ctx.setPolicy("policy", ctx.name("pq"), {
      pattern: `^${ctx.prefix}-(q|x)$`,
      definition: { "alternate-exchange": ae },
      "apply-to": "queues",
      priority: 1,
    });
    await publishN(ctx, conn, ch, q, 3);
    ctx.publish(ch, x, "nowhere", "unrouted");
    await ch.checkQueue(aeq);
    await sleep(50);
    ctx.record("queue kept", await bodies(ch, q));
    ctx.record("alternate got", await bodies(ch, aeq));
  }),
  scenario("policy: alternate-exchange from a policy, unless the exchange has the argument", async (ctx) => {
    const { ch } = await ctx.open();
    const [x1, x2, ae1, ae2, q1, q2] = [ctx.name("x1"), ctx.name("x2"), ctx.name("ae1"), ctx.name("ae2"), ctx.name("q1"), ctx.name("q2")];
    for (const [ae, q] of [[ae1, q1], [ae2, q2]] as const) {
      await ch.assertExchange(ae, "fanout");
      await ch.assertQueue(q);
      await ch.bindQueue(q, ae, "");
    }
    await ch.assertExchange(x1, "direct");
    await ch.assertExchange(x2, "direct", { alternateExchange: ae2 });
    await ctx.setPolicy("policy", ctx.name("p"), {
      pattern: `^${ctx.prefix}-x[12]$`,
      definition: { "alternate-exchange": ae1 },
      "apply-to": "exchanges",
    });
    ctx.publish(ch, x1, "k", "from-x1");
    ctx.publish(ch, x2, "k", "from-x2");
    await ch.checkQueue(q1);
    await sleep(50);
    ctx.record("ae1 (policy)", await bodies(ch, q1));
    ctx.record("ae2 (argument)", await bodies(ch, q2));
  }),
  scenario("policy: expires deletes an unused queue", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q);
    await ctx.setPolicy("policy", ctx.name("p"), { pattern: only(q), definition: { expires: 100 } });
    await sleep(400);
    const probe = await ctx.open();
    await ctx.attempt("gone", probe.ch.checkQueue(q));
  }),
  scenario("policy: overflow reject-publish from a policy nacks publishes past max-length", async (ctx) => {
    const { conn } = await ctx.open();
    const q = ctx.name("q");
    const cc = await ctx.confirmChannel(conn);
    await cc.assertQueue(q);
    await ctx.setPolicy("policy", ctx.name("p"), { pattern: only(q), definition: { "max-length": 2, overflow: "reject-publish" } });
    const log = ctx.confirms(cc);
    for (const b of ["a", "b", "c"]) ctx.publish(cc, "", q, b);
    await cc.waitForConfirms().catch(() => undefined);
    ctx.record("acked", log.acked);
    ctx.record("nacked", log.nacked);
  }),
  scenario("policy: delivery-limit from a policy applies to a quorum queue", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const [q, dlq] = [ctx.name("qq"), ctx.name("dlq")];
    await ch.assertQueue(dlq);
    await ctx.setPolicy("policy", ctx.name("p"), {
      pattern: only(q),
      definition: { "delivery-limit": 0, "dead-letter-exchange": "", "dead-letter-routing-key": dlq },
      "apply-to": "queues",
    });
    await ch.assertQueue(q, { durable: true, arguments: { "x-queue-type": "quorum" } });
    ctx.publish(ch, "", q, "m1");
    await ctx.waitCount(conn, q, 1);
    const m = await ch.get(q);
    if (m) ch.nack(m, false, true);
    await ctx.waitCount(conn, dlq, 1);
    ctx.record("left", (await ch.checkQueue(q)).messageCount);
    const dead = await ch.get(dlq, { noAck: true });
    ctx.record("dead reason", dead ? (dead.properties.headers?.["x-first-death-reason"] ?? null) : "empty");
  }),
];
