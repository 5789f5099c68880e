// Issue 5 points 5 and 6: priority queues (x-max-priority) and consumer priorities (x-priority).
import type { Channel } from "amqplib";
import { type Ctx, type Scenario, scenario } from "./scenario.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Publishes body=`<name>` with the given priority (undefined: no priority property). */
function publishPrioritized(ctx: Ctx, ch: Channel, q: string, items: [string, number | undefined][]): void {
  for (const [body, priority] of items) ctx.publish(ch, "", q, body, priority === undefined ? {} : { priority });
}

/** Drains a queue with basic.get, recording bodies in the order they come. */
async function getAll(ctx: Ctx, ch: Channel, q: string, label = "order"): Promise<void> {
  const bodies: string[] = [];
  for (;;) {
    const m = await ch.get(q, { noAck: true });
    if (!m) break;
    bodies.push(m.content.toString());
  }
  ctx.record(label, bodies);
}

export const priorityScenarios: Scenario[] = [
  // Past Warren's in-memory window: most of each level is on disk and cut without being read.
  scenario("priority queue: a max-length policy on a backlog of 8000 persistent messages drops from the highest priority", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q, { durable: true, maxPriority: 4 });
    for (let i = 1; i <= 8000; i++) ctx.publish(ch, "", q, `m${i}`, { persistent: true, priority: i % 5 });
    await ctx.waitCount(conn, q, 8000);
    await ctx.setPolicy("policy", ctx.name("p"), {
      pattern: `^${q.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`,
      definition: { "max-length": 10 },
      "apply-to": "queues",
    });
    ctx.record("count", (await ch.checkQueue(q)).messageCount);
    await getAll(ctx, ch, q, "kept");
  }),
  scenario("priority queue: higher priority first, FIFO within a priority", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q, { maxPriority: 10 });
    publishPrioritized(ctx, ch, q, [["a1", 1], ["b5", 5], ["a2", 1], ["c9", 9], ["b6", 5], ["z0", 0], ["c10", 9]]);
    await ch.checkQueue(q);
    await getAll(ctx, ch, q);
  }),
  scenario("priority queue: no priority property counts as 0, above the maximum counts as the maximum", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q, { maxPriority: 3 });
    publishPrioritized(ctx, ch, q, [["none1", undefined], ["p3", 3], ["p200", 200], ["p0", 0], ["none2", undefined], ["p2", 2], ["p7", 7]]);
    await ch.checkQueue(q);
    await getAll(ctx, ch, q);
  }),
  scenario("plain queue ignores message priority", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q);
    publishPrioritized(ctx, ch, q, [["a", 1], ["b", 9], ["c", 5]]);
    await ch.checkQueue(q);
    await getAll(ctx, ch, q);
  }),
  scenario("priority queue: a consumer attaching to a backlog gets it in priority order", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q, { maxPriority: 5 });
    publishPrioritized(ctx, ch, q, [["l1", 1], ["h1", 5], ["m1", 3], ["l2", 1], ["h2", 5]]);
    await ch.checkQueue(q);
    await ch.prefetch(1);
    const c = await ctx.consume(ch, q, { noAck: false });
    for (let i = 1; i <= 5; i++) {
      await c.waitFor(i);
      ch.ack(c.messages[i - 1]!);
    }
    ctx.record("deliveries", c.bodies());
  }),
  scenario("priority queue: a requeued message goes back to its place within its priority", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q, { maxPriority: 5 });
    publishPrioritized(ctx, ch, q, [["l1", 1], ["h1", 4], ["h2", 4], ["l2", 1]]);
    await ch.checkQueue(q);
    const first = await ch.get(q);
    const second = await ch.get(q);
    ctx.record("got", [first && first.content.toString(), second && second.content.toString()]);
    publishPrioritized(ctx, ch, q, [["h3", 4]]);
    await ch.checkQueue(q);
    if (first) ch.nack(first, false, true);
    if (second) ch.nack(second, false, true);
    await ch.checkQueue(q);
    const redelivered: string[] = [];
    for (;;) {
      const m = await ch.get(q, { noAck: true });
      if (!m) break;
      redelivered.push(`${m.content.toString()}${m.fields.redelivered ? "*" : ""}`);
    }
    ctx.record("after requeue", redelivered);
  }),
  scenario("priority queue: messages published while a consumer is busy wait in priority order", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q, { maxPriority: 9 });
    await ch.prefetch(1);
    const c = await ctx.consume(ch, q, { noAck: false });
    publishPrioritized(ctx, ch, q, [["first", 0]]);
    await c.waitFor(1);
    publishPrioritized(ctx, ch, q, [["p1", 1], ["p9", 9], ["p5", 5], ["p9b", 9]]);
    await ch.checkQueue(q);
    for (let i = 1; i <= 5; i++) {
      await c.waitFor(i);
      ch.ack(c.messages[i - 1]!);
    }
    ctx.record("deliveries", c.bodies());
  }),
  scenario("priority queue: purge and delete count every priority", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q, { maxPriority: 4 });
    publishPrioritized(ctx, ch, q, [["a", 0], ["b", 4], ["c", 2], ["d", 4]]);
    await ctx.waitCount(conn, q, 4);
    ctx.record("purge", (await ch.purgeQueue(q)).messageCount);
    publishPrioritized(ctx, ch, q, [["e", 1], ["f", 3]]);
    await ctx.waitCount(conn, q, 2);
    ctx.record("delete", (await ch.deleteQueue(q)).messageCount);
  }),
  scenario("priority queue: x-max-length drops from the head across priorities", async (ctx) => {
    const { ch } = await ctx.open();
    const [q, dlq] = [ctx.name("q"), ctx.name("dlq")];
    await ch.assertQueue(dlq);
    await ch.assertQueue(q, { maxPriority: 5, maxLength: 2, deadLetterExchange: "", deadLetterRoutingKey: dlq });
    publishPrioritized(ctx, ch, q, [["l1", 1], ["h1", 5], ["l2", 1], ["h2", 5]]);
    await ch.checkQueue(q);
    await getAll(ctx, ch, q, "kept");
    await getAll(ctx, ch, dlq, "dropped");
  }),
  scenario("priority queue: expired messages of every priority are dead-lettered", async (ctx) => {
    const { ch } = await ctx.open();
    const [q, dlq] = [ctx.name("q"), ctx.name("dlq")];
    await ch.assertQueue(dlq);
    await ch.assertQueue(q, { maxPriority: 5, messageTtl: 60, deadLetterExchange: "", deadLetterRoutingKey: dlq });
    publishPrioritized(ctx, ch, q, [["l1", 1], ["h1", 5], ["m1", 3]]);
    await ch.checkQueue(q);
    await sleep(400);
    ctx.record("left", (await ch.checkQueue(q)).messageCount);
    const dead: string[] = [];
    for (;;) {
      const m = await ch.get(dlq, { noAck: true });
      if (!m) break;
      dead.push(m.content.toString());
    }
    ctx.record("dead (sorted)", dead.sort());
  }),
  scenario("priority queue: rejected messages keep their priority when dead-lettered to another priority queue", async (ctx) => {
    const { ch } = await ctx.open();
    const [q, dlq] = [ctx.name("q"), ctx.name("dlq")];
    await ch.assertQueue(dlq, { maxPriority: 5 });
    await ch.assertQueue(q, { maxPriority: 5, deadLetterExchange: "", deadLetterRoutingKey: dlq });
    publishPrioritized(ctx, ch, q, [["l", 1], ["h", 5], ["m", 3]]);
    await ch.checkQueue(q);
    for (;;) {
      const m = await ch.get(q);
      if (!m) break;
      ch.reject(m, false);
    }
    await ch.checkQueue(q);
    await getAll(ctx, ch, dlq, "dead");
  }),
  scenario("x-max-priority: out-of-range and non-integer values are refused", async (ctx) => {
    for (const [label, value] of [["negative", -1], ["too large", 256], ["string", "5"]] as const) {
      const ch = await ctx.channel();
      await ctx.attempt(label, ch.assertQueue(ctx.name(`q-${label.replace(" ", "-")}`), { arguments: { "x-max-priority": value } }));
    }
  }),
  scenario("x-max-priority: redeclaring with a different maximum is refused", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q, { maxPriority: 5 });
    await ctx.attempt("redeclare", ch.assertQueue(q, { maxPriority: 6 }));
  }),
  scenario("x-max-priority 255: every priority from 0 to 255 has its level", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q, { maxPriority: 255 });
    publishPrioritized(ctx, ch, q, [["p0", 0], ["p255", 255], ["p128", 128]]);
    await ch.checkQueue(q);
    await getAll(ctx, ch, q);
  }),

  // ---------------------------------------------------------------------- consumer priorities
  scenario("consumer priorities: the higher-priority consumer gets messages while it has credit", async (ctx) => {
    const { conn } = await ctx.open();
    const q = ctx.name("q");
    const setup = await ctx.channel(conn);
    await setup.assertQueue(q);
    const low = await ctx.channel(conn);
    const high = await ctx.channel(conn);
    await low.prefetch(10);
    await high.prefetch(10);
    const cl = await ctx.consume(low, q, { noAck: false, priority: 0 }, "low");
    const ch2 = await ctx.consume(high, q, { noAck: false, priority: 5 }, "high");
    for (let i = 1; i <= 6; i++) ctx.publish(setup, "", q, `m${i}`);
    await ch2.waitFor(6);
    await sleep(100);
    ctx.record("high", ch2.bodies());
    ctx.record("low", cl.bodies());
  }),
  scenario("consumer priorities: a lower-priority consumer gets messages once the higher one is out of credit", async (ctx) => {
    const { conn } = await ctx.open();
    const q = ctx.name("q");
    const setup = await ctx.channel(conn);
    await setup.assertQueue(q);
    const low = await ctx.channel(conn);
    const high = await ctx.channel(conn);
    await low.prefetch(10);
    await high.prefetch(2);
    const cl = await ctx.consume(low, q, { noAck: false, priority: 1 }, "low");
    const chh = await ctx.consume(high, q, { noAck: false, priority: 10 }, "high");
    for (let i = 1; i <= 5; i++) ctx.publish(setup, "", q, `m${i}`);
    await chh.waitFor(2);
    await cl.waitFor(3);
    ctx.record("high", chh.bodies());
    ctx.record("low", cl.bodies());
    high.ack(chh.messages[1]!, true);
    ctx.publish(setup, "", q, "m6");
    await chh.waitFor(3);
    ctx.record("high after ack", chh.bodies());
  }),
  scenario("consumer priorities: equal priorities share round-robin, negative priorities rank lowest", async (ctx) => {
    const { conn } = await ctx.open();
    const q = ctx.name("q");
    const setup = await ctx.channel(conn);
    await setup.assertQueue(q);
    const neg = await ctx.consume(await ctx.channel(conn), q, { noAck: true, priority: -5 }, "neg");
    const a = await ctx.consume(await ctx.channel(conn), q, { noAck: true, priority: 3 }, "a");
    const b = await ctx.consume(await ctx.channel(conn), q, { noAck: true, priority: 3 }, "b");
    for (let i = 1; i <= 4; i++) ctx.publish(setup, "", q, `m${i}`);
    await a.waitFor(2);
    await b.waitFor(2);
    await sleep(100);
    ctx.record("a", a.bodies());
    ctx.record("b", b.bodies());
    ctx.record("neg", neg.bodies());
  }),
  scenario("consumer priorities: x-priority must be an integer", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q);
    await ctx.attempt("consume", ch.consume(q, () => {}, { arguments: { "x-priority": "high" } }), (r) => typeof r.consumerTag);
  }),
  scenario("x-cancel-on-ha-failover is accepted as a boolean and refused otherwise", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q);
    await ctx.attempt("boolean", ch.consume(q, () => {}, { arguments: { "x-cancel-on-ha-failover": true } }), (r) => typeof r.consumerTag);
    await ctx.attempt("string", ch.consume(q, () => {}, { arguments: { "x-cancel-on-ha-failover": "yes" } }), (r) => typeof r.consumerTag);
  }),
];
