// Streams (x-queue-type: stream) over AMQP 0-9-1 with amqplib: the same assertions against Warren
// and, when RABBITMQ_REF_URL is set, the reference RabbitMQ (declare rules, consumers reading from
// x-stream-offset with the offset header on every delivery, acks that remove nothing, refused
// get/purge/nack); then Warren alone for what needs its insides or a restart: many streams and
// consumers at once, a consumer far behind the in-memory tail, restarts, retention.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from "amqplib";
import { referenceBroker, startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api } from "../helpers/http.ts";
import { cleanupRestartBrokers, connect, start, stop, tempDir } from "../helpers/restart_brokers.ts";

setDefaultTimeout(60_000);

const REF = referenceBroker();
if (!REF) console.warn("RABBITMQ_REF_URL unset: stream tests run against Warren only");

let b: TestBroker;
beforeAll(async () => {
  b = await startTestBroker();
});
afterAll(async () => {
  await b.stop();
  await cleanupRestartBrokers();
});

const targets = [{ name: "Warren", url: () => b.url }, ...(REF ? [{ name: "RabbitMQ", url: () => REF.url }] : [])];

let unique = 0;
const streamName = (what: string) => `stream-test-${what}-${process.pid}-${Date.now()}-${unique++}`;
const STREAM = { durable: true, arguments: { "x-queue-type": "stream" } };

/** What closed: "channel 406 <text>", "connection 540 <text>", or "open". */
async function outcome(conn: ChannelModel, ch: Channel, action: () => Promise<unknown>): Promise<string> {
  let closed = "";
  conn.on("error", (err: { code?: number; message: string }) => (closed ||= `connection ${err.code} ${replyText(err.message)}`));
  ch.on("error", (err: { code?: number; message: string }) => (closed ||= `channel ${err.code} ${replyText(err.message)}`));
  try {
    await action();
  } catch {
    // the close events say what happened
  }
  await new Promise((r) => setTimeout(r, 100));
  return closed || "open";
}
const replyText = (message: string) => /with message "(.*)"$/.exec(message)?.[1] ?? message;

/** Publishes bodies m0..m{n-1} with confirms. */
async function publish(conn: ChannelModel, queue: string, n: number, prefix = "m"): Promise<void> {
  const ch = await conn.createConfirmChannel();
  for (let i = 0; i < n; i++) ch.sendToQueue(queue, Buffer.from(`${prefix}${i}`));
  await ch.waitForConfirms();
  await ch.close();
}

/** Consumes with x-stream-offset = `offset` (undefined: none), acking each, until `count` arrived or `ms` passed. */
async function read(conn: ChannelModel, queue: string, offset: unknown, count: number, ms = 2000): Promise<string[]> {
  const ch = await conn.createChannel();
  await ch.prefetch(50);
  const got: string[] = [];
  let done: () => void = () => {};
  const enough = new Promise<void>((r) => (done = r));
  const args = offset === undefined ? {} : { "x-stream-offset": offset };
  await ch.consume(queue, (m: ConsumeMessage | null) => {
    if (!m) return;
    got.push(`${m.content}@${m.properties.headers?.["x-stream-offset"]}`);
    ch.ack(m);
    if (got.length >= count) done();
  }, { arguments: args });
  await Promise.race([enough, new Promise((r) => setTimeout(r, ms))]);
  await ch.close();
  return got;
}

/** An AMQP timestamp (seconds) as amqplib encodes one. */
const timestamp = (ms: number) => ({ "!": "timestamp", value: Math.floor(ms / 1000) });
const range = (from: number, to: number, prefix = "m") => Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}@${from + i}`);

for (const target of targets) {
  describe(`streams on ${target.name}`, () => {
    let conn: ChannelModel;
    beforeAll(async () => {
      conn = await amqp.connect(target.url());
    });
    afterAll(async () => {
      await conn.close().catch(() => {});
    });

    test("declare: durable only, not exclusive or auto-delete; stream arguments checked; server-named refused", async () => {
      const cases: [string, { durable?: boolean; exclusive?: boolean; autoDelete?: boolean; arguments?: object }, string][] = [
        ["nd", { durable: false }, "invalid property 'non-durable'"],
        ["ex", { durable: true, exclusive: true }, "invalid property 'exclusive-owner'"],
        ["ad", { durable: true, autoDelete: true }, "invalid property 'auto-delete'"],
        ["age", { durable: true, arguments: { "x-max-age": "1X" } }, "invalid arg 'x-max-age'"],
        ["len", { durable: true, arguments: { "x-max-length": 10 } }, "of queue type rabbit_stream_queue"],
        ["ttl", { durable: true, arguments: { "x-message-ttl": 1000 } }, "of queue type rabbit_stream_queue"],
        ["loc", { durable: true, arguments: { "x-queue-leader-locator": "bogus" } }, "invalid_queue_locator_arg"],
      ];
      for (const [what, options, text] of cases) {
        const c = await amqp.connect(target.url());
        const ch = await c.createChannel();
        const name = streamName(what);
        const args = { "x-queue-type": "stream", ...options.arguments };
        const got = await outcome(c, ch, () => ch.assertQueue(name, { ...options, arguments: args }));
        expect(got).toStartWith("channel 406 PRECONDITION_FAILED - ");
        expect(got).toContain(text);
        expect(got).toContain(`for queue '${name}' in vhost '/'`);
        await c.close().catch(() => {});
      }
      const ch = await conn.createChannel();
      const name = streamName("ok");
      const ok = await ch.assertQueue(name, {
        durable: true,
        arguments: {
          "x-queue-type": "stream",
          "x-max-age": "7D",
          "x-max-length-bytes": 1_000_000,
          "x-stream-max-segment-size-bytes": 500_000,
        },
      });
      expect([ok.messageCount, ok.consumerCount]).toEqual([0, 0]);
      await ch.deleteQueue(name);
      await ch.close();
      const c = await amqp.connect(target.url());
      const ch2 = await c.createChannel();
      expect(await outcome(c, ch2, () => ch2.assertQueue("", STREAM))).toBe(
        "channel 406 PRECONDITION_FAILED - Cannot declare a server-named queue for type rabbit_stream_queue",
      );
      await c.close().catch(() => {});
    });

    test("consumers read from x-stream-offset; every delivery carries its offset; acks remove nothing", async () => {
      const name = streamName("offsets");
      const ch = await conn.createChannel();
      await ch.assertQueue(name, STREAM);
      await publish(conn, name, 10);
      expect(await read(conn, name, "first", 10)).toEqual(range(0, 10));
      expect(await read(conn, name, 0, 10)).toEqual(range(0, 10)); // acked above, still there
      expect(await read(conn, name, 5, 5)).toEqual(range(5, 10));
      expect(await read(conn, name, -1, 10)).toEqual(range(0, 10));
      expect(await read(conn, name, "10m", 10)).toEqual(range(0, 10));
      expect(await read(conn, name, timestamp(0), 10)).toEqual(range(0, 10));
      // next (and no offset at all): only what comes after the consumer started
      const later = Promise.all([
        read(conn, name, "next", 1, 3000),
        read(conn, name, undefined, 1, 3000),
        read(conn, name, 1_000_000, 1, 1500),
      ]);
      await new Promise((r) => setTimeout(r, 500));
      await publish(conn, name, 1, "late");
      const [next, none, beyond] = await later;
      expect(next).toEqual(["late0@10"]);
      expect(none).toEqual(["late0@10"]);
      expect(beyond).toEqual([]); // it waits for offset 1,000,000
      await ch.deleteQueue(name);
      await ch.close();
    });

    test("a consumer needs a prefetch and manual acks; get, purge, nack and reject are refused", async () => {
      const name = streamName("refusals");
      const setup = await conn.createChannel();
      await setup.assertQueue(name, STREAM);
      await publish(conn, name, 3);
      const attempt = async (act: (ch: Channel) => Promise<unknown>, prefetch = 10) => {
        const c = await amqp.connect(target.url());
        const ch = await c.createChannel();
        if (prefetch > 0) await ch.prefetch(prefetch);
        const got = await outcome(c, ch, () => act(ch));
        await c.close().catch(() => {});
        return got;
      };
      const q = `queue '${name}' in vhost '/'`;
      expect(await attempt((ch) => ch.consume(name, () => {}), 0)).toBe(
        `channel 406 PRECONDITION_FAILED - consumer prefetch count is not set for '${q}'`,
      );
      expect(await attempt((ch) => ch.consume(name, () => {}, { noAck: true }))).toBe(
        `connection 540 NOT_IMPLEMENTED - automatic acknowledgement not supported by stream queues ${q}`,
      );
      expect(await attempt((ch) => ch.consume(name, () => {}, { arguments: { "x-stream-offset": "5" } }))).toBe(
        `channel 406 PRECONDITION_FAILED - invalid arg 'x-stream-offset' for ${q}: {invalid_stream_offset_arg,{longstr,<<"5">>}}`,
      );
      expect(await attempt((ch) => ch.consume(name, () => {}, { arguments: { "x-priority": 10 } }))).toBe(
        `channel 406 PRECONDITION_FAILED - invalid arg 'x-priority' for ${q} of queue type rabbit_stream_queue`,
      );
      expect(await attempt((ch) => ch.get(name))).toBe(`connection 540 NOT_IMPLEMENTED - basic.get not supported by stream queues ${q}`);
      expect(await attempt((ch) => ch.purgeQueue(name))).toBe(
        `connection 540 NOT_IMPLEMENTED - queue.purge not supported by stream queues ${q}`,
      );
      for (const settle of ["nack", "reject"] as const) {
        const got = await attempt(async (ch) => {
          await new Promise<void>((resolve) => {
            void ch.consume(name, (m) => {
              if (settle === "nack") ch.nack(m!, false, true);
              else ch.reject(m!, false);
              resolve();
            }, { arguments: { "x-stream-offset": "first" } });
          });
          await new Promise((r) => setTimeout(r, 300));
        });
        expect(got).toBe(`connection 540 NOT_IMPLEMENTED - basic.nack and basic.reject not supported by stream queues ${q}`);
      }
      // queue.delete ignores if-empty and if-unused for a stream, and counts 0 messages.
      const other = streamName("delete");
      await setup.assertQueue(other, STREAM);
      await publish(conn, other, 3);
      const holder = await conn.createChannel();
      await holder.prefetch(1);
      await holder.consume(other, () => {});
      expect(await setup.deleteQueue(other, { ifEmpty: true, ifUnused: true })).toEqual({ messageCount: 0 });
      // Exclusive consumers keep nobody out of a stream.
      const ex = await conn.createChannel();
      await ex.prefetch(10);
      await ex.consume(name, () => {}, { exclusive: true });
      await ex.consume(name, () => {}, { exclusive: true });
      await ex.close();
      expect(await read(conn, name, "first", 3)).toEqual(range(0, 3));
      await setup.deleteQueue(name);
      await setup.close();
    });

    test("a timestamp after the last message reads only what comes next", async () => {
      const name = streamName("time");
      const ch = await conn.createChannel();
      await ch.assertQueue(name, STREAM);
      await publish(conn, name, 5, "a");
      await new Promise((r) => setTimeout(r, 1100));
      const from = Math.ceil(Date.now() / 1000) * 1000 + 1000; // a whole second: timestamps are in seconds
      await new Promise((r) => setTimeout(r, from - Date.now() + 50));
      await publish(conn, name, 5, "b");
      const got = await read(conn, name, timestamp(from), 5);
      expect(got).toEqual(["b0@5", "b1@6", "b2@7", "b3@8", "b4@9"]);
      await ch.deleteQueue(name);
      await ch.close();
    });
  });
}

describe("streams on Warren", () => {
  test("20 streams with 3 consumers each at once: every consumer reads every message, in order; listed as type stream", async () => {
    const conn = await amqp.connect(b.url);
    const names = Array.from({ length: 20 }, (_, i) => streamName(`many${i}`));
    const ch = await conn.createChannel();
    for (const n of names) await ch.assertQueue(n, STREAM);
    const readers = names.flatMap((
      n,
    ) => [read(conn, n, "first", 300, 20_000), read(conn, n, "next", 300, 20_000), read(conn, n, 0, 300, 20_000)]);
    await new Promise((r) => setTimeout(r, 300));
    await Promise.all(names.map((n) => publish(conn, n, 300)));
    for (const got of await Promise.all(readers)) expect(got).toEqual(range(0, 300));
    const listed = await api(b.httpUrl, "GET", `/api/queues/%2F/${encodeURIComponent(names[0]!)}`);
    expect([listed.body.type, listed.body.messages, listed.body.durable]).toEqual(["stream", 300, true]);
    for (const n of names) await ch.deleteQueue(n);
    await conn.close();
  });

  test("a consumer far behind reads the stored part page by page, with offsets and timestamps", async () => {
    const conn = await amqp.connect(b.url);
    const name = streamName("behind");
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue(name, STREAM);
    const body = Buffer.alloc(1000, 1);
    for (let i = 0; i < 6000; i++) ch.sendToQueue(name, body, { headers: { i } });
    await ch.waitForConfirms();
    const middle = Date.now();
    await new Promise((r) => setTimeout(r, 1100));
    for (let i = 6000; i < 9000; i++) ch.sendToQueue(name, body, { headers: { i } });
    await ch.waitForConfirms();
    const offsetsFrom = async (offset: unknown, count: number) => {
      const c = await conn.createChannel();
      await c.prefetch(500);
      const seen: number[] = [];
      let done: () => void = () => {};
      const all = new Promise<void>((r) => (done = r));
      await c.consume(name, (m) => {
        const o = Number(m!.properties.headers!["x-stream-offset"]);
        if (o !== m!.properties.headers!.i) throw new Error(`offset ${o} carries message ${m!.properties.headers!.i}`);
        seen.push(o);
        c.ack(m!);
        if (seen.length === count) done();
      }, { arguments: { "x-stream-offset": offset } });
      await Promise.race([all, new Promise((r) => setTimeout(r, 20_000))]);
      await c.close();
      return seen;
    };
    const first = await offsetsFrom("first", 9000);
    expect(first.length).toBe(9000);
    expect(first.every((o, i) => o === i)).toBe(true);
    const fromTime = await offsetsFrom(timestamp(middle + 1000), 3000);
    expect([fromTime[0], fromTime.length]).toEqual([6000, 3000]);
    expect((await offsetsFrom(1234, 100)).slice(0, 3)).toEqual([1234, 1235, 1236]);
    await ch.deleteQueue(name);
    await conn.close();
  });

  test("a stream, transient messages included, and its offsets survive a restart; new messages go on from the last offset", async () => {
    const dir = await tempDir();
    const first = await start(dir);
    const names = [streamName("r1"), streamName("r2"), streamName("r3")];
    let conn = await connect(first.url);
    const ch = await conn.createConfirmChannel();
    for (const n of names) await ch.assertQueue(n, STREAM);
    // Transient messages too: RabbitMQ's streams keep every message.
    for (const n of names) for (let i = 0; i < 3000; i++) ch.sendToQueue(n, Buffer.from(`m${i}`), { persistent: i % 2 === 0 });
    await ch.waitForConfirms();
    await conn.close();
    await stop(first.broker);
    const second = await start(dir);
    conn = await connect(second.url);
    const ch2 = await conn.createConfirmChannel();
    for (const n of names) {
      expect((await ch2.checkQueue(n)).messageCount).toBe(3000);
      expect(second.broker.vhosts.get("/")!.queues.get(n)!.persistentCount).toBe(3000);
      ch2.sendToQueue(n, Buffer.from("after"), { persistent: true });
    }
    await ch2.waitForConfirms();
    for (const n of names) expect(await read(conn, n, "first", 3001, 10_000)).toEqual([...range(0, 3000), "after@3000"]);
    expect(await read(conn, names[0]!, "last", 1)).toEqual(["after@3000"]);
    await conn.close();
    await stop(second.broker);
  });

  test("a policy that applies to streams sets their retention; the management API shows no unacked deliveries", async () => {
    const prefix = streamName("policy");
    const put = (definition: object) =>
      api(b.httpUrl, "PUT", `/api/policies/%2F/${prefix}`, { pattern: `^${prefix}`, definition, "apply-to": "streams" });
    expect((await put({ "max-age": "1X" })).status).toBe(400);
    expect((await put({ "max-length-bytes": 2000, "stream-max-segment-size-bytes": 500, "max-age": "7D" })).status).toBe(201);
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    const stream = `${prefix}-s`, classic = `${prefix}-c`;
    await ch.assertQueue(stream, STREAM);
    await ch.assertQueue(classic, { durable: true });
    await publish(conn, stream, 100, "x".repeat(97));
    await publish(conn, classic, 100, "x".repeat(97));
    const s = (await api(b.httpUrl, "GET", `/api/queues/%2F/${stream}`)).body;
    expect([s.policy, s.type, s.leader === s.node, s.members]).toEqual([prefix, "stream", true, [s.node]]);
    expect(s.messages).toBeLessThan(30); // trimmed by the policy's byte limit
    expect(s.messages_persistent).toBe(s.messages);
    expect((await api(b.httpUrl, "GET", `/api/queues/%2F/${classic}`)).body.messages).toBe(100); // not a stream
    // A consumer holding deliveries: nothing is unacknowledged in a stream's figures.
    const c = await conn.createChannel();
    await c.prefetch(5);
    await c.consume(stream, () => {}, { arguments: { "x-stream-offset": "first" } });
    await new Promise((r) => setTimeout(r, 200));
    const held = (await api(b.httpUrl, "GET", `/api/queues/%2F/${stream}`)).body;
    expect([held.messages_unacknowledged, held.messages, held.consumers]).toEqual([0, s.messages, 1]);
    await c.close();
    await ch.deleteQueue(stream);
    await ch.deleteQueue(classic);
    await conn.close();
    await api(b.httpUrl, "DELETE", `/api/policies/%2F/${prefix}`);
  });

  test("definitions carry a stream: exported with its arguments, imported into another broker as a stream", async () => {
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    const name = streamName("defs");
    await ch.assertQueue(name, { durable: true, arguments: { "x-queue-type": "stream", "x-max-age": "2D" } });
    const defs = (await api(b.httpUrl, "GET", "/api/definitions")).body;
    const exported = defs.queues.find((q: { name: string }) => q.name === name);
    expect(exported.arguments).toEqual({ "x-queue-type": "stream", "x-max-age": "2D" });
    const other = await startTestBroker();
    try {
      expect((await api(other.httpUrl, "POST", "/api/definitions", { queues: [exported] })).status).toBeLessThan(300);
      const q = (await api(other.httpUrl, "GET", `/api/queues/%2F/${name}`)).body;
      expect([q.type, q.arguments["x-max-age"]]).toEqual(["stream", "2D"]);
      const c = await amqp.connect(other.url);
      await publish(c, name, 3);
      expect(await read(c, name, "first", 3)).toEqual(range(0, 3));
      await c.close();
    } finally {
      await other.stop();
    }
    await ch.deleteQueue(name);
    await conn.close();
  });

  test("a byte limit set by a policy after the stream filled trims what is already stored, by whole segments", async () => {
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    const name = streamName("late-policy");
    await ch.assertQueue(name, { durable: true, arguments: { "x-queue-type": "stream", "x-stream-max-segment-size-bytes": 500 } });
    await publish(conn, name, 100, "x".repeat(97));
    expect((await ch.checkQueue(name)).messageCount).toBe(100); // no limit yet: nothing goes
    const put = await api(b.httpUrl, "PUT", `/api/policies/%2F/${name}`, {
      pattern: `^${name}$`,
      definition: { "max-length-bytes": 2000 },
      "apply-to": "streams",
    });
    expect(put.status).toBe(201);
    const kept = await read(conn, name, "first", 100, 1000);
    expect(kept.length).toBeLessThan(30);
    expect(kept.length).toBeGreaterThan(15); // whole 500-byte segments: about 2,000 bytes stay
    expect(kept.at(-1)).toEndWith("@99");
    await ch.deleteQueue(name);
    await conn.close();
    await api(b.httpUrl, "DELETE", `/api/policies/%2F/${name}`);
  });

  test("retention drops whole segments from the head: x-max-length-bytes and x-max-age", async () => {
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    const bytes = streamName("bytes");
    await ch.assertQueue(bytes, {
      durable: true,
      arguments: { "x-queue-type": "stream", "x-max-length-bytes": 2000, "x-stream-max-segment-size-bytes": 500 },
    });
    await publish(conn, bytes, 100, "x".repeat(97)); // 100 messages of 99-100 bytes
    const kept = await read(conn, bytes, "first", 100, 1000);
    const firstKept = Number(kept[0]!.split("@")[1]);
    expect(firstKept).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(30); // about 2,000 bytes and the segment being written
    expect(kept.at(-1)).toEndWith("@99");
    expect((await ch.checkQueue(bytes)).messageCount).toBe(kept.length);

    const age = streamName("age");
    await ch.assertQueue(age, {
      durable: true,
      arguments: { "x-queue-type": "stream", "x-max-age": "1s", "x-stream-max-segment-size-bytes": 500 },
    });
    await publish(conn, age, 50, "old".padEnd(50, "."));
    await new Promise((r) => setTimeout(r, 1500));
    await publish(conn, age, 20, "new".padEnd(50, "."));
    const left = await read(conn, age, "first", 70, 1000);
    // The segments that ended over a second ago went; old messages share at most the segment
    // the new ones started in (500 bytes: under ten of them).
    expect(left[0]).not.toStartWith("old0");
    expect(left.filter((m) => m.startsWith("old")).length).toBeLessThan(10);
    expect(left.filter((m) => m.startsWith("new")).length).toBe(20);
    await ch.deleteQueue(bytes);
    await ch.deleteQueue(age);
    await conn.close();
  });
});
