// A graceful restart (broker.stop(), then startBroker on the same data dir) keeps exactly what is
// durable and nothing else, as far as any client can tell:
//   - durable exchanges of every type, durable queues (plain, with arguments, auto-delete) and
//     their bindings (queue and exchange-to-exchange, headers bindings whose arguments use every
//     field type) come back; transient, exclusive and auto-delete-transient ones, and every
//     binding that touched them, do not;
//   - equivalence still holds on redeclare (same → ok, different → 406), routing works through the
//     recovered bindings, and binding arguments are exact (unbind with them removes the binding);
//     all of this observed identically on a control broker that declared the same topology fresh;
//   - persistent messages come back in order with bodies and properties byte-identical (checked
//     on raw frames against hand-encoded bytes); delivered-but-unacked ones with redelivered=true,
//     never-delivered ones with false; transient messages are gone; a message shared by two queues
//     survives in one after being acked in the other;
//   - changes made after a recovery (acks, new messages, purge, deletes, unbinds) survive the
//     next restart.
// Message expiry across a restart and the store's refusals are in store_refusal.test.ts.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type Channel, type ChannelModel, type ConfirmChannel, type GetMessage, type Options } from "amqplib";
import { MethodId } from "../../src/amqp/spec/methods.gen.ts";
import { openRawConnection } from "../helpers/raw_client.ts";
import { contentHeaderPayload, type RawField, rawGet, type RawProperties, rawProperties, rawPublish } from "../helpers/raw_messages.ts";
import { withTimeout } from "../helpers/broker.ts";
import { cleanupRestartBrokers, connect, drainAll, type Seen, start, stop, tempDir } from "../helpers/restart_brokers.ts";

setDefaultTimeout(90_000);

afterAll(cleanupRestartBrokers);

/** Runs `op` on a fresh channel: "ok", or the reply code of the channel (or connection) close. */
async function outcome(conn: ChannelModel, op: (ch: ConfirmChannel) => Promise<unknown>): Promise<"ok" | number> {
  const ch = await conn.createConfirmChannel();
  let closedWith: number | undefined;
  ch.on("error", (e: { code?: number }) => (closedWith ??= e.code ?? -1));
  try {
    await op(ch);
    // A publish error arrives asynchronously: a round trip makes it visible.
    await ch.checkExchange("amq.direct");
    await ch.close();
    return "ok";
  } catch (e) {
    await new Promise((r) => setImmediate(r)); // the channel's error event may come after the rejection
    return closedWith ?? (e as { code?: number }).code ?? -1;
  }
}

// ---------------------------------------------------------------------------------- the scenario

/** amqplib encodings of every field type, used as binding and exchange/queue arguments. */
const RICH: Record<string, unknown> = {
  str: "text",
  i8: { "!": "byte", value: -5 },
  u8: { "!": "unsignedbyte", value: 200 },
  i16: { "!": "short", value: -300 },
  u16: { "!": "unsignedshort", value: 60000 },
  i32: { "!": "int", value: -70000 },
  u32: { "!": "unsignedint", value: 4_000_000_000 },
  i64: { "!": "long", value: 2 ** 40 },
  f32: { "!": "float", value: 1.5 },
  f64: 2.25,
  dec: { "!": "decimal", value: { places: 2, digits: 12345 } },
  ts: { "!": "timestamp", value: 1_700_000_000 },
  yes: true,
  bin: Buffer.from([0, 1, 2, 255]),
  arr: [1, "two", { "!": "long", value: 3 }, [true]],
  tbl: { nested: "yes", n: { "!": "short", value: 7 } },
  nil: null,
};
/** What a message must carry to match the x-match=all binding (the same typed values). */
const MATCH_ALL: Record<string, unknown> = { color: "red", size: { "!": "long", value: 42 }, ratio: 0.5, ok: true };
const HDR_ALL_ARGS = { "x-match": "all", ...MATCH_ALL };
const HDR_ANY_ARGS = { "x-match": "any", ...RICH };
const QUEUE_ARGS = {
  "x-max-length": 3,
  "x-max-length-bytes": { "!": "long", value: 10_485_760 },
  "x-overflow": "reject-publish",
  "x-queue-mode": "lazy",
  "x-max-priority": { "!": "byte", value: 5 },
  "x-message-ttl": 86_400_000,
  "x-custom": RICH,
};

const DURABLE_EXCHANGES: [string, string, Options.AssertExchange][] = [
  ["r.direct", "direct", { durable: true, arguments: { "alternate-exchange": "r.ae" } }],
  ["r.ae", "fanout", { durable: true }],
  ["r.fanout", "fanout", { durable: true }],
  ["r.topic", "topic", { durable: true }],
  ["r.headers", "headers", { durable: true }],
  ["r.internal", "topic", { durable: true, internal: true }],
  ["r.autodel", "direct", { durable: true, autoDelete: true }],
  ["r.xargs", "direct", { durable: true, arguments: RICH }],
  ["r.dlx", "fanout", { durable: true }],
  ["r.todelete", "fanout", { durable: true }],
];
const TRANSIENT_EXCHANGES: [string, string, Options.AssertExchange][] = [
  ["t.direct", "direct", { durable: false }],
  ["t.fanout", "fanout", { durable: false }],
  ["t.topic", "topic", { durable: false }],
  ["t.headers", "headers", { durable: false }],
  ["t.autodel", "direct", { durable: false, autoDelete: true }],
];
const DURABLE_QUEUES: [string, Options.AssertQueue][] = [
  ["r.q.plain", { durable: true }],
  ["r.q.plain2", { durable: true }],
  ["r.q.direct", { durable: true }],
  ["r.q.ae", { durable: true }],
  ["r.q.fan", { durable: true }],
  ["r.q.topic", { durable: true }],
  ["r.q.hdr.all", { durable: true }],
  ["r.q.hdr.any", { durable: true }],
  ["r.q.e2e", { durable: true }],
  ["r.q.args", { durable: true, arguments: QUEUE_ARGS }],
  ["r.q.autodel", { durable: true, autoDelete: true }],
  ["r.q.dlx", { durable: true, arguments: { "x-dead-letter-exchange": "r.dlx", "x-dead-letter-routing-key": "dead" } }],
  ["r.q.dead", { durable: true }],
  ["r.q.raw", { durable: true }],
  ["r.q.topurge", { durable: true }],
  ["r.q.todelete", { durable: true }],
];
const TRANSIENT_QUEUES: [string, Options.AssertQueue][] = [
  ["t.q", { durable: false }],
  ["t.q.autodel", { durable: false, autoDelete: true }],
];
/** Declared exclusive on a connection that is still open at the stop. */
const EXCLUSIVE_QUEUES: [string, Options.AssertQueue][] = [
  ["x.q", { exclusive: true, durable: false }],
  ["x.q.durable", { exclusive: true, durable: true }],
];

async function declareDurable(ch: Channel): Promise<void> {
  for (const [name, type, opts] of DURABLE_EXCHANGES) await ch.assertExchange(name, type, opts);
  for (const [name, opts] of DURABLE_QUEUES) await ch.assertQueue(name, opts);
  await ch.bindQueue("r.q.direct", "r.direct", "k1");
  await ch.bindQueue("r.q.direct", "r.direct", "k2");
  await ch.bindQueue("r.q.ae", "r.ae", "");
  await ch.bindQueue("r.q.fan", "r.fanout", "");
  await ch.bindQueue("r.q.topic", "r.topic", "a.*.c");
  await ch.bindQueue("r.q.topic", "r.topic", "#.z");
  await ch.bindQueue("r.q.hdr.all", "r.headers", "", HDR_ALL_ARGS);
  await ch.bindQueue("r.q.hdr.any", "r.headers", "", HDR_ANY_ARGS);
  await ch.bindExchange("r.internal", "r.topic", "e2e.#");
  await ch.bindQueue("r.q.e2e", "r.internal", "#");
  await ch.bindExchange("r.headers", "r.fanout", "", { "x-note": { "!": "short", value: 1 }, when: { "!": "timestamp", value: 5 } });
  await ch.bindQueue("r.q.direct", "r.autodel", "ad");
  await ch.bindQueue("r.q.dead", "r.dlx", "");
  await ch.bindQueue("r.q.fan", "r.todelete", "");
}

/** Transient topology, and bindings between durable and transient entities (all must vanish). */
async function declareTransient(ch: Channel, exclusiveCh: Channel): Promise<void> {
  for (const [name, type, opts] of TRANSIENT_EXCHANGES) await ch.assertExchange(name, type, opts);
  for (const [name, opts] of TRANSIENT_QUEUES) await ch.assertQueue(name, opts);
  for (const [name, opts] of EXCLUSIVE_QUEUES) await exclusiveCh.assertQueue(name, opts);
  await ch.bindQueue("r.q.direct", "t.direct", "tk");
  await ch.bindQueue("t.q", "r.direct", "k1");
  await ch.bindExchange("t.topic", "r.topic", "#");
  await ch.bindQueue("t.q", "t.topic", "#");
  await ch.bindExchange("r.fanout", "t.fanout", "");
  await ch.bindQueue("r.q.direct", "t.autodel", "k1");
  await exclusiveCh.bindQueue("x.q", "r.fanout", "");
  await exclusiveCh.bindQueue("x.q.durable", "r.direct", "k1");
}

/** Full amqplib properties of message `body` (deliveryMode from `persistent`). */
function props(body: string, persistent: boolean): Options.Publish {
  return {
    persistent,
    contentType: "text/plain",
    contentEncoding: "identity",
    headers: { ...RICH, seq: body },
    priority: 3,
    correlationId: `corr-${body}`,
    replyTo: "reply.queue",
    expiration: "86400000",
    messageId: `id-${body}`,
    timestamp: 1_700_000_123,
    type: "restart.test",
    userId: "guest",
    appId: "warren-tests",
  };
}

/**
 * r.q.plain / r.q.plain2: m0..m11 persistent with transient t2 t5 t8 t11 between; m0 left
 * unacked, m1 m2 t2 acked, m3 requeued.
 */
async function fillPlain(ch: Channel, queue: string): Promise<void> {
  for (let i = 0; i < 12; i++) {
    ch.sendToQueue(queue, Buffer.from(`m${i}`), props(`m${i}`, true));
    if (i % 3 === 2) ch.sendToQueue(queue, Buffer.from(`t${i}`), props(`t${i}`, false));
  }
  await ch.checkQueue(queue);
  const got: GetMessage[] = [];
  for (let i = 0; i < 5; i++) {
    const m = await ch.get(queue);
    if (!m) throw new Error(`${queue}: empty at ${i}`);
    got.push(m);
  }
  expect(got.map((m) => m.content.toString())).toEqual(["m0", "m1", "m2", "t2", "m3"]);
  ch.ack(got[1]!);
  ch.ack(got[2]!);
  ch.ack(got[3]!);
  ch.nack(got[4]!, false, true);
  await ch.checkQueue(queue);
}

const bodies = (seen: Seen[]) => seen.map((m) => `${m.body}${m.redelivered ? "R" : ""}`);

/** Messages published over a raw connection with hand-encoded property bytes. */
const RAW_HEADERS: [string, RawField][] = [
  ["S", ["S", "long string"]],
  ["b", ["b", -1]],
  ["B", ["B", 255]],
  ["s", ["s", -2]],
  ["u", ["u", 65535]],
  ["I", ["I", -3]],
  ["i", ["i", 4294967295]],
  ["l", ["l", -(2n ** 62n)]],
  ["T", ["T", 1_700_000_000n]],
  ["f", ["f", -0.25]],
  ["d", ["d", Math.PI]],
  ["D", ["D", [3, 1234567]]],
  ["x", ["x", new Uint8Array([0, 0xce, 0xff])]],
  ["t", ["t", false]],
  ["V", ["V", null]],
  ["A", ["A", [["S", "a"], ["I", 1], ["A", []], ["F", []]]]],
  ["F", ["F", [["deep", ["F", [["deeper", ["b", 1]]]]], ["empty", ["S", ""]]]]],
  ["unicode ✓", ["S", "grüße ✓"]],
];
const RAW_MESSAGES: { props: RawProperties; body: Uint8Array }[] = [
  {
    props: {
      contentType: "application/octet-stream",
      contentEncoding: "gzip",
      headers: RAW_HEADERS,
      deliveryMode: 2,
      priority: 9,
      correlationId: "c".repeat(255),
      replyTo: "reply",
      expiration: "86400000",
      messageId: "raw-1",
      timestamp: 0xfffffffffn,
      type: "t",
      userId: "guest",
      appId: "a",
      clusterId: "cl",
    },
    body: new Uint8Array([0, 1, 2, 0xce, 0xff, 10, 13, 0]),
  },
  { props: { deliveryMode: 2 }, body: new Uint8Array(0) },
  {
    props: { deliveryMode: 2, messageId: "raw-3", headers: [["k", ["S", "v"]]] },
    body: new Uint8Array(200_000).map((_, i) => (i * 131 + 7) & 0xff), // several body frames
  },
];

// ---------------------------------------------------------------------------------- probes

/** Everything the probes see, compared between the restarted broker and a fresh control broker. */
interface Observation {
  exists: Record<string, boolean>;
  redeclare: Record<string, "ok" | number>;
  routing: Record<string, string[] | number>;
  bindingArgs: Record<string, unknown>;
  autoDelete: Record<string, unknown>;
  deadLetter: Record<string, unknown>;
  limits: Record<string, unknown>;
}

const ALL_EXCHANGES = [...DURABLE_EXCHANGES, ...TRANSIENT_EXCHANGES].map(([n]) => n);
const ALL_QUEUES = [...DURABLE_QUEUES, ...TRANSIENT_QUEUES, ...EXCLUSIVE_QUEUES].map(([n]) => n);
/** Queues that routing probes may reach, drained after every probe. */
const ROUTED_QUEUES = DURABLE_QUEUES.map(([n]) => n).filter((n) => n !== "r.q.todelete");

async function existence(conn: ChannelModel): Promise<Record<string, boolean>> {
  const out: Record<string, boolean> = {};
  for (const x of ALL_EXCHANGES) out[`exchange ${x}`] = (await outcome(conn, (ch) => ch.checkExchange(x))) === "ok";
  for (const q of ALL_QUEUES) out[`queue ${q}`] = (await outcome(conn, (ch) => ch.checkQueue(q))) === "ok";
  return out;
}

/** Publishes one probe message and reports which durable queues got it (or the error code). */
async function route(
  conn: ChannelModel,
  exchange: string,
  routingKey: string,
  headers?: Record<string, unknown>,
): Promise<string[] | number> {
  const result = await outcome(conn, async (ch) => {
    await new Promise<void>((resolve, reject) =>
      ch.publish(exchange, routingKey, Buffer.from("probe"), { headers: headers ?? {} }, (err) => (err ? reject(err) : resolve()))
    );
  });
  if (result !== "ok") return result;
  const ch = await conn.createChannel();
  const landed: string[] = [];
  for (const q of ROUTED_QUEUES) {
    for (let m = await ch.get(q, { noAck: true }); m; m = await ch.get(q, { noAck: true })) landed.push(q);
  }
  await ch.close();
  return landed.sort();
}

async function observe(url: string): Promise<Observation> {
  const conn = await connect(url);
  try {
    // Start from empty queues (the restarted broker still holds checked messages otherwise).
    const purge = await conn.createChannel();
    for (const q of ROUTED_QUEUES) await purge.purgeQueue(q);
    await purge.close();

    const exists = await existence(conn);

    const redeclare: Record<string, "ok" | number> = {};
    for (const [name, type, opts] of DURABLE_EXCHANGES) {
      if (name === "r.todelete") continue;
      redeclare[`exchange ${name} same`] = await outcome(conn, (ch) => ch.assertExchange(name, type, opts));
      redeclare[`exchange ${name} other type`] = await outcome(
        conn,
        (ch) => ch.assertExchange(name, type === "topic" ? "direct" : "topic", opts),
      );
      redeclare[`exchange ${name} transient`] = await outcome(conn, (ch) => ch.assertExchange(name, type, { ...opts, durable: false }));
      redeclare[`exchange ${name} auto-delete flipped`] = await outcome(
        conn,
        (ch) => ch.assertExchange(name, type, { ...opts, autoDelete: !opts.autoDelete }),
      );
      redeclare[`exchange ${name} internal flipped`] = await outcome(
        conn,
        (ch) => ch.assertExchange(name, type, { ...opts, internal: !opts.internal }),
      );
      redeclare[`exchange ${name} other args`] = await outcome(
        conn,
        (ch) => ch.assertExchange(name, type, { ...opts, arguments: { "alternate-exchange": "elsewhere" } }),
      );
    }
    for (const [name, opts] of DURABLE_QUEUES) {
      if (name === "r.q.todelete") continue;
      redeclare[`queue ${name} same`] = await outcome(conn, (ch) => ch.assertQueue(name, opts));
      redeclare[`queue ${name} transient`] = await outcome(conn, (ch) => ch.assertQueue(name, { ...opts, durable: false }));
      redeclare[`queue ${name} auto-delete flipped`] = await outcome(
        conn,
        (ch) => ch.assertQueue(name, { ...opts, autoDelete: !opts.autoDelete }),
      );
      redeclare[`queue ${name} exclusive`] = await outcome(conn, (ch) => ch.assertQueue(name, { ...opts, exclusive: true }));
    }
    const argVariants: [string, Record<string, unknown>][] = [
      ["none", {}],
      ["x-max-length 4", { ...QUEUE_ARGS, "x-max-length": 4 }],
      ["x-max-length as long", { ...QUEUE_ARGS, "x-max-length": { "!": "long", value: 3 } }],
      ["x-max-length as string", { ...QUEUE_ARGS, "x-max-length": "3" }],
      ["x-overflow drop-head", { ...QUEUE_ARGS, "x-overflow": "drop-head" }],
      ["x-max-priority as int", { ...QUEUE_ARGS, "x-max-priority": { "!": "int", value: 5 } }],
      ["x-custom changed", { ...QUEUE_ARGS, "x-custom": "other" }],
      ["x-message-ttl changed", { ...QUEUE_ARGS, "x-message-ttl": 1000 }],
    ];
    for (const [label, args] of argVariants) {
      redeclare[`queue r.q.args ${label}`] = await outcome(conn, (ch) => ch.assertQueue("r.q.args", { durable: true, arguments: args }));
    }
    redeclare["queue r.q.dlx other dlx"] = await outcome(
      conn,
      (ch) =>
        ch.assertQueue("r.q.dlx", { durable: true, arguments: { "x-dead-letter-exchange": "r.ae", "x-dead-letter-routing-key": "dead" } }),
    );
    // Names whose owners are gone can be declared by anyone now (and are deleted again).
    for (const [name] of [...EXCLUSIVE_QUEUES, ...TRANSIENT_QUEUES]) {
      redeclare[`queue ${name} by another connection`] = await outcome(conn, async (ch) => {
        await ch.assertQueue(name, { exclusive: true });
        await ch.deleteQueue(name);
      });
    }

    const routing: Record<string, string[] | number> = {
      "r.direct k1": await route(conn, "r.direct", "k1"),
      "r.direct k2": await route(conn, "r.direct", "k2"),
      "r.direct unroutable (alternate exchange)": await route(conn, "r.direct", "nowhere"),
      "r.direct tk (binding from transient)": await route(conn, "r.direct", "tk"),
      "r.fanout (and on to r.headers)": await route(conn, "r.fanout", "", { color: "blue" }),
      "r.fanout matching hdr.any via e2e": await route(conn, "r.fanout", "", { str: "text" }),
      "r.topic a.b.c": await route(conn, "r.topic", "a.b.c"),
      "r.topic x.y.z": await route(conn, "r.topic", "x.y.z"),
      "r.topic e2e.one (via internal)": await route(conn, "r.topic", "e2e.one"),
      "r.headers all": await route(conn, "r.headers", "", MATCH_ALL),
      "r.headers all but one": await route(conn, "r.headers", "", { ...MATCH_ALL, size: { "!": "long", value: 43 } }),
      "r.headers any (u32)": await route(conn, "r.headers", "", { u32: { "!": "unsignedint", value: 4_000_000_000 } }),
      "r.headers any (decimal)": await route(conn, "r.headers", "", { dec: { "!": "decimal", value: { places: 2, digits: 12345 } } }),
      "r.headers none": await route(conn, "r.headers", "", { str: "other" }),
      "r.autodel ad": await route(conn, "r.autodel", "ad"),
      "r.internal directly": await route(conn, "r.internal", "e2e.x"),
      "r.todelete": await route(conn, "r.todelete", ""),
      "t.direct": await route(conn, "t.direct", "tk"),
      "t.fanout": await route(conn, "t.fanout", ""),
      "default exchange to r.q.plain": await route(conn, "", "r.q.plain"),
    };

    // Binding arguments are exact: an unbind with one value of another wire type is not the
    // same binding; with the very arguments it is.
    const bindingArgs: Record<string, unknown> = {};
    const E2E_ARGS = { "x-note": { "!": "short", value: 1 }, when: { "!": "timestamp", value: 5 } };
    bindingArgs["unbind e2e, x-note as long"] = await outcome(
      conn,
      (ch) => ch.unbindExchange("r.headers", "r.fanout", "", { ...E2E_ARGS, "x-note": { "!": "long", value: 1 } }),
    );
    bindingArgs["e2e routes after that"] = await route(conn, "r.fanout", "", { str: "text" });
    bindingArgs["unbind e2e, exact"] = await outcome(conn, (ch) => ch.unbindExchange("r.headers", "r.fanout", "", E2E_ARGS));
    bindingArgs["e2e routes after exact unbind"] = await route(conn, "r.fanout", "", { str: "text" });
    bindingArgs["unbind all, size as int"] = await outcome(
      conn,
      (ch) => ch.unbindQueue("r.q.hdr.all", "r.headers", "", { ...HDR_ALL_ARGS, size: { "!": "int", value: 42 } }),
    );
    bindingArgs["all routes after that"] = await route(conn, "r.headers", "", MATCH_ALL);
    bindingArgs["unbind all, exact"] = await outcome(conn, (ch) => ch.unbindQueue("r.q.hdr.all", "r.headers", "", HDR_ALL_ARGS));
    bindingArgs["all routes after exact unbind"] = await route(conn, "r.headers", "", MATCH_ALL);
    bindingArgs["unbind any, u32 as long"] = await outcome(
      conn,
      (ch) => ch.unbindQueue("r.q.hdr.any", "r.headers", "", { ...HDR_ANY_ARGS, u32: { "!": "long", value: 4_000_000_000 } }),
    );
    bindingArgs["any routes after that"] = await route(conn, "r.headers", "", { str: "text" });
    bindingArgs["unbind any, exact"] = await outcome(conn, (ch) => ch.unbindQueue("r.q.hdr.any", "r.headers", "", HDR_ANY_ARGS));
    bindingArgs["any routes after exact unbind"] = await route(conn, "r.headers", "", { str: "text" });

    const autoDelete: Record<string, unknown> = {};
    autoDelete["unbind last binding of r.autodel"] = await outcome(conn, (ch) => ch.unbindQueue("r.q.direct", "r.autodel", "ad"));
    autoDelete["r.autodel exists after"] = (await outcome(conn, (ch) => ch.checkExchange("r.autodel"))) === "ok";
    autoDelete["consume and cancel on r.q.autodel"] = await outcome(conn, async (ch) => {
      const { consumerTag } = await ch.consume("r.q.autodel", () => {});
      await ch.cancel(consumerTag);
    });
    autoDelete["r.q.autodel exists after"] = (await outcome(conn, (ch) => ch.checkQueue("r.q.autodel"))) === "ok";

    const deadLetter: Record<string, unknown> = {};
    {
      const ch = await conn.createConfirmChannel();
      ch.sendToQueue("r.q.dlx", Buffer.from("to-die"), { persistent: true });
      await ch.waitForConfirms();
      const m = await ch.get("r.q.dlx");
      deadLetter["got"] = m ? m.content.toString() : null;
      if (m) ch.reject(m, false);
      await ch.checkQueue("r.q.dlx");
      const dead = await ch.get("r.q.dead", { noAck: true });
      deadLetter["dead-lettered"] = dead ? { body: dead.content.toString(), routingKey: dead.fields.routingKey } : null;
      await ch.close();
    }

    const limits: Record<string, unknown> = {};
    {
      const ch = await conn.createConfirmChannel();
      const results: string[] = [];
      for (let i = 0; i < 5; i++) {
        await new Promise<void>((resolve) =>
          ch.sendToQueue("r.q.args", Buffer.from(`l${i}`), { persistent: true }, (err) => {
            results.push(err ? "nack" : "ack");
            resolve();
          })
        );
      }
      limits["confirms"] = results;
      limits["count"] = (await ch.checkQueue("r.q.args")).messageCount;
      await ch.purgeQueue("r.q.args");
      await ch.close();
    }
    return { exists, redeclare, routing, bindingArgs, autoDelete, deadLetter, limits };
  } finally {
    await conn.close().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------- the test

describe("graceful restart", () => {
  test("durable topology and persistent messages come back exactly; nothing transient does", async () => {
    const dir = await tempDir();

    // ---- 1. declare and publish; leave deliveries unacked on connections open at the stop
    let b = await start(dir);
    const conn = await connect(b.url);
    const keep = await connect(b.url); // owns the exclusive queues and the unacked deliveries
    const ch = await conn.createChannel();
    const kch = await keep.createChannel();
    kch.on("error", () => {});
    await declareDurable(ch);
    await declareTransient(ch, kch);

    await fillPlain(kch, "r.q.plain");
    await fillPlain(kch, "r.q.plain2");

    for (let i = 0; i < 8; i++) ch.publish("r.topic", "a.b.c", Buffer.from(`k${i}`), props(`k${i}`, true));
    const consumed: string[] = [];
    const consumer = await keep.createChannel();
    consumer.on("error", () => {});
    await consumer.prefetch(3);
    await consumer.consume("r.q.topic", (m) => m && consumed.push(m.content.toString()));

    // Shared by r.q.fan and (through r.fanout → r.headers, x-match any on str) r.q.hdr.any.
    for (let i = 0; i < 5; i++) ch.publish("r.fanout", "", Buffer.from(`f${i}`), props(`f${i}`, true));
    ch.publish("r.direct", "k1", Buffer.from("d0"), props("d0", true)); // also to t.q, x.q.durable
    ch.publish("r.direct", "k1", Buffer.from("d1"), props("d1", true));
    for (let i = 0; i < 5; i++) ch.sendToQueue("r.q.topurge", Buffer.from(`p${i}`), { persistent: true });
    ch.sendToQueue("r.q.todelete", Buffer.from("gone"), { persistent: true });
    ch.sendToQueue("t.q", Buffer.from("t.q persistent"), { persistent: true });
    ch.sendToQueue("x.q", Buffer.from("x.q persistent"), { persistent: true });
    await ch.checkQueue("r.q.fan");
    // Drain r.q.fan with acks: its copies go, r.q.hdr.any keeps the shared messages.
    const fanSeen: string[] = [];
    for (let m = await ch.get("r.q.fan"); m; m = await ch.get("r.q.fan")) {
      fanSeen.push(m.content.toString());
      ch.ack(m);
    }
    expect(fanSeen).toEqual(["f0", "f1", "f2", "f3", "f4"]);

    const raw = await openRawConnection(b.port);
    await raw.openChannel(1);
    for (const m of RAW_MESSAGES) rawPublish(raw, 1, "", "r.q.raw", rawProperties(m.props), m.body, 131072);
    raw.sendMethod(1, {
      id: MethodId.QueueDeclare,
      ticket: 0,
      queue: "r.q.raw",
      passive: true,
      durable: true,
      exclusive: false,
      autoDelete: false,
      nowait: false,
      arguments: {},
    });
    expect((await raw.waitForMethod(MethodId.QueueDeclareOk)).messageCount).toBe(RAW_MESSAGES.length);
    raw.destroy();

    const deadline = Date.now() + 10_000;
    while (consumed.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(consumed).toEqual(["k0", "k1", "k2"]);
    const countsBefore: Record<string, number> = {};
    for (const q of ["r.q.plain", "r.q.topic", "r.q.hdr.any", "r.q.direct", "r.q.raw", "r.q.topurge"]) {
      countsBefore[q] = (await ch.checkQueue(q)).messageCount;
    }
    expect(countsBefore).toEqual({ "r.q.plain": 12, "r.q.topic": 5, "r.q.hdr.any": 5, "r.q.direct": 2, "r.q.raw": 3, "r.q.topurge": 5 });
    await conn.close();
    await stop(b.broker); // with `keep` still connected: exclusive queues and unacked deliveries
    await keep.close().catch(() => {});

    // ---- 2. first restart: messages as they were, transient things gone; then change things
    b = await start(dir);
    {
      const c = await connect(b.url);
      const ex = await existence(c);
      expect(Object.entries(ex).filter(([, v]) => !v).map(([k]) => k).sort()).toEqual([
        ...TRANSIENT_EXCHANGES.map(([n]) => `exchange ${n}`),
        ...[...TRANSIENT_QUEUES, ...EXCLUSIVE_QUEUES].map(([n]) => `queue ${n}`),
      ].sort());
      const v = await c.createChannel();
      const counts: Record<string, [number, number]> = {};
      for (
        const q of [
          "r.q.plain",
          "r.q.plain2",
          "r.q.topic",
          "r.q.fan",
          "r.q.hdr.any",
          "r.q.direct",
          "r.q.raw",
          "r.q.topurge",
          "r.q.todelete",
        ]
      ) {
        const { messageCount, consumerCount } = await v.checkQueue(q);
        counts[q] = [messageCount, consumerCount];
      }
      expect(counts).toEqual({
        "r.q.plain": [10, 0],
        "r.q.plain2": [10, 0],
        "r.q.topic": [8, 0],
        "r.q.fan": [0, 0],
        "r.q.hdr.any": [5, 0],
        "r.q.direct": [2, 0],
        "r.q.raw": [3, 0],
        "r.q.topurge": [5, 0],
        "r.q.todelete": [1, 0],
      });

      // Order, redelivered flags, properties.
      const plain = await drainAll(v, "r.q.plain");
      expect(bodies(plain)).toEqual(["m0R", "m3R", "m4", "m5", "m6", "m7", "m8", "m9", "m10", "m11"]);
      for (const m of plain) {
        const expected = props(m.body, true);
        expect(m.props).toMatchObject({
          contentType: expected.contentType,
          contentEncoding: expected.contentEncoding,
          deliveryMode: 2,
          priority: 3,
          correlationId: expected.correlationId,
          replyTo: expected.replyTo,
          expiration: expected.expiration,
          messageId: expected.messageId,
          timestamp: expected.timestamp,
          type: expected.type,
          userId: "guest",
          appId: "warren-tests",
        });
        expect(m.props.headers).toEqual({
          ...RICH,
          seq: m.body,
          // amqplib decodes these as tagged values
          dec: { "!": "decimal", value: { places: 2, digits: 12345 } },
          ts: { "!": "timestamp", value: 1_700_000_000 },
          arr: [1, "two", 3, [true]],
          tbl: { nested: "yes", n: 7 },
          i8: -5,
          u8: 200,
          i16: -300,
          u16: 60000,
          i32: -70000,
          u32: 4_000_000_000,
          i64: 2 ** 40,
          f32: 1.5,
        });
      }
      expect(bodies(await drainAll(v, "r.q.topic"))).toEqual(["k0R", "k1R", "k2R", "k3", "k4", "k5", "k6", "k7"]);
      expect(bodies(await drainAll(v, "r.q.hdr.any"))).toEqual(["f0", "f1", "f2", "f3", "f4"]);
      expect(bodies(await drainAll(v, "r.q.direct"))).toEqual(["d0", "d1"]);

      // Raw bytes: the content header (class, weight, size, property flags and fields) and the
      // body are exactly what was published.
      const r = await openRawConnection(b.port);
      await r.openChannel(1);
      for (const [i, m] of RAW_MESSAGES.entries()) {
        const got = await rawGet(r, 1, "r.q.raw");
        expect(got === undefined ? "get-empty" : `message ${i}`).toBe(`message ${i}`);
        expect(got!.getOk).toMatchObject({
          redelivered: false,
          exchange: "",
          routingKey: "r.q.raw",
          messageCount: RAW_MESSAGES.length - 1 - i,
        });
        expect(Buffer.from(got!.header).toString("hex")).toBe(
          Buffer.from(contentHeaderPayload(m.body.length, rawProperties(m.props))).toString("hex"),
        );
        expect(Buffer.from(got!.body).equals(Buffer.from(m.body))).toBe(true);
      }
      r.destroy();

      // r.q.plain2: ack the recovered head, publish one more; purge, delete, unbind.
      const head = await v.get("r.q.plain2");
      expect(head && `${head.content.toString()}${head.fields.redelivered ? "R" : ""}`).toBe("m0R");
      v.ack(head as GetMessage);
      v.sendToQueue("r.q.plain2", Buffer.from("m12"), props("m12", true));
      v.sendToQueue("r.q.plain2", Buffer.from("t12"), props("t12", false));
      expect(await v.purgeQueue("r.q.topurge")).toEqual({ messageCount: 5 });
      await v.deleteQueue("r.q.todelete");
      await v.deleteExchange("r.todelete");
      await v.unbindQueue("r.q.topic", "r.topic", "#.z");
      await v.checkQueue("r.q.plain2");
      await c.close();
    }
    await stop(b.broker);

    // ---- 3. second restart: the changes made after the first one held
    b = await start(dir);
    let restarted: Observation;
    {
      const c = await connect(b.url);
      const v = await c.createChannel();
      expect(bodies(await drainAll(v, "r.q.plain2"))).toEqual(["m3R", "m4", "m5", "m6", "m7", "m8", "m9", "m10", "m11", "m12"]);
      expect((await v.checkQueue("r.q.topurge")).messageCount).toBe(0);
      await c.close();
      restarted = await withTimeout(observe(b.url), 60_000, "observing the restarted broker");
    }
    await stop(b.broker);

    // ---- 4. the control: the same durable topology (and changes) declared on a fresh broker
    const control = await start(await tempDir());
    let fresh: Observation;
    {
      const c = await connect(control.url);
      const v = await c.createChannel();
      await declareDurable(v);
      await v.deleteQueue("r.q.todelete");
      await v.deleteExchange("r.todelete");
      await v.unbindQueue("r.q.topic", "r.topic", "#.z");
      await c.close();
      fresh = await withTimeout(observe(control.url), 60_000, "observing the control broker");
    }
    await stop(control.broker);

    if (process.env.WARREN_RESTART_DUMP === "1") console.log(JSON.stringify(restarted, null, 1));
    expect(restarted).toEqual(fresh);
    // And the observations mean what they should (not just "the same on both").
    expect(Object.entries(restarted.exists).filter(([, v]) => v).map(([k]) => k).sort()).toEqual([
      ...DURABLE_EXCHANGES.map(([n]) => `exchange ${n}`).filter((n) => n !== "exchange r.todelete"),
      ...DURABLE_QUEUES.map(([n]) => `queue ${n}`).filter((n) => n !== "queue r.q.todelete"),
    ].sort());
    expect(restarted.routing).toMatchObject({
      "r.direct k1": ["r.q.direct"],
      "r.direct unroutable (alternate exchange)": ["r.q.ae"],
      "r.direct tk (binding from transient)": ["r.q.ae"],
      "r.topic a.b.c": ["r.q.topic"],
      "r.topic x.y.z": [], // its binding was removed after the first restart
      "r.topic e2e.one (via internal)": ["r.q.e2e"],
      "r.headers all": ["r.q.hdr.all"],
      "r.headers any (u32)": ["r.q.hdr.any"],
      "r.headers none": [],
      "r.fanout matching hdr.any via e2e": ["r.q.fan", "r.q.hdr.any"],
      "r.autodel ad": ["r.q.direct"],
      "r.internal directly": 403,
      "r.todelete": 404,
      "t.direct": 404,
      "t.fanout": 404,
    });
    expect(restarted.redeclare).toMatchObject({
      "exchange r.direct same": "ok",
      "exchange r.direct other type": 406,
      "exchange r.direct transient": 406,
      "exchange r.direct other args": 406,
      "exchange r.autodel auto-delete flipped": 406,
      "queue r.q.args same": "ok",
      "queue r.q.args x-max-length 4": 406,
      "queue r.q.args none": 406,
      "queue r.q.plain transient": 406,
      "queue r.q.autodel auto-delete flipped": 406,
      "queue x.q by another connection": "ok",
    });
    expect(restarted.bindingArgs).toMatchObject({
      "e2e routes after that": ["r.q.fan", "r.q.hdr.any"],
      "unbind e2e, exact": "ok",
      "e2e routes after exact unbind": ["r.q.fan"],
      "all routes after that": ["r.q.hdr.all"],
      "unbind all, exact": "ok",
      "all routes after exact unbind": [],
      "any routes after that": ["r.q.hdr.any"],
      "unbind any, exact": "ok",
      "any routes after exact unbind": [],
    });
  });
});
