// Issue 5 point 8: queue types (x-queue-type classic and quorum on one node), x-delivery-limit
// with the x-delivery-count header, and the validation of the non-numeric queue arguments.
import type { Channel, GetMessage } from "amqplib";
import { type Ctx, type Scenario, scenario } from "./scenario.ts";

const QUORUM = { durable: true, arguments: { "x-queue-type": "quorum" } };

function view(m: GetMessage | false): unknown {
  if (!m) return "empty";
  const headers: Record<string, unknown> = { ...(m.properties.headers ?? {}) };
  const death = headers["x-death"] as Record<string, unknown>[] | undefined;
  if (death) headers["x-death"] = death.map(({ time: _t, ...rest }) => rest);
  return { body: m.content.toString(), redelivered: m.fields.redelivered, headers };
}

/** Declares with the given options on a fresh channel and records the outcome. */
async function declare(ctx: Ctx, label: string, name: string, opts: Parameters<Channel["assertQueue"]>[1]): Promise<void> {
  const ch = await ctx.channel();
  await ctx.attempt(label, ch.assertQueue(name, opts), (ok) => ({ messages: ok.messageCount, consumers: ok.consumerCount }));
}

export const queueTypeScenarios: Scenario[] = [
  scenario("quorum queue: declared durable, publish and get work; the first get has x-delivery-count 0 or none", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.name("qq");
    await declare(ctx, "declare", q, QUORUM);
    ctx.publish(ch, "", q, "m1", { headers: { a: 1 } });
    await ctx.waitCount(conn, q, 1);
    ctx.record("get", view(await ch.get(q, { noAck: true })));
  }),
  scenario("quorum queue: non-durable, exclusive, auto-delete and server-named declarations are refused", async (ctx) => {
    await declare(ctx, "non-durable", ctx.name("a"), { durable: false, arguments: QUORUM.arguments });
    await declare(ctx, "exclusive", ctx.name("b"), { durable: true, exclusive: true, arguments: QUORUM.arguments });
    await declare(ctx, "auto-delete", ctx.name("c"), { durable: true, autoDelete: true, arguments: QUORUM.arguments });
    await declare(ctx, "all three", ctx.name("d"), { durable: false, exclusive: true, autoDelete: true, arguments: QUORUM.arguments });
    await declare(ctx, "server-named", "", QUORUM);
  }),
  scenario("queue types: arguments of another queue type are refused", async (ctx) => {
    await declare(ctx, "quorum with x-max-priority", ctx.name("a"), {
      durable: true,
      arguments: { ...QUORUM.arguments, "x-max-priority": 5 },
    });
    await declare(ctx, "quorum with x-queue-mode", ctx.name("b"), {
      durable: true,
      arguments: { ...QUORUM.arguments, "x-queue-mode": "lazy" },
    });
    await declare(ctx, "classic with x-delivery-limit", ctx.name("c"), { durable: true, arguments: { "x-delivery-limit": 3 } });
    await declare(ctx, "classic with x-quorum-initial-group-size", ctx.name("d"), {
      durable: true,
      arguments: { "x-quorum-initial-group-size": 3 },
    });
    await declare(ctx, "unknown x- argument is ignored", ctx.name("e"), {
      durable: true,
      arguments: { ...QUORUM.arguments, "x-whatever": 1 },
    });
  }),
  scenario("queue types: unknown or non-string x-queue-type is refused", async (ctx) => {
    await declare(ctx, "unknown", ctx.name("a"), { durable: true, arguments: { "x-queue-type": "fast" } });
    await declare(ctx, "number", ctx.name("b"), { durable: true, arguments: { "x-queue-type": 1 } });
    await declare(ctx, "classic explicitly", ctx.name("c"), { durable: false, arguments: { "x-queue-type": "classic" } });
  }),
  scenario(
    "queue types: a quorum queue with arguments redeclared without x-queue-type names x-queue-type, in RabbitMQ's order",
    async (ctx) => {
      const q = ctx.name("qq");
      await declare(ctx, "quorum with max-length and delivery-limit", q, {
        durable: true,
        arguments: { ...QUORUM.arguments, "x-max-length": 5, "x-delivery-limit": 3 },
      });
      await declare(ctx, "same arguments, no type", q, { durable: true, arguments: { "x-max-length": 5, "x-delivery-limit": 3 } });
      await declare(ctx, "only delivery-limit", q, { durable: true, arguments: { "x-delivery-limit": 3 } });
      await declare(ctx, "x-max-priority (not a quorum argument)", q, { durable: true, arguments: { "x-max-priority": 5 } });
      await declare(ctx, "delivery-limit and message-ttl differ", q, {
        durable: true,
        arguments: { ...QUORUM.arguments, "x-max-length": 5, "x-delivery-limit": 4, "x-message-ttl": 9 },
      });
      await declare(ctx, "classic arguments are not compared nor validated", q, {
        durable: true,
        arguments: { ...QUORUM.arguments, "x-max-length": 5, "x-delivery-limit": 3, "x-max-priority": 300, "x-queue-mode": "lazy" },
      });
      await declare(ctx, "x-dead-letter-exchange of the wrong type", q, {
        durable: true,
        arguments: { ...QUORUM.arguments, "x-max-length": 5, "x-delivery-limit": 3, "x-dead-letter-exchange": 5 },
      });
    },
  ),
  scenario("queue types: redeclaring a classic queue compares its arguments only, without validating them", async (ctx) => {
    const q = ctx.name("cq");
    await declare(ctx, "classic", q, { durable: true });
    await declare(ctx, "with x-delivery-limit", q, { durable: true, arguments: { "x-delivery-limit": 3 } });
    await declare(ctx, "with a negative x-max-length", q, { durable: true, arguments: { "x-max-length": -1 } });
    await declare(ctx, "as an unknown type", q, { durable: true, arguments: { "x-queue-type": "bogus" } });
    await declare(ctx, "as quorum with x-max-length", q, { durable: true, arguments: { "x-queue-type": "quorum", "x-max-length": 3 } });
    await declare(ctx, "as classic explicitly", q, { durable: true, arguments: { "x-queue-type": "classic" } });
  }),
  scenario("queue types: redeclare arguments are compared in each type's order", async (ctx) => {
    const every: Record<string, unknown> = {
      "x-expires": 1000,
      "x-message-ttl": 1000,
      "x-dead-letter-exchange": "d",
      "x-dead-letter-routing-key": "r",
      "x-dead-letter-strategy": "at-most-once",
      "x-max-length": 1,
      "x-max-length-bytes": 1,
      "x-max-in-memory-length": 1,
      "x-max-in-memory-bytes": 1,
      "x-overflow": "drop-head",
      "x-single-active-consumer": true,
      "x-quorum-initial-group-size": 1,
      "x-delivery-limit": 1,
      "x-max-priority": 1,
      "x-queue-mode": "lazy",
      "x-queue-version": 2,
      "x-max-age": "1D",
      "x-queue-master-locator": "min-masters",
      "x-queue-leader-locator": "balanced",
    };
    for (const type of ["quorum", "classic"]) {
      const q = ctx.name(type);
      await declare(ctx, `${type}: declare`, q, { durable: true, arguments: { "x-queue-type": type } });
      // Each round sends every remaining argument differently (x-queue-type left out) and drops the one named.
      const remaining = { ...every };
      for (let round = 0; round < 21; round++) {
        const ch = await ctx.channel();
        let named: string | undefined;
        await ctx.attempt(
          `${type}: round ${round}`,
          ch.assertQueue(q, { durable: true, arguments: { ...remaining } }).catch((err: Error) => {
            named = /inequivalent arg '([^']+)'/.exec(err.message)?.[1];
            throw err;
          }),
        );
        if (named === undefined) break;
        delete remaining[named];
        if (named === "x-queue-type") break;
      }
    }
  }),
  scenario("queue types: redeclaring a quorum queue as classic is refused", async (ctx) => {
    const q = ctx.name("qq");
    await declare(ctx, "quorum", q, QUORUM);
    await declare(ctx, "as classic", q, { durable: true });
    await declare(ctx, "as quorum again", q, QUORUM);
  }),
  scenario("quorum queue: a requeued message comes back with x-delivery-count counting its returns", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.name("qq");
    await ch.assertQueue(q, QUORUM);
    ctx.publish(ch, "", q, "m1");
    await ctx.waitCount(conn, q, 1);
    for (let i = 0; i < 3; i++) {
      const m = await ch.get(q);
      ctx.record(`get ${i}`, view(m));
      if (m) ch.nack(m, false, true);
    }
    const last = await ch.get(q, { noAck: true });
    ctx.record("last", view(last));
  }),
  scenario("quorum queue: x-delivery-limit dead-letters with reason delivery_limit", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const [q, dlq] = [ctx.name("qq"), ctx.name("dlq")];
    await ch.assertQueue(dlq);
    await ch.assertQueue(q, {
      durable: true,
      arguments: { ...QUORUM.arguments, "x-delivery-limit": 1, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq },
    });
    ctx.publish(ch, "", q, "m1");
    await ctx.waitCount(conn, q, 1);
    for (let i = 0; i < 3; i++) {
      const m = await ch.get(q);
      ctx.record(`get ${i}`, m ? m.content.toString() : "empty");
      if (m) ch.nack(m, false, true);
    }
    await ctx.waitCount(conn, dlq, 1);
    ctx.record("dead", view(await ch.get(dlq, { noAck: true })));
  }),
  scenario("quorum queue: a consumer past x-delivery-limit sees the message dropped without a dead-letter exchange", async (ctx) => {
    const { ch } = await ctx.open();
    const q = ctx.name("qq");
    await ch.assertQueue(q, { durable: true, arguments: { ...QUORUM.arguments, "x-delivery-limit": 1 } });
    const c = await ctx.consume(ch, q, { noAck: false });
    ctx.publish(ch, "", q, "m1");
    await c.waitFor(1);
    ch.nack(c.messages[0]!, false, true);
    await c.waitFor(2);
    ch.nack(c.messages[1]!, false, true);
    await new Promise((r) => setTimeout(r, 200));
    ctx.record("deliveries", c.messages.map((m) => ({ redelivered: m.fields.redelivered, headers: m.properties.headers ?? null })));
    ctx.record("left", (await ch.checkQueue(q)).messageCount);
  }),
  scenario("quorum queue: delete with if-unused or if-empty is not implemented", async (ctx) => {
    const q = ctx.name("qq");
    const ch = await ctx.channel();
    await ch.assertQueue(q, QUORUM);
    await ctx.attempt("if-unused", ch.deleteQueue(q, { ifUnused: true }));
    const ch2 = await ctx.channel();
    await ctx.attempt("if-empty", ch2.deleteQueue(q, { ifEmpty: true }));
  }),
  scenario("quorum queue: consuming under a global prefetch is not implemented", async (ctx) => {
    const q = ctx.name("qq");
    const ch = await ctx.channel();
    await ch.assertQueue(q, QUORUM);
    await ch.prefetch(5, true);
    await ctx.attempt("consume", ch.consume(q, () => {}), (r) => typeof r.consumerTag);
  }),
  scenario("quorum queue: x-priority is a consumer argument, x-cancel-on-ha-failover is refused", async (ctx) => {
    const q = ctx.name("qq");
    const ch = await ctx.channel();
    await ch.assertQueue(q, QUORUM);
    await ctx.attempt("x-priority", ch.consume(q, () => {}, { arguments: { "x-priority": 3 } }), (r) => typeof r.consumerTag);
    await ctx.attempt(
      "x-cancel-on-ha-failover",
      ch.consume(q, () => {}, { arguments: { "x-cancel-on-ha-failover": true } }),
      (r) => typeof r.consumerTag,
    );
  }),
  scenario("quorum queue: nack requeue puts messages at the back of the queue, in return order", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.name("qq");
    await ch.assertQueue(q, QUORUM);
    for (const b of ["m1", "m2", "m3", "m4"]) ctx.publish(ch, "", q, b);
    await ctx.waitCount(conn, q, 4);
    const got = [await ch.get(q), await ch.get(q), await ch.get(q)];
    ch.nack(got[2] as GetMessage, false, true);
    ch.nack(got[0] as GetMessage, false, true);
    await ctx.waitCount(conn, q, 3);
    const order: string[] = [];
    for (;;) {
      const m = await ch.get(q, { noAck: true });
      if (!m) break;
      order.push(m.content.toString());
    }
    ctx.record("order", order);
  }),
  scenario("quorum queue: x-max-length with drop-head and reject-publish", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const [q1, q2] = [ctx.name("drop"), ctx.name("reject")];
    await ch.assertQueue(q1, { durable: true, arguments: { ...QUORUM.arguments, "x-max-length": 2 } });
    await ch.assertQueue(q2, { durable: true, arguments: { ...QUORUM.arguments, "x-max-length": 2, "x-overflow": "reject-publish" } });
    const cc = await ctx.confirmChannel(conn);
    const log = ctx.confirms(cc);
    for (const b of ["a", "b", "c"]) ctx.publish(cc, "", q1, b);
    await cc.waitForConfirms();
    for (const b of ["a", "b", "c"]) ctx.publish(cc, "", q2, b);
    await cc.waitForConfirms().catch(() => undefined);
    // Quorum queues reject once over the limit: the message that crossed it was accepted.
    ctx.publish(cc, "", q2, "d");
    await cc.waitForConfirms().catch(() => undefined);
    ctx.record("acked", log.acked);
    ctx.record("nacked", log.nacked);
    const bodies = async (q: string) => {
      const out: string[] = [];
      for (let m = await ch.get(q, { noAck: true }); m; m = await ch.get(q, { noAck: true })) out.push(m.content.toString());
      return out;
    };
    ctx.record("drop-head kept", await bodies(q1));
    ctx.record("reject-publish kept", await bodies(q2));
    const ch3 = await ctx.channel();
    await ctx.attempt(
      "reject-publish-dlx",
      ch3.assertQueue(ctx.name("dlx"), { durable: true, arguments: { ...QUORUM.arguments, "x-overflow": "reject-publish-dlx" } }),
    );
  }),

  // ------------------------------------------------------------- non-numeric argument checks
  scenario("queue arguments: x-queue-mode and x-queue-version values", async (ctx) => {
    await declare(ctx, "lazy", ctx.name("a"), { arguments: { "x-queue-mode": "lazy" } });
    await declare(ctx, "default", ctx.name("b"), { arguments: { "x-queue-mode": "default" } });
    await declare(ctx, "fast", ctx.name("c"), { arguments: { "x-queue-mode": "fast" } });
    await declare(ctx, "mode number", ctx.name("d"), { arguments: { "x-queue-mode": 1 } });
    await declare(ctx, "version 2", ctx.name("e"), { arguments: { "x-queue-version": 2 } });
    await declare(ctx, "version 3", ctx.name("f"), { arguments: { "x-queue-version": 3 } });
    await declare(ctx, "version string", ctx.name("g"), { arguments: { "x-queue-version": "2" } });
  }),
  scenario("queue arguments: x-overflow values", async (ctx) => {
    await declare(ctx, "drop-head", ctx.name("a"), { arguments: { "x-overflow": "drop-head" } });
    await declare(ctx, "unknown", ctx.name("b"), { arguments: { "x-overflow": "drop-tail" } });
    await declare(ctx, "number", ctx.name("c"), { arguments: { "x-overflow": 1 } });
  }),
  scenario("queue arguments: dead-letter exchange and routing key types", async (ctx) => {
    await declare(ctx, "dlx number", ctx.name("a"), { arguments: { "x-dead-letter-exchange": 5 } });
    await declare(ctx, "routing key without dlx", ctx.name("b"), { arguments: { "x-dead-letter-routing-key": "k" } });
    await declare(ctx, "routing key number", ctx.name("c"), {
      arguments: { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": 5 },
    });
    await declare(ctx, "dlx to a missing exchange is accepted", ctx.name("d"), { arguments: { "x-dead-letter-exchange": "nowhere" } });
  }),
  scenario("queue arguments: quorum-only values on a quorum queue", async (ctx) => {
    await declare(ctx, "delivery-limit string", ctx.name("a"), {
      durable: true,
      arguments: { ...QUORUM.arguments, "x-delivery-limit": "3" },
    });
    await declare(ctx, "delivery-limit negative", ctx.name("b"), {
      durable: true,
      arguments: { ...QUORUM.arguments, "x-delivery-limit": -1 },
    });
    await declare(ctx, "initial group size 0", ctx.name("c"), {
      durable: true,
      arguments: { ...QUORUM.arguments, "x-quorum-initial-group-size": 0 },
    });
    await declare(ctx, "dead-letter-strategy unknown", ctx.name("d"), {
      durable: true,
      arguments: { ...QUORUM.arguments, "x-dead-letter-strategy": "sometimes" },
    });
    await declare(ctx, "initial group size 3", ctx.name("e"), {
      durable: true,
      arguments: { ...QUORUM.arguments, "x-quorum-initial-group-size": 3 },
    });
  }),
];
