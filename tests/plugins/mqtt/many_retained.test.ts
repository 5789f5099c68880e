// Many retained messages: their payloads live in the store's table (memory keeps topics, QoS and
// expiry), a subscription receives them a slice per turn and only while its connection's output is
// not backed up. Checked: every payload and property comes back right, also after a restart (read
// from the table); a client that stops reading holds at most about one slice beyond the output's
// limit in the broker, then gets everything once it reads again; the sender's slices.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { connect as tcpConnect, type Socket } from "node:net";
import type { Broker } from "../../../mod.ts";
import { mqttPorts } from "../../../plugins/mqtt/mod.ts";
import type { RetainedEntry, RetainedMessage, RetainedStore } from "../../../plugins/mqtt/retained.ts";
import { RetainedSender } from "../../../plugins/mqtt/retained_sender.ts";
import { Output } from "../../../plugins/mqtt/output.ts";
import type { TcpSocket } from "../../../src/runtime/tcp.ts";
import { cleanupRestartBrokers, start, stop, tempDir } from "../../helpers/restart_brokers.ts";
import { TurnCounter } from "../../helpers/turns.ts";
import { closeClients, collect, connect, connectCollecting } from "./helpers.ts";

setDefaultTimeout(60_000);
afterAll(async () => {
  await closeClients();
  await cleanupRestartBrokers();
});

/** The MQTT listener on a free port (restart_brokers starts the broker in this process). */
const MQTT = { pluginSettings: { "mqtt.listeners.tcp.default": "0", "web_mqtt.ws_path": "none" } };

async function startMqtt(dataDir: string): Promise<{ broker: Broker; url: string }> {
  const { broker } = await start(dataDir, MQTT);
  return { broker, url: `mqtt://127.0.0.1:${mqttPorts(broker).tcp}` };
}

const payloadOf = (i: number, size: number) => Buffer.alloc(size, `${i}:`);

async function retainMany(url: string, count: number, size: number, prefix: string): Promise<void> {
  const pub = await connect(url, { protocolVersion: 5 });
  for (let i = 0; i < count; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, count - i) }, (_, k) =>
        pub.publishAsync(`${prefix}/${i + k}`, payloadOf(i + k, size), {
          qos: 1,
          retain: true,
          properties: { contentType: `type-${(i + k) % 7}`, ...((i + k) % 3 === 0 ? { messageExpiryInterval: 3600 } : {}) },
        })),
    );
  }
  await pub.endAsync();
}

async function receiveAll(url: string, filter: string, count: number) {
  const sub = await connect(url, { protocolVersion: 5 });
  const got = collect(sub);
  await sub.subscribeAsync(filter, { qos: 1 });
  const messages = await got.next(count, 30_000);
  await sub.endAsync();
  return messages;
}

function expectAll(messages: Awaited<ReturnType<typeof receiveAll>>, count: number, size: number, prefix: string) {
  expect(messages.length).toBe(count);
  const seen = new Set<number>();
  for (const m of messages) {
    const i = Number(m.topic.slice(prefix.length + 1));
    seen.add(i);
    expect(m.payload).toBe(payloadOf(i, size).toString());
    expect(m.packet.retain).toBe(true);
    expect(m.packet.qos).toBe(1);
    expect(m.packet.properties?.contentType).toBe(`type-${i % 7}`);
    if (i % 3 === 0) expect(m.packet.properties?.messageExpiryInterval).toBeGreaterThan(3500);
    else expect(m.packet.properties?.messageExpiryInterval).toBeUndefined();
  }
  expect(seen.size).toBe(count);
}

test("3,000 retained messages reach a wildcard subscriber whole, before and after a restart", async () => {
  const dir = await tempDir();
  let { broker, url } = await startMqtt(dir);
  await retainMany(url, 3_000, 1024, "many");
  // One replaced and one cleared: the subscriber sees what is retained now.
  const pub = await connect(url);
  await pub.publishAsync("many/7", payloadOf(7, 1024), { qos: 1, retain: true, properties: {} });
  await pub.publishAsync("many/8", "", { qos: 1, retain: true });
  await pub.endAsync();
  const expected = (ms: Awaited<ReturnType<typeof receiveAll>>) => {
    // many/7 lost its properties when replaced by a 3.1.1 publish; many/8 is gone.
    const seven = ms.find((m) => m.topic === "many/7")!;
    expect(seven.payload).toBe(payloadOf(7, 1024).toString());
    expect(ms.some((m) => m.topic === "many/8")).toBe(false);
    return ms.filter((m) => m.topic !== "many/7");
  };
  const first = expected(await receiveAll(url, "many/#", 2_999));
  expectAll(first, 2_998, 1024, "many");
  await stop(broker);
  ({ broker, url } = await startMqtt(dir));
  const again = expected(await receiveAll(url, "many/+", 2_999));
  expectAll(again, 2_998, 1024, "many");
  await stop(broker);
});

test("retained messages published in the turn before a subscription (not yet durable) are delivered", async () => {
  const dir = await tempDir();
  const { broker, url } = await startMqtt(dir);
  const sub = await connect(url, { protocolVersion: 5 });
  const got = collect(sub);
  const pub = await connect(url, { protocolVersion: 5 });
  // QoS 0: no PUBACK waits for the commit, so the SUBSCRIBE may come before it.
  for (let i = 0; i < 200; i++) {
    pub.publish(`fresh/${i}`, payloadOf(i, 100), { qos: 0, retain: true, properties: { contentType: `type-${i % 7}` } });
  }
  await pub.endAsync();
  await sub.subscribeAsync("fresh/#", { qos: 1 });
  const messages = await got.next(200);
  for (const m of messages) expect(m.payload).toBe(payloadOf(Number(m.topic.slice(6)), 100).toString());
  await sub.endAsync();
  await stop(broker);
});

/** MQTT 3.1.1 CONNECT and SUBSCRIBE, by hand, so the test controls when the socket reads. */
function rawSubscriber(port: number, filter: string): Promise<Socket> {
  const str = (s: string) => Buffer.concat([Buffer.from([s.length >> 8, s.length & 255]), Buffer.from(s)]);
  const packet = (type: number, body: Buffer) => {
    const len: number[] = [];
    let n = body.length;
    do {
      len.push((n & 127) | (n > 127 ? 128 : 0));
      n >>= 7;
    } while (n > 0);
    return Buffer.concat([Buffer.from([type, ...len]), body]);
  };
  const connectBody = Buffer.concat([str("MQTT"), Buffer.from([4, 0xc2, 0, 60]), str("slow-reader"), str("guest"), str("guest")]);
  const subscribeBody = Buffer.concat([Buffer.from([0, 1]), str(filter), Buffer.from([1])]);
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, "127.0.0.1", () => {
      socket.write(packet(0x10, connectBody));
      socket.write(packet(0x82, subscribeBody));
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

test("a subscriber that stops reading holds about one slice beyond the output's limit, then gets everything", async () => {
  const dir = await tempDir();
  const { broker, url } = await startMqtt(dir);
  const COUNT = 3_000;
  const SIZE = 8 * 1024; // 24 MB retained
  await retainMany(url, COUNT, SIZE, "slow");
  const socket = await rawSubscriber(mqttPorts(broker).tcp!, "slow/#");
  socket.pause();
  const auth = { authorization: `Basic ${btoa("guest:guest")}` };
  const pending = async () => {
    const list = (await (await fetch(`http://127.0.0.1:${broker.httpPort}/api/connections`, { headers: auth })).json()) as {
      client_properties?: { client_id?: string };
      send_pend: number;
    }[];
    return list.find((c) => c.client_properties?.client_id === "slow-reader")?.send_pend ?? 0;
  };
  await new Promise((r) => setTimeout(r, 1000));
  const held = await pending();
  // 1 MiB (the output's limit) plus at most one slice of 256 messages.
  expect(held).toBeLessThanOrEqual(1024 * 1024 + 256 * (SIZE + 64));
  // Reading again: every retained message arrives (PUBLISH packets counted by their topic).
  let bytes = 0;
  const topics = new Set<string>();
  let carry = Buffer.alloc(0);
  const done = new Promise<void>((resolve) => {
    socket.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      carry = Buffer.concat([carry, chunk]);
      for (;;) {
        let len = 0, mul = 1, at = 1;
        while (at < carry.length && carry[at]! & 128) len += (carry[at++]! & 127) * mul, mul *= 128;
        if (at >= carry.length) break;
        len += carry[at++]! * mul;
        if (carry.length < at + len) break;
        if (carry[0]! >> 4 === 3) {
          const topicLength = carry.readUInt16BE(at);
          topics.add(carry.subarray(at + 2, at + 2 + topicLength).toString());
          const qos = (carry[0]! >> 1) & 3;
          if (qos === 1) socket.write(Buffer.from([0x40, 2, carry[at + 2 + topicLength]!, carry[at + 3 + topicLength]!]));
        }
        carry = carry.subarray(at + len);
      }
      if (topics.size === COUNT) resolve();
    });
  });
  socket.resume();
  await done;
  expect(bytes).toBeGreaterThan(COUNT * SIZE);
  socket.destroy();
  await stop(broker);
});

/** 1,000 retained entries, and a store that makes up each one's message. */
const entries = Array.from(
  { length: 1_000 },
  (_, i): RetainedEntry => ({ topic: `t/${i}`, qos: 1, storedAt: 0, expiry: undefined, held: undefined }),
);
const store = {
  load: (_vhost: string, e: RetainedEntry): RetainedMessage => ({
    topic: e.topic,
    qos: 1,
    payload: new Uint8Array(1),
    properties: {},
    storedAt: 0,
  }),
} as unknown as RetainedStore;

test("the sender: a slice per turn, stops while the output is backed up, resumes on pump()", async () => {
  const sent: string[] = [];
  let writable = true;
  const turns = new TurnCounter();
  const sender = new RetainedSender(store, "/", {
    isOpen: () => true,
    isWritable: () => writable,
    send: (m) => {
      sent.push(m.topic);
      turns.note();
      if (sent.length === 600) writable = false;
    },
  });
  sender.add(entries, 1);
  expect(sent.length).toBe(256); // the first slice at once
  await new Promise((r) => setTimeout(r, 50));
  expect(sent.length).toBe(600); // stopped when backed up
  expect(turns.mostInOneTurn).toBe(256);
  writable = true;
  sender.pump();
  await new Promise((r) => setTimeout(r, 50));
  turns.stop();
  expect(sent).toEqual(entries.map((e) => e.topic));
});

test("the output: once backed up, a flush the kernel takes whole calls onWritable next turn (no drain follows)", async () => {
  let writable = 0;
  const socket = { write: (bytes: Uint8Array) => bytes.length } as unknown as TcpSocket;
  const output = new Output(socket, () => writable++);
  for (let i = 0; i < 200; i++) output.send(new Uint8Array(8 * 1024)); // 1.6 MiB: backed up
  expect(output.backedUp).toBe(true);
  await Promise.resolve(); // the end of the turn's microtasks: the flush
  expect(output.backedUp).toBe(false);
  expect(writable).toBe(0); // not within the flush (writers could loop without yielding)
  await new Promise((r) => setImmediate(r));
  expect(writable).toBe(1);
  // Under the limit, a flush does not call it.
  output.send(new Uint8Array(1024));
  await new Promise((r) => setImmediate(r));
  expect(writable).toBe(1);
});

test("a QoS 0 subscription with a backlog over the output's limit gets all of it with nothing else happening", async () => {
  const dir = await tempDir();
  const { broker } = await start(dir, MQTT);
  const url = `mqtt://127.0.0.1:${mqttPorts(broker).tcp}`;
  const session = { clientId: "qos0-backlog", clean: false };
  const first = await connect(url, session);
  await first.subscribeAsync("backlog/#", { qos: 0 });
  await first.endAsync();
  await retainMany(url, 3_000, 8 * 1024, "backlog"); // 24 MB queued for the session while it is away
  const { client: again, got } = await connectCollecting(url, session); // a resumed session delivers at once
  const messages = await got.next(3_000, 20_000);
  expect(new Set(messages.map((m) => m.topic)).size).toBe(3_000);
  await again.endAsync();
  await stop(broker);
});
