// Malformed and out-of-place frames on an open connection, sent over a raw socket. Each one must
// get the connection.close RabbitMQ sends (codes and texts checked against RabbitMQ 3.10.8), and
// the broker must keep serving other clients afterwards.
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { FRAME_BODY, FRAME_HEARTBEAT, FRAME_METHOD } from "../../src/amqp/spec/constants.gen.ts";
import { MethodId } from "../../src/amqp/spec/methods.gen.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { expectServing, observe, type Outcome } from "../helpers/observe.ts";
import { type HandshakeOptions, openRawConnection, type RawClient } from "../helpers/raw_client.ts";

// bunfig.toml's [test] timeout is not applied by this Bun; set it here.
setDefaultTimeout(30_000);

let b: TestBroker;
const clients: RawClient[] = [];

beforeAll(async () => {
  b = await startTestBroker();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await expectServing(b.port);
});
afterAll(async () => {
  await b.stop();
});

/** An open connection, with channel 1 open unless `channel` is false. */
async function open(opts: HandshakeOptions & { channel?: boolean } = {}): Promise<RawClient> {
  const c = await openRawConnection(b.port, opts);
  clients.push(c);
  if (opts.channel !== false) await c.openChannel(1);
  return c;
}

/** Expects connection.close with these fields; answers close-ok; the server then closes the socket. */
async function expectClose(c: RawClient, want: { code: number; classId: number; methodId: number; text?: string }) {
  const o: Outcome = await observe(c);
  const { text, ...ids } = want;
  expect(o).toMatchObject({ kind: "close", ...ids });
  if (text !== undefined) expect((o as { text: string }).text).toBe(text);
  await c.waitForClose(5000);
}

const CLOSE_OK_FIELDS = { replyCode: 200, replyText: "bye", classId: 0, methodId: 0 };

describe("frame size", () => {
  test("a frame larger than frame_max gets 501 FRAME_ERROR", async () => {
    const c = await open();
    c.sendFrame(FRAME_METHOD, 1, new Uint8Array(140_000));
    await expectClose(c, { code: 501, classId: 0, methodId: 0 });
  });

  test("a frame header announcing 1 MiB is refused before the payload arrives", async () => {
    const c = await open();
    c.send(new Uint8Array([FRAME_METHOD, 0, 1, 0, 0x10, 0, 0])); // size 0x00100000, no payload
    await expectClose(c, { code: 501, classId: 0, methodId: 0 });
  });

  test("a payload of exactly frame_max bytes is not a frame error (RabbitMQ allows it)", async () => {
    const c = await open();
    c.sendFrame(FRAME_BODY, 1, new Uint8Array(131_072));
    // Not 501: the frame is accepted, and only then refused as a body without a publish.
    await expectClose(c, { code: 505, classId: 0, methodId: 0 });
  });

  test("a payload one byte over frame_max gets 501", async () => {
    const c = await open();
    c.sendFrame(FRAME_BODY, 1, new Uint8Array(131_073));
    await expectClose(c, { code: 501, classId: 0, methodId: 0 });
  });

  test("a lower negotiated frame_max is enforced", async () => {
    const c = await open({ tune: { frameMax: 4096 }, channel: false });
    c.sendFrame(FRAME_METHOD, 1, new Uint8Array(5000));
    await expectClose(c, { code: 501, classId: 0, methodId: 0 });
  });

  test("garbage after the handshake gets 501 (it reads as a huge frame)", async () => {
    const c = await open({ channel: false });
    c.send("hello world, this is garbage!!!");
    await expectClose(c, { code: 501, classId: 0, methodId: 0 });
  });

  test("a bad frame-end octet gets 501", async () => {
    const c = await open({ channel: false });
    c.sendFrame(FRAME_HEARTBEAT, 0, new Uint8Array(0), 0, 0x00);
    await expectClose(c, { code: 501, classId: 0, methodId: 0 });
  });

  test("an unknown frame type gets 501", async () => {
    const c = await open({ channel: false });
    c.sendFrame(5, 0, new Uint8Array(0));
    await expectClose(c, { code: 501, classId: 0, methodId: 0 });
  });

  test("a truncated frame followed by a socket close leaves the broker serving", async () => {
    const c = await open();
    c.send(new Uint8Array([FRAME_METHOD, 0, 1, 0, 0, 0, 50, 0, 20])); // 2 of 50 payload bytes
    await new Promise((r) => setTimeout(r, 50));
    c.destroy();
    // afterEach checks that a fresh client connects and opens a channel.
  });
});

describe("channels", () => {
  test("channel.close on a channel that was never opened gets 504 CHANNEL_ERROR", async () => {
    const c = await open({ channel: false });
    c.sendMethod(5, { id: MethodId.ChannelClose, ...CLOSE_OK_FIELDS });
    await expectClose(c, { code: 504, classId: 20, methodId: 40, text: "CHANNEL_ERROR - expected 'channel.open'" });
  });

  test("channel.flow on a channel that was never opened gets 504 CHANNEL_ERROR", async () => {
    const c = await open({ channel: false });
    c.sendMethod(5, { id: MethodId.ChannelFlow, active: true });
    await expectClose(c, { code: 504, classId: 20, methodId: 20, text: "CHANNEL_ERROR - expected 'channel.open'" });
  });

  test("a second channel.open on an open channel gets 504", async () => {
    const c = await open();
    c.sendMethod(1, { id: MethodId.ChannelOpen, outOfBand: "" });
    await expectClose(c, { code: 504, classId: 20, methodId: 10, text: "CHANNEL_ERROR - second 'channel.open' seen" });
  });

  test("a method on a channel after it was closed gets 504", async () => {
    const c = await open();
    c.sendMethod(1, { id: MethodId.ChannelClose, ...CLOSE_OK_FIELDS });
    await c.waitForMethod(MethodId.ChannelCloseOk);
    c.sendMethod(1, { id: MethodId.ChannelFlow, active: true });
    await expectClose(c, { code: 504, classId: 20, methodId: 20 });
  });

  test("a closed channel number can be opened again", async () => {
    const c = await open();
    c.sendMethod(1, { id: MethodId.ChannelClose, ...CLOSE_OK_FIELDS });
    await c.waitForMethod(MethodId.ChannelCloseOk);
    await c.openChannel(1);
  });

  test("channel.open on channel 0 gets 504", async () => {
    const c = await open({ channel: false });
    c.sendMethod(0, { id: MethodId.ChannelOpen, outOfBand: "" });
    await expectClose(c, { code: 504, classId: 20, methodId: 10 });
  });

  test("a connection method on a channel gets 503 COMMAND_INVALID", async () => {
    const c = await open();
    c.sendMethod(1, { id: MethodId.ConnectionOpen, virtualHost: "/", capabilities: "", insist: false });
    await expectClose(c, { code: 503, classId: 10, methodId: 40 });
  });

  test("opening more channels than the negotiated channel_max gets 530 NOT_ALLOWED", async () => {
    const c = await open({ tune: { channelMax: 10 }, channel: false });
    for (let i = 1; i <= 10; i++) await c.openChannel(i);
    c.sendMethod(11, { id: MethodId.ChannelOpen, outOfBand: "" });
    await expectClose(c, {
      code: 530,
      classId: 0,
      methodId: 0,
      text: "NOT_ALLOWED - number of channels opened (10) has reached the negotiated channel_max (10)",
    });
  });

  test("channel.flow active=true is answered with flow-ok active=true", async () => {
    const c = await open();
    c.sendMethod(1, { id: MethodId.ChannelFlow, active: true });
    const ok = await c.waitForMethod(MethodId.ChannelFlowOk);
    expect(ok.active).toBe(true);
  });

  test("channel.flow active=false gets 540 NOT_IMPLEMENTED, as RabbitMQ 3.x answers", async () => {
    const c = await open();
    c.sendMethod(1, { id: MethodId.ChannelFlow, active: false });
    await expectClose(c, { code: 540, classId: 20, methodId: 20, text: "NOT_IMPLEMENTED - active=false" });
  });

  test("a method cut short gets 501 FRAME_ERROR", async () => {
    const c = await open();
    c.sendFrame(FRAME_METHOD, 1, new Uint8Array([0, 20, 0, 40, 0])); // channel.close, 1 of 9 argument bytes
    await expectClose(c, { code: 501, classId: 20, methodId: 40 });
  });
});

describe("content and heartbeat frames out of place", () => {
  const UNEXPECTED = "UNEXPECTED_FRAME - expected method frame, got non method frame instead";

  test("a content header without a publish gets 505 UNEXPECTED_FRAME", async () => {
    const c = await open();
    c.sendContentHeader(1, 5);
    await expectClose(c, { code: 505, classId: 0, methodId: 0, text: UNEXPECTED });
  });

  test("a body frame without a publish gets 505 UNEXPECTED_FRAME", async () => {
    const c = await open();
    c.sendBody(1, new Uint8Array(5));
    await expectClose(c, { code: 505, classId: 0, methodId: 0, text: UNEXPECTED });
  });

  test("a content header on a channel that was never opened gets 505", async () => {
    const c = await open({ channel: false });
    c.sendContentHeader(3, 5);
    await expectClose(c, { code: 505, classId: 0, methodId: 0, text: UNEXPECTED });
  });

  test("a content header on channel 0 gets 505", async () => {
    const c = await open({ channel: false });
    c.sendContentHeader(0, 5);
    await expectClose(c, { code: 505, classId: 0, methodId: 0 });
  });

  test("a body frame on channel 0 gets 505", async () => {
    const c = await open({ channel: false });
    c.sendBody(0, new Uint8Array(3));
    await expectClose(c, { code: 505, classId: 0, methodId: 0 });
  });

  test("a heartbeat frame on a non-zero channel gets 505", async () => {
    const c = await open();
    c.sendHeartbeat(1);
    await expectClose(c, { code: 505, classId: 0, methodId: 0 });
  });
});

describe("connection methods out of place", () => {
  test("a second connection.open gets 504", async () => {
    const c = await open({ channel: false });
    c.sendMethod(0, { id: MethodId.ConnectionOpen, virtualHost: "/", capabilities: "", insist: false });
    await expectClose(c, {
      code: 504,
      classId: 10,
      methodId: 40,
      text: "CHANNEL_ERROR - unexpected method in connection state running",
    });
  });

  test("an unsolicited connection.close-ok gets 504", async () => {
    const c = await open({ channel: false });
    c.sendMethod(0, { id: MethodId.ConnectionCloseOk });
    await expectClose(c, { code: 504, classId: 10, methodId: 51 });
  });

  test("connection.close from the client is answered with close-ok; the socket closes when the client closes its side", async () => {
    const c = await open();
    c.sendMethod(0, { id: MethodId.ConnectionClose, ...CLOSE_OK_FIELDS });
    await c.waitForMethod(MethodId.ConnectionCloseOk);
    c.socket.end(); // as RabbitMQ, the server reads on until the client goes (tests/protocol/closing.test.ts)
    await c.waitForClose(5000);
  });

  test("after a connection.close the broker waits for close-ok, then closes the socket", async () => {
    const c = await open({ channel: false });
    c.sendMethod(7, { id: MethodId.ChannelFlow, active: true });
    const o = await observe(c, { closeOk: false });
    expect(o).toMatchObject({ kind: "close", code: 504 });
    // Frames other than close/close-ok are ignored while closing.
    c.sendMethod(1, { id: MethodId.ChannelOpen, outOfBand: "" });
    c.sendMethod(0, { id: MethodId.ConnectionCloseOk });
    await c.waitForClose(5000);
    expect(c.frames.filter((f) => f.method?.id === MethodId.ChannelOpenOk)).toEqual([]);
  });
});
