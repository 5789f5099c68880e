// Resource alarms over real TCP: while an alarm is set, a connection that publishes is blocked
// (connection.blocked to clients that announced the capability, nothing more read from it, not
// even the rest of the chunk it was reading) and connections that only consume keep draining;
// when every alarm has cleared, connection.unblocked and the held publishes go through.
// The alarms are driven through broker.alarms (watermark and disk limit), never by timing.
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import amqp, { type ChannelModel } from "amqplib";
import { writeBodyFrames, writeContentHeaderFrame, writeMethodFrame } from "../../src/amqp/frames.ts";
import { MethodId } from "../../src/amqp/spec/methods.gen.ts";
import { Writer } from "../../src/amqp/writer.ts";
import type { Connection } from "../../src/connection/connection.ts";
import { startTestBroker, type TestBroker, withTimeout } from "../helpers/broker.ts";
import { openRawConnection, type RawClient } from "../helpers/raw_client.ts";
import type { SqliteStore } from "../../storage/sqlite_store.ts";
import { until } from "../helpers/until.ts";

setDefaultTimeout(30_000);

/** Thresholds no machine reaches: no alarm unless a test sets one. */
const NEVER = { memoryHighWatermark: Number.MAX_SAFE_INTEGER, diskFreeLimit: 0 };
const TINY_WATERMARK = 2; // bytes (a value ≤ 1 would be a fraction): the memory alarm is set at once

/** The broker's side of the connection `open` makes. */
async function serverSide<T>(b: TestBroker, open: () => Promise<T>): Promise<[T, Connection]> {
  const before = new Set(b.broker.connections);
  const client = await open();
  const server = [...b.broker.connections].find((c) => !before.has(c));
  if (!server) throw new Error("the broker did not register the new connection");
  return [client, server];
}

/** basic.publish + header + body for each body, in one buffer: one socket write, one chunk. */
function publishes(channel: number, queue: string, bodies: string[]): Uint8Array {
  const w = new Writer(1024);
  for (const body of bodies) {
    const bytes = new TextEncoder().encode(body);
    writeMethodFrame(w, channel, {
      id: MethodId.BasicPublish,
      ticket: 0,
      exchange: "",
      routingKey: queue,
      mandatory: false,
      immediate: false,
    });
    writeContentHeaderFrame(w, channel, 60, bytes.length, new Uint8Array([0, 0]));
    writeBodyFrames(w, channel, bytes, 0);
  }
  return w.written().slice();
}

async function drain(ch: amqp.Channel, queue: string): Promise<string[]> {
  const bodies: string[] = [];
  for (let m = await ch.get(queue, { noAck: true }); m; m = await ch.get(queue, { noAck: true })) bodies.push(m.content.toString());
  return bodies;
}

describe("alarms raised and cleared at run time", () => {
  let b: TestBroker;
  let admin: ChannelModel;
  let adminCh: amqp.Channel;
  const closers: (() => unknown)[] = [];
  const count = async (queue: string) => (await adminCh.checkQueue(queue)).messageCount;

  beforeAll(async () => {
    b = await startTestBroker(NEVER);
    admin = await amqp.connect(b.url);
    adminCh = await admin.createChannel();
  });
  afterEach(async () => {
    b.broker.alarms.setMemoryHighWatermark(NEVER.memoryHighWatermark);
    b.broker.alarms.setDiskFreeLimit(NEVER.diskFreeLimit);
    for (const close of closers.splice(0)) await Promise.resolve(close()).catch(() => {});
  });
  afterAll(async () => {
    await admin.close().catch(() => {});
    await b.stop();
  });

  test("a publisher gets connection.blocked 'low on memory', its publishes wait, and go through after connection.unblocked", async () => {
    await adminCh.assertQueue("alarm-q1");
    const publisher = await amqp.connect(b.url);
    closers.push(() => publisher.close());
    const events: string[] = [];
    publisher.on("blocked", (reason: string) => events.push(`blocked: ${reason}`));
    publisher.on("unblocked", () => events.push("unblocked"));
    const pubCh = await publisher.createChannel();

    b.broker.alarms.setMemoryHighWatermark(TINY_WATERMARK);
    expect([...b.broker.alarms.current]).toEqual(["memory"]);

    pubCh.sendToQueue("alarm-q1", Buffer.from("during-1"));
    await until("connection.blocked", () => events.length > 0);
    expect(events).toEqual(["blocked: low on memory"]);
    pubCh.sendToQueue("alarm-q1", Buffer.from("during-2"));
    pubCh.sendToQueue("alarm-q1", Buffer.from("during-3"));
    // As rabbit_reader: blocked at the publish method frame, so even the publish that found the
    // alarm waits (its body is not read); the later ones are not read while blocked either.
    // The admin connection's round trips go through meanwhile: only the publisher is blocked.
    expect(await count("alarm-q1")).toBe(0);
    expect(await count("alarm-q1")).toBe(0);

    b.broker.alarms.setMemoryHighWatermark(NEVER.memoryHighWatermark);
    expect(b.broker.alarms.current.size).toBe(0);
    await until("connection.unblocked", () => events.length === 2);
    expect(events).toEqual(["blocked: low on memory", "unblocked"]);
    await until("the held publishes", async () => (await count("alarm-q1")) === 3);
    expect(await drain(adminCh, "alarm-q1")).toEqual(["during-1", "during-2", "during-3"]);
  });

  test("publishes already in the chunk being read when the block starts are held, not processed", async () => {
    await adminCh.assertQueue("alarm-q2");
    // The raw client does not announce the connection.blocked capability.
    const [raw, server] = await serverSide(b, () => openRawConnection(b.port));
    closers.push(() => raw.destroy());
    await raw.openChannel(1);

    b.broker.alarms.setMemoryHighWatermark(TINY_WATERMARK);
    raw.send(publishes(1, "alarm-q2", ["one", "two", "three"]));
    await until("the connection to be blocked", () => server.blocked);
    // Blocked at the first publish method frame: its header and body wait with the rest.
    expect(await count("alarm-q2")).toBe(0);

    b.broker.alarms.setMemoryHighWatermark(NEVER.memoryHighWatermark);
    expect(server.blocked).toBe(false);
    await until("the held publishes", async () => (await count("alarm-q2")) === 3);
    expect(await drain(adminCh, "alarm-q2")).toEqual(["one", "two", "three"]);

    // A round trip proves the connection is read again; no blocked/unblocked without the capability.
    raw.sendMethod(1, {
      id: MethodId.QueueDeclare,
      ticket: 0,
      queue: "alarm-q2",
      passive: true,
      durable: false,
      exclusive: false,
      autoDelete: false,
      nowait: false,
      arguments: {},
    });
    await raw.waitForMethod(MethodId.QueueDeclareOk, 10_000);
    const ids = raw.frames.map((f) => f.method?.id);
    expect(ids).not.toContain(MethodId.ConnectionBlocked);
    expect(ids).not.toContain(MethodId.ConnectionUnblocked);
  });

  test("a connection that only consumes keeps receiving and acking during the alarm", async () => {
    await adminCh.assertQueue("alarm-q3");
    for (let i = 0; i < 20; i++) adminCh.sendToQueue("alarm-q3", Buffer.from(`m${i}`));
    await until("the backlog", async () => (await count("alarm-q3")) === 20);

    const consumer = await amqp.connect(b.url);
    closers.push(() => consumer.close());
    const events: string[] = [];
    consumer.on("blocked", () => events.push("blocked"));
    const ch = await consumer.createChannel();
    await ch.prefetch(1); // each next delivery needs the previous ack to have been read

    b.broker.alarms.setMemoryHighWatermark(TINY_WATERMARK);
    b.broker.alarms.setDiskFreeLimit(Number.MAX_SAFE_INTEGER);
    expect([...b.broker.alarms.current].sort()).toEqual(["disk", "memory"]);

    const received: string[] = [];
    const all = new Promise<void>((resolve) => {
      void ch.consume("alarm-q3", (m) => {
        if (!m) return;
        received.push(m.content.toString());
        ch.ack(m);
        if (received.length === 20) resolve();
      });
    });
    await withTimeout(all, 20_000, "20 deliveries during the alarm");
    expect(received).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    // The acks were read: the queue is empty, and the consumer's own round trip is answered.
    await until("the acks", async () => (await ch.checkQueue("alarm-q3")).messageCount === 0 && (await count("alarm-q3")) === 0);
    expect(b.broker.alarms.current.size).toBe(2);
    expect(events).toEqual([]);
  });

  test("a connection that published before the alarm is blocked only when it publishes again", async () => {
    await adminCh.assertQueue("alarm-q4");
    const publisher = await amqp.connect(b.url);
    closers.push(() => publisher.close());
    const events: string[] = [];
    publisher.on("blocked", (reason: string) => events.push(`blocked: ${reason}`));
    const ch = await publisher.createChannel();
    ch.sendToQueue("alarm-q4", Buffer.from("before"));
    await until("the first publish", async () => (await count("alarm-q4")) === 1);

    b.broker.alarms.setMemoryHighWatermark(TINY_WATERMARK);
    expect((await ch.checkQueue("alarm-q4")).messageCount).toBe(1); // still read: not blocked
    expect(events).toEqual([]);

    ch.sendToQueue("alarm-q4", Buffer.from("after"));
    await until("connection.blocked", () => events.length > 0);
    expect(events).toEqual(["blocked: low on memory"]);
    await drain(adminCh, "alarm-q4");
  });

  test("the disk alarm blocks with 'low on disk', both with 'low on memory & disk', and unblocking waits for both to clear", async () => {
    await adminCh.assertQueue("alarm-q5");
    b.broker.alarms.setDiskFreeLimit(Number.MAX_SAFE_INTEGER);
    expect([...b.broker.alarms.current]).toEqual(["disk"]);
    // The store is told, so that a drain does not defer giving space back (storage/reclaim.ts).
    const store = b.broker.store as SqliteStore;
    expect(store.diskAlarmOn).toBe(true);

    const diskOnly = await amqp.connect(b.url);
    closers.push(() => diskOnly.close());
    const diskEvents: string[] = [];
    diskOnly.on("blocked", (reason: string) => diskEvents.push(`blocked: ${reason}`));
    diskOnly.on("unblocked", () => diskEvents.push("unblocked"));
    (await diskOnly.createChannel()).sendToQueue("alarm-q5", Buffer.from("d"));
    await until("connection.blocked (disk)", () => diskEvents.length > 0);
    expect(diskEvents).toEqual(["blocked: low on disk"]);

    b.broker.alarms.setMemoryHighWatermark(TINY_WATERMARK);
    const [both, server] = await serverSide(b, () => amqp.connect(b.url));
    closers.push(() => both.close());
    const bothEvents: string[] = [];
    both.on("blocked", (reason: string) => bothEvents.push(`blocked: ${reason}`));
    both.on("unblocked", () => bothEvents.push("unblocked"));
    (await both.createChannel()).sendToQueue("alarm-q5", Buffer.from("m"));
    await until("connection.blocked (memory & disk)", () => bothEvents.length > 0);
    expect(bothEvents).toEqual(["blocked: low on memory & disk"]);

    b.broker.alarms.setDiskFreeLimit(0); // memory is still set: nobody is unblocked
    expect([...b.broker.alarms.current]).toEqual(["memory"]);
    expect(store.diskAlarmOn).toBe(false);
    expect(server.blocked).toBe(true);
    b.broker.alarms.setMemoryHighWatermark(NEVER.memoryHighWatermark);
    await until("connection.unblocked on both", () => diskEvents.length === 2 && bothEvents.length === 2);
    expect(diskEvents).toEqual(["blocked: low on disk", "unblocked"]);
    expect(bothEvents).toEqual(["blocked: low on memory & disk", "unblocked"]);
    await until("both publishes", async () => (await count("alarm-q5")) === 2);
    await drain(adminCh, "alarm-q5");
  });
});

describe("a broker started with a tiny memory watermark", () => {
  let b: TestBroker;
  const raws: RawClient[] = [];

  beforeAll(async () => {
    // A long close timeout: a connection that never read close-ok would stay up for a minute.
    b = await startTestBroker({ memoryHighWatermark: TINY_WATERMARK, diskFreeLimit: 0, closeTimeoutMs: 60_000 });
  });
  afterAll(async () => {
    for (const raw of raws) raw.destroy();
    // The memory alarm also sets process-wide memory pressure (queue paging): clear it first.
    b.broker.alarms.setMemoryHighWatermark(NEVER.memoryHighWatermark);
    await b.stop();
  });

  test("the alarm is set at boot and the first publish blocks the publisher", async () => {
    expect([...b.broker.alarms.current]).toEqual(["memory"]);
    const conn = await amqp.connect(b.url);
    const events: string[] = [];
    conn.on("blocked", (reason: string) => events.push(`blocked: ${reason}`));
    const ch = await conn.createChannel();
    await ch.assertQueue("boot-q"); // declaring is not publishing: answered
    ch.sendToQueue("boot-q", Buffer.from("x"));
    await until("connection.blocked", () => events.length > 0);
    expect(events).toEqual(["blocked: low on memory"]);
    conn.on("error", () => {}); // a blocked client cannot finish close(): drop the socket
    (conn.connection as unknown as { stream: { destroy(): void } }).stream.destroy();
  });

  test("a blocked connection still reads the client's close-ok when the broker closes it", async () => {
    const [raw, server] = await serverSide(
      b,
      () => openRawConnection(b.port, { clientProperties: { capabilities: { "connection.blocked": true } } }),
    );
    raws.push(raw);
    await raw.openChannel(1);
    raw.send(publishes(1, "boot-q", ["y"]));
    const blocked = await raw.waitForMethod(MethodId.ConnectionBlocked, 10_000);
    expect(blocked.reason).toBe("low on memory");
    expect(server.blocked).toBe(true);

    server.forceClose("test");
    const close = await raw.waitForMethod(MethodId.ConnectionClose, 10_000);
    expect(close.replyCode).toBe(320);
    raw.sendMethod(0, { id: MethodId.ConnectionCloseOk });
    await raw.waitForClose(20_000); // well before the 60 s close timeout
  });
});
