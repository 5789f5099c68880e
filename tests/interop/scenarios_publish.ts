// Issue 3 point 5: basic.publish — mandatory returns, immediate, missing exchanges, content of
// any split and size, properties passed through, and malformed content frames.
import type { Channel, ChannelModel, Message } from "amqplib";
import { bodyText, type Ctx, raw, type Scenario, scenario } from "./scenario.ts";

/** A deterministic body of `n` bytes. */
function body(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

/** Declares a queue, publishes `sizes` bodies, and records what a get and a consumer see. */
function sizes(name: string, lengths: number[], query = ""): Scenario {
  return scenario(`content: ${name}`, async (ctx) => {
    const conn = await ctx.connect(query);
    const ch = await ctx.channel(conn);
    const q = ctx.name("q");
    await ch.assertQueue(q);
    for (const n of lengths) ctx.publish(ch, "", q, body(n));
    await ctx.waitCount(conn, q, lengths.length);
    const got = await ctx.drain(ch, q, { noAck: false }, lengths.length);
    ctx.record("get", got.map((m) => m.body));
    ch.nackAll(true);
    await ctx.waitCount(conn, q, lengths.length);
    const c = await ctx.consume(ch, q, { noAck: true });
    ctx.record("consume", (await c.waitFor(lengths.length)).map((m) => bodyText(m.content)));
    ctx.record("expected", lengths.map((n) => bodyText(body(n))));
  });
}

/** Waits for `n` basic.return on a channel. */
async function returns(ctx: Ctx, ch: Channel, n: number, act: () => void): Promise<Message[]> {
  const got: Message[] = [];
  ch.on("return", (m: Message) => got.push(m));
  act();
  await ctx.waitFor(() => got.length >= n, `${n} basic.return`);
  return got;
}

// Raw frames, for content that amqplib would never send.
const frame = (type: number, channel: number, payload: Buffer) => {
  const head = Buffer.alloc(7);
  head.writeUInt8(type, 0);
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([0xce])]);
};
const shortstr = (s: string) => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)]);
const publishFrame = (channel: number, exchange: string, key: string) =>
  frame(1, channel, Buffer.concat([Buffer.from([0, 60, 0, 40, 0, 0]), shortstr(exchange), shortstr(key), Buffer.from([0])]));
const headerFrame = (channel: number, size: number) => {
  const p = Buffer.alloc(14);
  p.writeUInt16BE(60, 0);
  p.writeBigUInt64BE(BigInt(size), 4);
  return frame(2, channel, p);
};
const bodyFrame = (channel: number, n: number) => frame(3, channel, body(n));

/** Writes raw frames on a fresh channel; records how the server closed the channel or connection. */
function malformed(name: string, frames: (channel: number, q: string) => Buffer[]): Scenario {
  return scenario(`malformed content: ${name}`, async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q);
    const channel = (ch as unknown as { ch: number }).ch;
    const sock = conn.connection as unknown as { sendBytes(b: Buffer): void };
    for (const f of frames(channel, q)) sock.sendBytes(f);
    ctx.record("connection", await ctx.connectionClosed(conn));
    await ctx.queueState("queue after", q);
  });
}

async function openQueue(ctx: Ctx): Promise<{ conn: ChannelModel; ch: Channel; q: string }> {
  const { conn, ch } = await ctx.open();
  const q = ctx.name("q");
  await ch.assertQueue(q);
  return { conn, ch, q };
}

export const publishScenarios: Scenario[] = [
  scenario("mandatory unroutable message comes back as basic.return 312 NO_ROUTE", async (ctx) => {
    const { ch } = await ctx.open();
    const x = ctx.name("x");
    await ch.assertExchange(x, "direct");
    const [m] = await returns(
      ctx,
      ch,
      1,
      () => ctx.publish(ch, x, "nowhere", "lost", { mandatory: true, contentType: "text/plain", headers: { h: 1 }, messageId: "id-1" }),
    );
    const f = m?.fields as (Message["fields"] & { replyCode: number; replyText: string }) | undefined;
    ctx.record("return", [f?.replyCode, f?.replyText, f?.exchange, f?.routingKey, m && bodyText(m.content)]);
    ctx.record("properties", [m?.properties.contentType, m?.properties.headers, m?.properties.messageId]);
    await ctx.probe("channel after", ch);
  }),
  scenario("a returned message keeps a body split over many frames", async (ctx) => {
    const { ch } = await ctx.open();
    const [m] = await returns(ctx, ch, 1, () => ctx.publish(ch, "amq.direct", ctx.name("nowhere"), body(300_000), { mandatory: true }));
    ctx.record("returned body", m && bodyText(m.content));
    ctx.record("expected", bodyText(body(300_000)));
  }),
  scenario("amq.default is not a name for the default exchange", async (ctx) => {
    const { conn, ch, q } = await openQueue(ctx);
    await ctx.attempt("passive declare amq.default", ch.checkExchange("amq.default"));
    const pch = await ctx.channel(conn);
    ctx.publish(pch, "amq.default", q, "via amq.default");
    ctx.record("publish channel", await ctx.channelClosed(pch));
    ctx.record("queue", await ctx.drain(await ctx.channel(conn), q));
  }),
  scenario("non-mandatory unroutable message is dropped silently", async (ctx) => {
    const { conn } = await ctx.open();
    const ch = await ctx.confirmChannel(conn);
    const log = ctx.confirms(ch);
    ctx.publish(ch, "amq.direct", ctx.name("nowhere"), "dropped");
    await ch.waitForConfirms();
    ctx.record("confirms", log.events);
    await ctx.probe("channel after", ch);
  }),
  scenario("mandatory routed message is not returned", async (ctx) => {
    const { conn } = await ctx.open();
    const ch = await ctx.confirmChannel(conn);
    const q = ctx.name("q");
    await ch.assertQueue(q);
    const log = ctx.confirms(ch);
    ctx.publish(ch, "", q, "kept", { mandatory: true });
    await ch.waitForConfirms();
    ctx.record("confirms", log.events);
    ctx.record("q", await ctx.drain(ch, q));
  }),
  scenario("mandatory returns keep publish order", async (ctx) => {
    const { ch } = await ctx.open();
    const got = await returns(ctx, ch, 5, () => {
      for (let i = 1; i <= 5; i++) ctx.publish(ch, "amq.topic", ctx.name(`k${i}`), `m${i}`, { mandatory: true });
    });
    ctx.record("returns", got.map((m) => [m.fields.routingKey, bodyText(m.content)]));
  }),
  scenario("publish with immediate=true is refused with 540", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const q = ctx.name("q");
    await ch.assertQueue(q);
    raw(ch).sendMessage({ exchange: "", routingKey: q, mandatory: false, immediate: true, ticket: 0 }, {}, Buffer.from("now"));
    ctx.record("channel", await ctx.channelClosed(ch));
    ctx.record("connection", await ctx.connectionClosed(conn));
    await ctx.queueState("queue after", q);
  }),
  scenario("publish to a missing exchange closes the channel with 404", async (ctx) => {
    const { conn, ch } = await ctx.open();
    const other = await ctx.channel(conn);
    ctx.publish(ch, ctx.name("missing"), "k", "m");
    ctx.record("channel", await ctx.channelClosed(ch));
    await ctx.probe("other channel on the connection", other);
  }),
  scenario("publish to a missing exchange in confirm mode gets no confirm", async (ctx) => {
    const { conn } = await ctx.open();
    const ch = await ctx.confirmChannel(conn);
    const log = ctx.confirms(ch);
    ctx.publish(ch, ctx.name("missing"), "k", "m", { mandatory: true });
    ctx.record("channel", await ctx.channelClosed(ch));
    ctx.record("confirms", log.events);
  }),
  sizes("zero-length body", [0, 1, 0]),
  sizes("bodies around the frame boundary (frame_max 131072)", [131_063, 131_064, 131_065, 262_128, 262_129]),
  sizes("a 1 MB body split over many frames", [1_000_000]),
  sizes("bodies split with frame_max 4096", [4087, 4088, 4089, 20_000], "?frameMax=4096"),
  scenario("messages keep publish order", async (ctx) => {
    const { conn, ch, q } = await openQueue(ctx);
    const bodies = Array.from({ length: 200 }, (_, i) => `m${i}`);
    ctx.publishAll(ch, "", q, bodies);
    await ctx.waitCount(conn, q, 200);
    const c = await ctx.consume(ch, q, { noAck: true });
    const got = (await c.waitFor(200)).map((m) => bodyText(m.content));
    ctx.record("in order", got.join(",") === bodies.join(","));
    ctx.record("delivery tags", c.messages.map((m) => m.fields.deliveryTag).join(",") === bodies.map((_, i) => i + 1).join(","));
  }),
  scenario("message properties pass through unchanged", async (ctx) => {
    const { conn, ch, q } = await openQueue(ctx);
    ctx.publish(ch, "", q, "props", {
      contentType: "application/json",
      contentEncoding: "gzip",
      deliveryMode: 2,
      priority: 7,
      correlationId: "corr",
      replyTo: "reply-q",
      expiration: "60000",
      messageId: "mid",
      timestamp: 1_700_000_000,
      type: "kind",
      userId: "guest",
      appId: "app",
      headers: {
        str: "s",
        int: 42,
        neg: -7,
        big: 2 ** 40,
        dbl: 1.25,
        bool: false,
        nil: null,
        arr: [1, "two", [3]],
        nested: { a: { b: "c" } },
        bytes: Buffer.from([1, 2, 3]),
        ts: { "!": "timestamp", value: 1_600_000_000 },
        dec: { "!": "decimal", value: { places: 2, digits: 12345 } },
      },
    });
    await ctx.waitCount(conn, q, 1);
    const m = await ch.get(q, { noAck: true });
    if (!m) throw new Error("no message");
    const p: Record<string, unknown> = { ...m.properties };
    const h = p.headers as Record<string, unknown>;
    p.headers = { ...h, bytes: Buffer.isBuffer(h.bytes) ? [...h.bytes] : h.bytes };
    ctx.record("properties", p);
    ctx.record("fields", [m.fields.exchange, m.fields.routingKey, m.fields.redelivered, m.fields.messageCount]);
  }),
  scenario("user-id that does not match the connection user is refused", async (ctx) => {
    const { ch, q } = await openQueue(ctx);
    ctx.publish(ch, "", q, "m", { userId: "somebody-else" });
    ctx.record("channel", await ctx.channelClosed(ch));
  }),
  scenario("a body over 128 MiB is refused with 406", async (ctx) => {
    const { conn, ch, q } = await openQueue(ctx);
    ctx.publish(ch, "", q, Buffer.alloc(128 * 1024 * 1024 + 1));
    ctx.record("channel", await ctx.channelClosed(ch));
    await ctx.probe("connection still usable", await ctx.channel(conn));
  }),
  malformed(
    "body shorter than the header's size, then a method",
    (c, q) => [publishFrame(c, "", q), headerFrame(c, 10), bodyFrame(c, 5), publishFrame(c, "", q)],
  ),
  malformed(
    "body longer than the header's size, then a method",
    (c, q) => [publishFrame(c, "", q), headerFrame(c, 5), bodyFrame(c, 10), publishFrame(c, "", q)],
  ),
  malformed("a body frame after a zero-size header", (c, q) => [publishFrame(c, "", q), headerFrame(c, 0), bodyFrame(c, 3)]),
  malformed("a body frame without a header", (c, q) => [publishFrame(c, "", q), bodyFrame(c, 3)]),
  malformed("a header frame without a publish", (c) => [headerFrame(c, 3), bodyFrame(c, 3)]),
];
