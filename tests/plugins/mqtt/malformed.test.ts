// Malformed packets and protocol violations over a raw socket: the CONNACK or DISCONNECT the
// spec requires, then the connection is closed; the broker keeps serving other clients.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect as tcpConnect, type Socket } from "node:net";
import { closeClients, connect, type MqttBroker, startMqttBroker } from "./helpers.ts";

let b: MqttBroker;
beforeAll(async () => {
  b = await startMqttBroker();
});
afterAll(async () => {
  await closeClients();
  await b.stop();
});

/** Sends `bytes` (in order, each chunk a write) and returns what came back before the broker closed. */
async function exchange(chunks: Uint8Array[], ms = 3000): Promise<{ closed: boolean; received: number[] }> {
  const socket: Socket = tcpConnect(b.mqttPort, "127.0.0.1");
  const received: number[] = [];
  socket.on("data", (d: Buffer) => received.push(...d));
  socket.on("error", () => {});
  await new Promise<void>((r) => socket.once("connect", () => r()));
  for (const c of chunks) socket.write(c);
  const closed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  socket.destroy();
  return { closed, received };
}

const str = (s: string) => [s.length >> 8, s.length & 0xff, ...Buffer.from(s)];
function packet(first: number, body: number[]): Uint8Array {
  const len: number[] = [];
  let n = body.length;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    len.push(byte);
  } while (n > 0);
  return new Uint8Array([first, ...len, ...body]);
}
/** CONNECT with user guest/guest: level 4 or 5, flags given (0xC2 = user, password, clean). */
function connectPacket(level: number, clientId: string, flags = 0xc2, keepAlive = 60, name = "MQTT"): Uint8Array {
  const props = level === 5 ? [0] : [];
  return packet(0x10, [
    ...str(name),
    level,
    flags,
    keepAlive >> 8,
    keepAlive & 0xff,
    ...props,
    ...str(clientId),
    ...str("guest"),
    ...str("guest"),
  ]);
}
const CONNACK_OK_311 = [0x20, 2, 0, 0];

describe("malformed packets and violations", () => {
  test("a first packet that is not CONNECT closes the connection", async () => {
    const r = await exchange([packet(0x30, [...str("a/b"), 1, 2, 3])]);
    expect(r).toEqual({ closed: true, received: [] });
  });

  test("CONNECT with the reserved flag set closes the connection", async () => {
    const r = await exchange([connectPacket(4, "m-1", 0xc3)]);
    expect(r).toEqual({ closed: true, received: [] });
  });

  test("an unsupported protocol level gets CONNACK 0x01, then close", async () => {
    const r = await exchange([connectPacket(6, "m-2")]);
    expect(r).toEqual({ closed: true, received: [0x20, 2, 0, 1] });
  });

  test("MQTT 3.1 (MQIsdp, level 3) is accepted", async () => {
    const r = await exchange([connectPacket(3, "m-31", 0xc2, 60, "MQIsdp"), new Uint8Array([0xe0, 0])]);
    expect(r).toEqual({ closed: true, received: CONNACK_OK_311 });
  });

  test("an unknown protocol name closes the connection", async () => {
    const r = await exchange([connectPacket(4, "m-3", 0xc2, 60, "XMPP")]);
    expect(r.closed).toBe(true);
  });

  test("3.1.1: an empty client id without clean session gets CONNACK 0x02", async () => {
    const r = await exchange([connectPacket(4, "", 0xc0)]);
    expect(r).toEqual({ closed: true, received: [0x20, 2, 0, 2] });
  });

  test("a remaining length of more than 4 bytes closes the connection", async () => {
    const r = await exchange([new Uint8Array([0x10, 0xff, 0xff, 0xff, 0xff, 0x01])]);
    expect(r).toEqual({ closed: true, received: [] });
  });

  test("an oversized packet before CONNECT is refused when its length arrives", async () => {
    const r = await exchange([new Uint8Array([0x10, 0x80, 0x80, 0x10])]); // 262144 bytes announced
    expect(r).toEqual({ closed: true, received: [] });
  });

  test("a second CONNECT closes the connection", async () => {
    const r = await exchange([connectPacket(4, "m-4"), connectPacket(4, "m-4")]);
    expect(r).toEqual({ closed: true, received: CONNACK_OK_311 });
  });

  test("a topic that is not UTF-8 closes the connection", async () => {
    const r = await exchange([connectPacket(4, "m-5"), packet(0x30, [0, 2, 0xc3, 0x28, 1])]);
    expect(r).toEqual({ closed: true, received: CONNACK_OK_311 });
  });

  test("3.1.1: a wildcard in a PUBLISH topic closes the connection", async () => {
    const r = await exchange([connectPacket(4, "m-6"), packet(0x30, [...str("a/+"), 1])]);
    expect(r).toEqual({ closed: true, received: CONNACK_OK_311 });
  });

  const connected5 = async (extra: Uint8Array) => {
    const r = await exchange([connectPacket(5, "m-5x"), extra]);
    // CONNACK first (0x20, its length, flags, code 0, properties), then DISCONNECT (0xE0).
    expect(r.received[0]).toBe(0x20);
    expect(r.received[3]).toBe(0);
    const at = 2 + r.received[1]!;
    return { closed: r.closed, disconnect: r.received.slice(at, at + 3) };
  };

  test("5.0: a wildcard in a PUBLISH topic gets DISCONNECT 0x90", async () => {
    const r = await connected5(packet(0x30, [...str("a/#"), 0, 1]));
    expect(r.closed).toBe(true);
    expect([r.disconnect[0], r.disconnect[2]]).toEqual([0xe0, 0x90]);
  });

  test("5.0: PUBLISH with QoS 3 gets DISCONNECT 0x81 (malformed)", async () => {
    const r = await connected5(packet(0x36, [...str("a/b"), 0, 1, 0, 1]));
    expect([r.disconnect[0], r.disconnect[2]]).toEqual([0xe0, 0x81]);
  });

  test("5.0: PUBLISH with QoS 2 gets DISCONNECT 0x9B (QoS not supported)", async () => {
    const r = await connected5(packet(0x34, [...str("a/b"), 0, 1, 0, 1]));
    expect([r.disconnect[0], r.disconnect[2]]).toEqual([0xe0, 0x9b]);
  });

  test("5.0: an unknown topic alias gets DISCONNECT 0x82 (protocol error)", async () => {
    const r = await connected5(packet(0x30, [0, 0, 3, 0x23, 0, 5, 1]));
    expect([r.disconnect[0], r.disconnect[2]]).toEqual([0xe0, 0x82]);
  });

  test("5.0: SUBSCRIBE with reserved option bits gets DISCONNECT 0x81", async () => {
    const r = await connected5(packet(0x82, [0, 1, 0, ...str("a/b"), 0xc1]));
    expect([r.disconnect[0], r.disconnect[2]]).toEqual([0xe0, 0x81]);
  });

  test("5.0: an unknown property gets DISCONNECT 0x81", async () => {
    const r = await connected5(packet(0x30, [...str("a/b"), 2, 0x7f, 0, 1]));
    expect([r.disconnect[0], r.disconnect[2]]).toEqual([0xe0, 0x81]);
  });

  test("keepalive: no packet for 1.5 x keepalive closes the connection (5.0: DISCONNECT 0x8D)", async () => {
    const socket: Socket = tcpConnect(b.mqttPort, "127.0.0.1");
    const received: number[] = [];
    socket.on("data", (d: Buffer) => received.push(...d));
    await new Promise<void>((r) => socket.once("connect", () => r()));
    const started = Date.now();
    socket.write(connectPacket(5, "m-keepalive", 0xc2, 1));
    await new Promise<void>((r) => socket.once("close", () => r()));
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1500);
    const at = 2 + received[1]!;
    expect([received[at], received[at + 2]]).toEqual([0xe0, 0x8d]);
  });

  test("random bytes after a good CONNECT never crash the broker (seeded)", async () => {
    let seed = 19;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 60; round++) {
      const junk = Array.from({ length: 1 + Math.floor(rand() * 40) }, () => Math.floor(rand() * 256));
      // A random packet type and flags with a body of random bytes and a correct length.
      const r = await exchange([connectPacket(round % 2 === 0 ? 4 : 5, `m-fuzz${round}`), packet(junk[0]!, junk.slice(1))], 300);
      expect(r.received[0]).toBe(0x20);
    }
  });

  test("after all that, a well-behaved client still connects and publishes", async () => {
    const c = await connect(b.mqttUrl, { clientId: "m-good" });
    await c.publishAsync("fine/topic", "ok", { qos: 1 });
  });
});
