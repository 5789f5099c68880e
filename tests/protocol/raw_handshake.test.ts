// The opening handshake over a raw socket: protocol header, authentication, tuning, heartbeats
// and timeouts. Expected behaviour is RabbitMQ 3.10.8's unless a comment says otherwise.
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { FRAME_HEARTBEAT } from "../../src/amqp/spec/constants.gen.ts";
import { MethodId } from "../../src/amqp/spec/methods.gen.ts";
import { sleep, startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { expectServing, observe } from "../helpers/observe.ts";
import { type HandshakeOptions, openRawConnection, PROTOCOL_HEADER, RawClient } from "../helpers/raw_client.ts";

// bunfig.toml's [test] timeout is not applied by this Bun; set it here.
setDefaultTimeout(30_000);

let b: TestBroker;
const clients: RawClient[] = [];

beforeAll(async () => {
  b = await startTestBroker({ handshakeTimeoutMs: 500 });
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await expectServing(b.port);
});
afterAll(async () => {
  await b.stop();
});

async function connect(): Promise<RawClient> {
  const c = await RawClient.connect(b.port);
  clients.push(c);
  return c;
}

async function handshake(opts: HandshakeOptions) {
  const c = await connect();
  return { c, result: await c.handshake(opts) };
}

const NO_CAPABILITIES = { product: "raw client without capabilities" };

describe("protocol header", () => {
  const refused: [string, string][] = [
    ["an HTTP request", "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"],
    ["the AMQP 1.0 header", "AMQP\x00\x01\x00\x00"],
    ["the AMQP 1.0 SASL header", "AMQP\x03\x01\x00\x00"],
    ["AMQP 0-10", "AMQP\x00\x00\x0a\x00"],
    ["AMQP 0-9-0 written in 0-9-1 style", "AMQP\x00\x00\x09\x00"],
  ];
  for (const [name, header] of refused) {
    test(`${name} is answered with "AMQP\\0\\0\\x09\\x01" and the socket is closed`, async () => {
      const c = await connect();
      c.send(header);
      expect(await observe(c)).toEqual({ kind: "protocol-header", header: "AMQP\x00\x00\x09\x01" });
      expect(Buffer.from(c.allBytes()).equals(Buffer.from(PROTOCOL_HEADER))).toBe(true);
    });
  }

  test("a header sent one byte at a time is accepted", async () => {
    const c = await connect();
    for (const byte of PROTOCOL_HEADER) {
      c.send(new Uint8Array([byte]));
      await sleep(5);
    }
    const start = await c.waitForMethod(MethodId.ConnectionStart);
    expect([start.versionMajor, start.versionMinor]).toEqual([0, 9]);
    expect(new TextDecoder().decode(start.mechanisms).split(" ").sort()).toEqual(["AMQPLAIN", "PLAIN"]);
    expect(new TextDecoder().decode(start.locales)).toBe("en_US");
  });

  test("garbage after the header closes the socket without connection.close", async () => {
    const c = await connect();
    c.sendProtocolHeader();
    await c.waitForMethod(MethodId.ConnectionStart);
    c.send("hello world, this is garbage!!!");
    expect(await observe(c)).toEqual({ kind: "socket-closed" });
  });
});

describe("authentication", () => {
  test("PLAIN login reaches connection.open-ok", async () => {
    const { result } = await handshake({});
    expect(result.close).toBeUndefined();
  });

  test("AMQPLAIN login reaches connection.open-ok", async () => {
    const { result } = await handshake({ mechanism: "AMQPLAIN" });
    expect(result.close).toBeUndefined();
  });

  test("a wrong password gets 403 ACCESS_REFUSED when the client announces authentication_failure_close", async () => {
    const { c } = await handshake({ pass: "wrong", stopAfter: "start-ok" });
    const o = await observe(c);
    expect(o).toMatchObject({ kind: "close", code: 403 });
    expect((o as { text: string }).text).toBe(
      "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.",
    );
    await c.waitForClose(6000);
  });

  test("a wrong AMQPLAIN password gets 403 ACCESS_REFUSED", async () => {
    const { c } = await handshake({ mechanism: "AMQPLAIN", pass: "wrong", stopAfter: "start-ok" });
    expect(await observe(c)).toMatchObject({ kind: "close", code: 403 });
  });

  test("a wrong password without authentication_failure_close just closes the socket", async () => {
    const { c } = await handshake({ pass: "wrong", clientProperties: NO_CAPABILITIES, stopAfter: "start-ok" });
    expect(await observe(c)).toEqual({ kind: "socket-closed" });
  });

  test("an unsupported SASL mechanism closes the socket", async () => {
    const { c } = await handshake({ mechanism: "EXTERNAL", response: new Uint8Array(0), stopAfter: "start-ok" });
    expect(await observe(c)).toEqual({ kind: "socket-closed" });
  });

  test("an unknown vhost gets 530 NOT_ALLOWED on connection.open", async () => {
    const { c, result } = await handshake({ vhost: "nope" });
    expect(result.close).toMatchObject({ replyCode: 530, replyText: "NOT_ALLOWED - vhost nope not found", classId: 10, methodId: 40 });
    c.sendMethod(0, { id: MethodId.ConnectionCloseOk });
    await c.waitForClose(5000);
  });

  test("a channel.open before connection.open gets 505 UNEXPECTED_FRAME", async () => {
    const { c } = await handshake({ stopAfter: "tune-ok" });
    c.sendMethod(1, { id: MethodId.ChannelOpen, outOfBand: "" });
    expect(await observe(c)).toMatchObject({ kind: "close", code: 505, classId: 0, methodId: 0 });
  });
});

describe("tuning", () => {
  test("the server offers channel_max 2047, frame_max 131072, heartbeat 60", async () => {
    const { result } = await handshake({});
    expect(result.tune).toMatchObject({ channelMax: 2047, frameMax: 131072, heartbeat: 60 });
  });

  // RabbitMQ 3.10.8 closes the socket silently (after 3 s) for these; Warren answers
  // 530 NOT_ALLOWED with the reason, as later RabbitMQ releases intend (rabbit_reader's
  // "when negotiation fails" clause). See tests/interop/connection_errors.test.ts.
  const refusedTuneOk: [string, NonNullable<HandshakeOptions["tune"]>, string][] = [
    ["frame_max above the server's", { frameMax: 262_144 }, "frame_max = 262144 is higher than the maximum allowed value (131072)"],
    ["frame_max 0 (unlimited)", { frameMax: 0 }, "frame_max = 0 is higher than the maximum allowed value (131072)"],
    ["frame_max below 4096", { frameMax: 1000 }, "frame_max = 1000 is lower than the minimum allowed value (4096)"],
    ["channel_max above the server's", { channelMax: 4000 }, "channel_max = 4000 is higher than the maximum allowed value (2047)"],
  ];
  for (const [name, tune, reason] of refusedTuneOk) {
    test(`tune-ok with ${name} gets 530 NOT_ALLOWED`, async () => {
      const { c } = await handshake({ tune, stopAfter: "tune-ok" });
      const o = await observe(c);
      expect(o).toMatchObject({ kind: "close", code: 530 });
      expect((o as { text: string }).text).toContain(reason);
    });
  }

  test("tune-ok with a longer heartbeat than offered is accepted (as RabbitMQ does)", async () => {
    const { result } = await handshake({ tune: { heartbeat: 600 } });
    expect(result.close).toBeUndefined();
  });
});

describe("heartbeats", () => {
  test("with heartbeat 1 the server sends heartbeat frames on an idle connection", async () => {
    const c = await openRawConnection(b.port, { tune: { heartbeat: 1 } });
    clients.push(c);
    const hb = await c.waitForFrame((f) => f.type === FRAME_HEARTBEAT, 2000, () => "waiting for a heartbeat");
    expect(hb.channel).toBe(0);
  });

  test("a client that sends heartbeats stays connected and can open a channel after 3.5 s", async () => {
    const c = await openRawConnection(b.port, { tune: { heartbeat: 1 } });
    clients.push(c);
    const beat = setInterval(() => c.sendHeartbeat(), 400);
    try {
      expect(await c.closedWithin(3500)).toBe(false);
      await c.openChannel(1);
    } finally {
      clearInterval(beat);
    }
  }, 15_000);

  test("a client that negotiates heartbeat 1 and then stays silent is disconnected", async () => {
    const c = await openRawConnection(b.port, { tune: { heartbeat: 1 } });
    clients.push(c);
    // RabbitMQ drops it after about 3 s, without connection.close.
    expect(await c.closedWithin(8000)).toBe(true);
    expect(c.frames.some((f) => f.method?.id === MethodId.ConnectionClose)).toBe(false);
    expect(c.heartbeatsReceived()).toBeGreaterThan(0);
  }, 20_000);
});

describe("handshake timeout (500 ms here)", () => {
  test("a client that sends nothing is dropped", async () => {
    const c = await connect();
    expect(await c.closedWithin(5000)).toBe(true);
    expect(c.allBytes().length).toBe(0);
  });

  test("a client that stops after the protocol header is dropped", async () => {
    const { c } = await handshake({ stopAfter: "header" });
    expect(await observe(c, { timeoutMs: 5000 })).toEqual({ kind: "socket-closed" });
  });

  test("a client that stops after tune-ok is dropped", async () => {
    const { c } = await handshake({ stopAfter: "tune-ok" });
    expect(await observe(c, { timeoutMs: 5000 })).toEqual({ kind: "socket-closed" });
  });

  test("a client that sends half a protocol header is dropped", async () => {
    const c = await connect();
    c.send("AMQ");
    expect(await c.closedWithin(5000)).toBe(true);
  });

  test("a connection that completed the handshake is not dropped", async () => {
    const c = await openRawConnection(b.port);
    clients.push(c);
    expect(await c.closedWithin(1500)).toBe(false);
  }, 10_000);
});
