// Content bodies that arrive in several frames: the buffer grows with the bytes that arrive
// instead of reserving the declared size, partially received bodies are counted per connection
// and per broker (and drive the memory alarm), and during an alarm a publisher is blocked at the
// method frame, before its body is read (issue #15 point 3).
import { afterAll, beforeAll, expect, test } from "bun:test";
import amqp from "amqplib";
import { readFileSync } from "node:fs";
import { FRAME_BODY, FRAME_HEADER } from "../../src/amqp/spec/constants.gen.ts";
import { MethodId } from "../../src/amqp/spec/methods.gen.ts";
import type { Connection } from "../../src/connection/connection.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { openRawConnection, type RawClient } from "../helpers/raw_client.ts";
import { contentHeaderPayload } from "../helpers/raw_messages.ts";

const DECLARED = 128 * 1024 * 1024; // max_message_size: accepted, so it would be buffered
const CHANNELS = 200;
const FIRST_CHUNK = 1000;

let b: TestBroker;
beforeAll(async () => {
  b = await startTestBroker({ memoryHighWatermark: Number.MAX_SAFE_INTEGER, diskFreeLimit: 0 });
});
afterAll(() => b.stop());

/** Virtual memory of this process (the broker runs in it), from /proc; undefined elsewhere. */
function vmSize(): number | undefined {
  try {
    const m = /VmSize:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function serverSide(open: () => Promise<RawClient>): Promise<[RawClient, Connection]> {
  const before = new Set(b.broker.connections);
  const client = await open();
  const server = [...b.broker.connections].find((c) => !before.has(c));
  if (!server) throw new Error("the broker did not register the new connection");
  return [client, server];
}

/** basic.publish and a content header declaring `size` bytes, then the first `chunk` bytes of it. */
function startPublish(c: RawClient, channel: number, size: number, chunk: number): void {
  c.sendMethod(channel, { id: MethodId.BasicPublish, ticket: 0, exchange: "", routingKey: "nowhere", mandatory: false, immediate: false });
  c.sendFrame(FRAME_HEADER, channel, contentHeaderPayload(size, new Uint8Array([0, 0])));
  if (chunk > 0) c.sendFrame(FRAME_BODY, channel, new Uint8Array(chunk).fill(7));
}

/** A round trip on a fresh channel: every frame sent before it has been processed. */
async function roundTrip(c: RawClient, channel: number): Promise<void> {
  await c.openChannel(channel);
}

test("bodies declared 128 MiB on 200 channels hold what arrived (in 256 KiB buffers), not 25 GiB", async () => {
  const before = vmSize();
  const [c, server] = await serverSide(() => openRawConnection(b.port));
  try {
    for (let ch = 1; ch <= CHANNELS; ch++) await c.openChannel(ch);
    for (let ch = 1; ch <= CHANNELS; ch++) startPublish(c, ch, DECLARED, FIRST_CHUNK);
    await roundTrip(c, CHANNELS + 1);
    const held = CHANNELS * 256 * 1024;
    expect(server.partialBodies.bytes).toBe(held);
    expect(b.broker.partialBodies.bytes).toBe(held);
    const after = vmSize();
    if (before !== undefined && after !== undefined) {
      // Reserving the declared sizes would add CHANNELS × 128 MiB = 25 GiB of address space.
      expect(after - before).toBeLessThan(2 * 1024 * 1024 * 1024);
    }
  } finally {
    c.destroy();
  }
  for (let i = 0; i < 200 && b.broker.partialBodies.bytes !== 0; i++) await Bun.sleep(10);
  expect(b.broker.partialBodies.bytes).toBe(0);
});

test("a body growing past 16 MiB has the memory alarm read memory at once", async () => {
  const alarms = b.broker.alarms;
  const original = alarms.check.bind(alarms);
  let checks = 0;
  alarms.check = () => {
    checks++;
    original();
  };
  const [c, server] = await serverSide(() => openRawConnection(b.port));
  try {
    await c.openChannel(1);
    startPublish(c, 1, 64 * 1024 * 1024, 0);
    const frame = new Uint8Array(128 * 1024 - 8).fill(1);
    for (let sent = 0; sent < 40 * 1024 * 1024; sent += frame.length) c.sendFrame(FRAME_BODY, 1, frame);
    await roundTrip(c, 2);
    expect(server.partialBodies.bytes).toBeGreaterThanOrEqual(40 * 1024 * 1024);
    expect(checks).toBeGreaterThanOrEqual(2);
  } finally {
    alarms.check = original;
    c.destroy();
  }
});

test("a multi-frame body arrives whole and releases what it held", async () => {
  const conn = await amqp.connect(b.url);
  try {
    const ch = await conn.createChannel();
    const q = (await ch.assertQueue("", { exclusive: true })).queue;
    const body = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
    ch.sendToQueue(q, body);
    let got: amqp.GetMessage | false = false;
    for (let i = 0; i < 200 && !got; i++) {
      got = await ch.get(q, { noAck: true });
      if (!got) await Bun.sleep(10);
    }
    expect(got && Buffer.compare(got.content, body)).toBe(0);
    expect(b.broker.partialBodies.bytes).toBe(0);
  } finally {
    await conn.close();
  }
});

test("during a memory alarm a publisher is blocked at the method frame: its body is not read", async () => {
  const [c, server] = await serverSide(() => openRawConnection(b.port));
  try {
    await c.openChannel(1);
    b.broker.alarms.setMemoryHighWatermark(2);
    startPublish(c, 1, 10 * 1024 * 1024, 64 * 1024);
    for (let i = 0; i < 400 && !server.blocked; i++) await Bun.sleep(10);
    expect(server.blocked).toBe(true);
    expect(server.partialBodies.bytes).toBe(0);
  } finally {
    b.broker.alarms.setMemoryHighWatermark(Number.MAX_SAFE_INTEGER);
    c.destroy();
  }
});
