// Issue 6: the permission matrix. For each grant pattern a non-guest user runs every AMQP
// operation that rabbit_channel checks (configure, write, read, topic), each on a fresh channel,
// against resources guest set up; the outcome (ok, or close code and text) must match RabbitMQ.
import type { Channel, ChannelModel } from "amqplib";
import type { Grant } from "./admin.ts";
import { type Ctx, type Scenario, scenario } from "./scenario.ts";

const counts = (ok: { messageCount: number; consumerCount: number }) => [ok.messageCount, ok.consumerCount];

/**
 * Names guest creates before the user acts: exchanges x (direct), t (topic) and internal, queue
 * q (one message), and excl, a queue exclusive to guest's connection.
 */
interface Names {
  x: string;
  t: string;
  q: string;
  internal: string;
  excl: string;
  mineX: string;
  mineQ: string;
}

async function setup(ctx: Ctx): Promise<Names> {
  const n: Names = {
    x: ctx.name("x"),
    t: ctx.name("t"),
    q: ctx.name("q"),
    internal: ctx.name("internal"),
    excl: ctx.name("excl"),
    mineX: ctx.name("mine-x"),
    mineQ: ctx.name("mine-q"),
  };
  for (const extra of ["mine-ae", "mine-dlq", "other"]) ctx.name(extra); // deleted at cleanup
  const { conn, ch } = await ctx.open();
  await ch.assertExchange(n.x, "direct");
  await ch.assertExchange(n.t, "topic");
  await ch.assertQueue(n.q);
  await ch.bindQueue(n.q, n.x, "k");
  await ch.assertExchange(n.internal, "direct", { internal: true });
  await ch.assertQueue(n.excl, { exclusive: true }); // guest's connection stays open until cleanup
  ctx.publish(ch, "", n.q, "m1");
  await ctx.waitCount(conn, n.q, 1);
  return n;
}

/** Publishes, then a passive declare (needs no permission) as a sync point: "ok" or the close. */
async function publishOutcome(ctx: Ctx, ch: Channel, exchange: string, key: string, opts = {}): Promise<unknown> {
  ctx.publish(ch, exchange, key, "p", opts);
  try {
    await ch.checkExchange("amq.direct");
    return "ok";
  } catch {
    return await ctx.channelClosed(ch);
  }
}

type Op = [label: string, act: (ctx: Ctx, ch: Channel, n: Names) => Promise<unknown>];

/** Every operation, the destructive ones last; each runs on its own channel. */
const OPS: Op[] = [
  ["exchange.declare new", (_c, ch, n) => ch.assertExchange(n.mineX, "direct")],
  ["exchange.declare existing", (_c, ch, n) => ch.assertExchange(n.x, "direct")],
  ["exchange.declare passive", (_c, ch, n) => ch.checkExchange(n.x)],
  ["exchange.declare passive missing", (ctx, ch) => ch.checkExchange(ctx.name("missing-x"))],
  ["exchange.declare amq.direct", (_c, ch) => ch.assertExchange("amq.direct", "direct")],
  ["exchange.declare amq.reserved", (_c, ch) => ch.assertExchange("amq.mine", "direct")],
  [
    "exchange.declare with alternate-exchange",
    (ctx, ch, n) => ch.assertExchange(ctx.name("mine-ae"), "fanout", { alternateExchange: n.x }),
  ],
  ["exchange.bind", (_c, ch, n) => ch.bindExchange(n.x, "amq.fanout", "k")],
  ["exchange.bind to mine", (_c, ch, n) => ch.bindExchange(n.mineX, n.x, "k")],
  ["exchange.unbind", (_c, ch, n) => ch.unbindExchange(n.x, "amq.fanout", "k")],
  ["queue.declare new", (_c, ch, n) => ch.assertQueue(n.mineQ).then(counts)],
  ["queue.declare existing", (_c, ch, n) => ch.assertQueue(n.q).then(counts)],
  ["queue.declare passive", (_c, ch, n) => ch.checkQueue(n.q).then(counts)],
  ["queue.declare passive missing", (ctx, ch) => ch.checkQueue(ctx.name("missing-q")).then(counts)],
  ["queue.declare server-named", (_c, ch) => ch.assertQueue("", { exclusive: true }).then((ok) => ok.queue)],
  [
    "queue.declare with dead-letter-exchange",
    (ctx, ch, n) => ch.assertQueue(ctx.name("mine-dlq"), { deadLetterExchange: n.x }).then(counts),
  ],
  ["queue.bind", (_c, ch, n) => ch.bindQueue(n.q, n.x, "k2")],
  ["queue.bind to amq.direct", (_c, ch, n) => ch.bindQueue(n.q, "amq.direct", "k2")],
  ["queue.bind to the default exchange", (_c, ch, n) => ch.bindQueue(n.q, "", "k2")],
  ["queue.bind mine to missing exchange", (ctx, ch, n) => ch.bindQueue(n.mineQ, ctx.name("missing-x"), "k")],
  ["queue.unbind", (_c, ch, n) => ch.unbindQueue(n.q, n.x, "k2")],
  ["basic.publish to x", (ctx, ch, n) => publishOutcome(ctx, ch, n.x, "k")],
  ["basic.publish to the default exchange", (ctx, ch, n) => publishOutcome(ctx, ch, "", n.q)],
  ["basic.publish to amq.direct", (ctx, ch) => publishOutcome(ctx, ch, "amq.direct", "nowhere")],
  ["basic.publish to a missing exchange", (ctx, ch) => publishOutcome(ctx, ch, ctx.name("missing-x"), "k")],
  ["basic.publish to an internal exchange", (ctx, ch, n) => publishOutcome(ctx, ch, n.internal, "k")],
  ["queue.declare another connection's exclusive queue", (_c, ch, n) => ch.assertQueue(n.excl, { exclusive: true }).then(counts)],
  ["queue.declare passive another connection's exclusive queue", (_c, ch, n) => ch.checkQueue(n.excl).then(counts)],
  ["basic.get from another connection's exclusive queue", (_c, ch, n) => ch.get(n.excl).then((m) => (m === false ? "empty" : "message"))],
  ["basic.get", async (_c, ch, n) => {
    const m = await ch.get(n.q, { noAck: false });
    return m === false ? "empty" : "message";
  }],
  ["basic.consume", async (_c, ch, n) => {
    await ch.consume(n.q, () => {}, { consumerTag: "c1" });
    return "consuming";
  }],
  ["basic.consume missing", (ctx, ch) => ch.consume(ctx.name("missing-q"), () => {}).then(() => "consuming")],
  ["queue.purge", (_c, ch, n) => ch.purgeQueue(n.q).then((ok) => ok.messageCount)],
  ["queue.delete missing", (ctx, ch) => ch.deleteQueue(ctx.name("missing-q")).then((ok) => ok.messageCount)],
  ["exchange.delete missing", (ctx, ch) => ch.deleteExchange(ctx.name("missing-x"))],
  ["exchange.delete amq.direct", (_c, ch) => ch.deleteExchange("amq.direct")],
  ["queue.delete", (_c, ch, n) => ch.deleteQueue(n.q).then((ok) => ok.messageCount)],
  ["exchange.delete", (_c, ch, n) => ch.deleteExchange(n.x)],
];

/** A user with `grant` on "/" runs every operation. */
function matrix(title: string, grant: (ctx: Ctx) => Grant): Scenario {
  return scenario(`permissions ${title}: every operation`, async (ctx) => {
    const n = await setup(ctx);
    const user = await ctx.asUser("u", grant(ctx));
    const conn = await ctx.connectAs(user);
    for (const [label, act] of OPS) {
      const ch = await ctx.channel(conn);
      await ctx.attempt(label, act(ctx, ch, n), (v) => v ?? "ok");
      await ch.close().catch(() => {});
    }
    ctx.record("connection", (await isOpen(ctx, conn)) ? "open" : "closed");
    await ctx.queueState("q after", n.q);
  });
}

async function isOpen(ctx: Ctx, conn: ChannelModel): Promise<boolean> {
  try {
    await (await ctx.channel(conn)).close();
    return true;
  } catch {
    return false;
  }
}

const all = (p: string): Grant => ({ configure: p, write: p, read: p });

export const permissionScenarios: Scenario[] = [
  matrix("'.*' for all", () => all(".*")),
  matrix("'^$' for all", () => all("^$")),
  matrix("'' for all (the same as '^$')", () => all("")),
  matrix("configure only", () => ({ configure: ".*", write: "", read: "" })),
  matrix("write only", () => ({ configure: "", write: ".*", read: "" })),
  matrix("read only", () => ({ configure: "", write: "", read: ".*" })),
  matrix("a regex matching the user's own names", (ctx) => all(`^${ctx.prefix}-mine`)),
  matrix("an unanchored regex", () => all("mine")),
  matrix("amq.default and amq.direct only", () => all("^amq\\.(default|direct)$")),
  matrix(
    "a regex for the shared names",
    (ctx) => ({ configure: `^${ctx.prefix}-(x|q)$`, write: `^${ctx.prefix}-(x|q)$|^amq\\.`, read: `^${ctx.prefix}-x$` }),
  ),

  scenario("permissions: a user without permissions on the vhost is refused at connection.open", async (ctx) => {
    const user = await ctx.asUser("none", null);
    await ctx.tryConnect("connect", user);
  }),
  scenario("permissions: a user with permissions on another vhost only is refused on '/'", async (ctx) => {
    const vhost = await ctx.vhost("v");
    const user = await ctx.asUser("elsewhere", all(".*"), { vhosts: [vhost] });
    await ctx.tryConnect("connect to /", user);
    await ctx.tryConnect("connect to its vhost", user, vhost);
    await ctx.tryConnect("connect to a missing vhost", user, `${vhost}-missing`);
  }),
  scenario("permissions: a user without a password cannot log in", async (ctx) => {
    const user = await ctx.asUser("nopass", all(".*"), { password: null });
    await ctx.tryConnect("connect with a password", user, "/", "pw");
    await ctx.tryConnect("connect with an empty password", user, "/", "");
  }),
  scenario("permissions: a wrong password is refused", async (ctx) => {
    const user = await ctx.asUser("wrong", all(".*"));
    await ctx.tryConnect("connect", user, "/", "not-pw");
    await ctx.tryConnect("connect with the right one", user, "/", "pw");
  }),
  scenario("permissions: user_id must be the user's own name unless it is an impersonator", async (ctx) => {
    const q = ctx.name("q");
    const { ch: guestCh } = await ctx.open();
    await guestCh.assertQueue(q);
    for (const [base, tags] of [["plain", []], ["impersonator", ["impersonator"]]] as const) {
      const user = await ctx.asUser(base, all(".*"), { tags: [...tags] });
      const conn = await ctx.connectAs(user);
      let ch = await ctx.channel(conn);
      ctx.record(`${base}: own user_id`, await publishOutcome(ctx, ch, "", q, { userId: user }));
      ch = await ctx.channel(conn);
      ctx.record(`${base}: another user_id`, await publishOutcome(ctx, ch, "", q, { userId: "guest" }));
    }
    await ctx.queueState("queue", q);
  }),
  topicScenario(),
  scenario("vhost limits: max-connections refuses the connection past the limit", async (ctx) => {
    const vhost = await ctx.vhost("lim", { "max-connections": 1 });
    const user = await ctx.asUser("lim", all(".*"), { vhosts: [vhost] });
    await ctx.tryConnect("first connection", user, vhost);
    await ctx.tryConnect("second connection", user, vhost);
    await ctx.tryConnect("guest to that vhost (no permissions)", "guest", vhost, "guest");
  }),
  scenario("vhost limits: max-queues refuses a new queue past the limit, redeclares are fine", async (ctx) => {
    const vhost = await ctx.vhost("limq", { "max-queues": 1 });
    const user = await ctx.asUser("limq", all(".*"), { vhosts: [vhost] });
    const conn = await ctx.connectAs(user, vhost);
    let ch = await ctx.channel(conn);
    await ctx.attempt("first queue", ch.assertQueue("q1").then(counts));
    await ctx.attempt("first queue again", ch.assertQueue("q1").then(counts));
    await ctx.attempt("second queue", ch.assertQueue("q2").then(counts));
    ch = await ctx.channel(conn);
    await ctx.attempt("server-named queue", ch.assertQueue("", { exclusive: true }).then(() => "declared"));
    ch = await ctx.channel(conn);
    await ctx.attempt("passive declare of a missing queue", ch.checkQueue("q2").then(counts));
    ch = await ctx.channel(conn);
    await ctx.attempt("delete the first", ch.deleteQueue("q1").then((ok) => ok.messageCount));
    await ctx.attempt("second queue after the delete", ch.assertQueue("q2").then(counts));
  }),
  scenario("vhost delete closes its connections with 320", async (ctx) => {
    const vhost = await ctx.vhost("del");
    const user = await ctx.asUser("del", all(".*"), { vhosts: [vhost] });
    const conn = await ctx.connectAs(user, vhost);
    const ch = await ctx.channel(conn);
    await ch.assertQueue("q", { durable: true });
    await ctx.deleteVhost(vhost);
    const closed = await ctx.connectionClosed(conn);
    // RabbitMQ races two closers: connection tracking ("is deleted") and the vhost's supervisor
    // stopping ("is down"); either may win. Warren always says "is deleted".
    if (typeof closed === "object") closed.text = closed.text.replace(/ is down$/, " is deleted");
    ctx.record("connection", closed);
    await ctx.tryConnect("reconnect", user, vhost);
  }),
];

/** Topic permissions: write on publish, read on queue.bind/exchange.bind, topic exchanges only. */
function topicScenario(): Scenario {
  return scenario("topic permissions: routing keys checked on topic exchanges, {username} and {vhost} expanded", async (ctx) => {
    const n = await setup(ctx);
    const user = await ctx.asUser("tu", all(".*"), {
      topic: [
        { exchange: "amq.topic", write: "^{username}\\.", read: "^public\\." },
        { exchange: n.t, write: "^{vhost}$", read: "" },
      ],
    });
    const conn = await ctx.connectAs(user);
    const ops: Op[] = [
      ["publish amq.topic own key", (c, ch) => publishOutcome(c, ch, "amq.topic", `${user}.a`)],
      ["publish amq.topic other key", (c, ch) => publishOutcome(c, ch, "amq.topic", "other.a")],
      ["publish t with the vhost as key", (c, ch, nn) => publishOutcome(c, ch, nn.t, "/")],
      ["publish t with another key", (c, ch, nn) => publishOutcome(c, ch, nn.t, "x")],
      ["publish direct exchange any key", (c, ch, nn) => publishOutcome(c, ch, nn.x, "anything")],
      ["publish amq.topic own key again", (c, ch) => publishOutcome(c, ch, "amq.topic", `${user}.b`)],
      ["queue.bind amq.topic public", (_c, ch, nn) => ch.bindQueue(nn.q, "amq.topic", "public.#")],
      ["queue.bind amq.topic private", (_c, ch, nn) => ch.bindQueue(nn.q, "amq.topic", "private.#")],
      ["queue.unbind amq.topic private", (_c, ch, nn) => ch.unbindQueue(nn.q, "amq.topic", "private.#")],
      ["queue.bind t any key ('' is '^$')", (_c, ch, nn) => ch.bindQueue(nn.q, nn.t, "a")],
      ["queue.bind t empty key", (_c, ch, nn) => ch.bindQueue(nn.q, nn.t, "")],
      ["exchange.bind from amq.topic public", (_c, ch, nn) => ch.bindExchange(nn.x, "amq.topic", "public.x")],
      ["exchange.bind from amq.topic other", (_c, ch, nn) => ch.bindExchange(nn.x, "amq.topic", "x")],
      ["queue.bind amq.direct (not topic)", (_c, ch, nn) => ch.bindQueue(nn.q, "amq.direct", "private.x")],
    ];
    for (const [label, act] of ops) {
      const ch = await ctx.channel(conn);
      await ctx.attempt(label, act(ctx, ch, n), (v) => v ?? "ok");
      await ch.close().catch(() => {});
    }
  });
}
