// Raw-socket scenarios for the connection layer, written once and run against both Warren and
// RabbitMQ by connection_errors.test.ts. `rabbitmq` is what RabbitMQ 3.10.8 was observed to do;
// `warren` is set only where Warren deliberately differs, with the reason.
import { FRAME_BODY, FRAME_HEARTBEAT, FRAME_METHOD } from "../../src/amqp/spec/constants.gen.ts";
import { MethodId } from "../../src/amqp/spec/methods.gen.ts";
import type { Outcome } from "../helpers/observe.ts";
import type { HandshakeOptions, RawClient } from "../helpers/raw_client.ts";

/** An outcome as compared: texts only where `text` is given, and whether the socket then closed. */
export type Expected =
  | { kind: "close"; code: number; classId: number; methodId: number; text?: string }
  | { kind: "channel-close"; code: number; classId: number; methodId: number; text: string }
  | { kind: "protocol-header"; header: string }
  | { kind: "socket-closed" }
  | { kind: "method"; name: string }
  | { kind: "nothing" };

export interface Scenario {
  name: string;
  /** How far to get before `act`: a bare socket, the handshake steps, or an open channel 1. */
  setup: "socket" | HandshakeOptions | "open" | "channel";
  act: (c: RawClient) => void | Promise<void>;
  /** A method whose arrival is the outcome (besides connection.close / close-ok). */
  until?: number;
  timeoutMs?: number;
  rabbitmq: Expected;
  warren?: { expected: Expected; reason: string };
}

/** basic.ack (80), reject (90) or nack (120) on channel 1 with a 64-bit tag, encoded here (not by the codec under test). */
function sendSettle(c: RawClient, methodId: number, tag: bigint, bits: number): void {
  const payload = new Uint8Array(13);
  const view = new DataView(payload.buffer);
  view.setUint16(0, 60);
  view.setUint16(2, methodId);
  view.setBigUint64(4, tag);
  payload[12] = bits;
  c.sendFrame(FRAME_METHOD, 1, payload);
}
const channelClose = (code: number, classId: number, methodId: number, text: string): Expected => ({
  kind: "channel-close",
  code,
  classId,
  methodId,
  text,
});
const AMQP_HEADER_REPLY: Expected = { kind: "protocol-header", header: "AMQP\x00\x00\x09\x01" };
const SOCKET_CLOSED: Expected = { kind: "socket-closed" };
const close = (code: number, classId: number, methodId: number, text?: string): Expected =>
  text === undefined ? { kind: "close", code, classId, methodId } : { kind: "close", code, classId, methodId, text };
const NO_CAPABILITIES = { product: "raw client without capabilities" };
const CLOSE = { replyCode: 200, replyText: "bye", classId: 0, methodId: 0 };
const UNEXPECTED = "UNEXPECTED_FRAME - expected method frame, got non method frame instead";
const NOT_RUNNING = "CHANNEL_ERROR - unexpected method in connection state running";
const TUNE_530 = "RabbitMQ 3.10.8 closes silently after 3 s; Warren sends 530 NOT_ALLOWED with the reason " +
  "(rabbit_reader's negotiation-failure clause, and what the project asked for)";
const UNKNOWN_METHOD_540 =
  "an unknown method gets 540 NOT_IMPLEMENTED naming it, where RabbitMQ's reader crashes and drops the socket (docs/compatibility.md)";

export const scenarios: Scenario[] = [
  // ------------------------------------------------------------------ protocol header
  {
    name: "HTTP request instead of a protocol header",
    setup: "socket",
    act: (c) => c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
    rabbitmq: AMQP_HEADER_REPLY,
  },
  { name: "AMQP 1.0 protocol header", setup: "socket", act: (c) => c.send("AMQP\x00\x01\x00\x00"), rabbitmq: AMQP_HEADER_REPLY },
  { name: "AMQP 0-10 protocol header", setup: "socket", act: (c) => c.send("AMQP\x00\x00\x0a\x00"), rabbitmq: AMQP_HEADER_REPLY },
  {
    name: "legacy AMQP 0-9 header AMQP\\x01\\x01\\x00\\x09 (RabbitMQ treats it as 0-9-1)",
    setup: "socket",
    act: (c) => c.send("AMQP\x01\x01\x00\x09"),
    until: MethodId.ConnectionStart,
    rabbitmq: { kind: "method", name: "connection.start" },
  },
  // ------------------------------------------------------------------ handshake
  {
    name: "garbage after the protocol header",
    setup: { stopAfter: "header" },
    act: (c) => c.send("hello world, this is garbage!!!"),
    rabbitmq: SOCKET_CLOSED,
  },
  {
    name: "a frame over frame_max before tuning",
    setup: { stopAfter: "header" },
    act: (c) => c.sendFrame(FRAME_METHOD, 0, new Uint8Array(200_000)),
    rabbitmq: SOCKET_CLOSED,
  },
  {
    name: "wrong password, client announces authentication_failure_close",
    setup: { pass: "wrong", stopAfter: "start-ok" },
    act: () => {},
    rabbitmq: close(
      403,
      0,
      0,
      "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.",
    ),
  },
  {
    name: "wrong password, no authentication_failure_close",
    setup: { pass: "wrong", clientProperties: NO_CAPABILITIES, stopAfter: "start-ok" },
    act: () => {},
    rabbitmq: SOCKET_CLOSED,
  },
  { name: "unsupported SASL mechanism", setup: { mechanism: "FOO", stopAfter: "start-ok" }, act: () => {}, rabbitmq: SOCKET_CLOSED },
  {
    name: "unknown vhost",
    setup: { vhost: "nope", stopAfter: "open" },
    act: () => {},
    rabbitmq: close(530, 10, 40, "NOT_ALLOWED - vhost nope not found"),
  },
  {
    name: "tune-ok with frame_max above the server's",
    setup: { tune: { frameMax: 262_144 }, stopAfter: "tune-ok" },
    act: () => {},
    rabbitmq: SOCKET_CLOSED,
    warren: { expected: close(530, 10, 31), reason: TUNE_530 },
  },
  {
    name: "tune-ok with channel_max above the server's",
    setup: { tune: { channelMax: 4000 }, stopAfter: "tune-ok" },
    act: () => {},
    rabbitmq: SOCKET_CLOSED,
    warren: { expected: close(530, 10, 31), reason: TUNE_530 },
  },
  {
    name: "channel.open before connection.open",
    setup: { stopAfter: "tune-ok" },
    act: (c) => c.sendMethod(1, { id: MethodId.ChannelOpen, outOfBand: "" }),
    rabbitmq: close(505, 0, 0),
  },
  {
    name: "connection.close before start-ok",
    setup: { stopAfter: "header" },
    act: (c) => c.sendMethod(0, { id: MethodId.ConnectionClose, ...CLOSE }),
    rabbitmq: SOCKET_CLOSED,
  },
  {
    name: "connection.close after tune-ok, before connection.open",
    setup: { stopAfter: "tune-ok" },
    act: (c) => c.sendMethod(0, { id: MethodId.ConnectionClose, ...CLOSE }),
    rabbitmq: close(504, 10, 50, "CHANNEL_ERROR - unexpected method in connection state opening"),
  },
  {
    name: "handshake never completed (RabbitMQ: 10 s handshake_timeout)",
    setup: { stopAfter: "header" },
    act: () => {},
    timeoutMs: 15_000,
    rabbitmq: SOCKET_CLOSED,
  },
  // ------------------------------------------------------------------ framing
  {
    name: "a frame over frame_max",
    setup: "open",
    act: (c) => c.sendFrame(FRAME_METHOD, 1, new Uint8Array(140_000)),
    rabbitmq: close(501, 0, 0),
  },
  {
    name: "a body payload of exactly frame_max (no publish)",
    setup: "channel",
    act: (c) => c.sendFrame(FRAME_BODY, 1, new Uint8Array(131_072)),
    rabbitmq: close(505, 0, 0, UNEXPECTED),
  },
  {
    name: "a body payload of frame_max + 1",
    setup: "channel",
    act: (c) => c.sendFrame(FRAME_BODY, 1, new Uint8Array(131_073)),
    rabbitmq: close(501, 0, 0),
  },
  {
    name: "garbage after connection.open-ok",
    setup: "open",
    act: (c) => c.send("hello world, this is garbage!!!"),
    rabbitmq: close(501, 0, 0),
  },
  {
    name: "a bad frame-end octet",
    setup: "open",
    act: (c) => c.sendFrame(FRAME_HEARTBEAT, 0, new Uint8Array(0), 0, 0x00),
    rabbitmq: close(501, 0, 0),
  },
  { name: "an unknown frame type", setup: "open", act: (c) => c.sendFrame(5, 0, new Uint8Array(0)), rabbitmq: close(501, 0, 0) },
  {
    name: "a method frame too short for a method id",
    setup: "open",
    act: (c) => c.sendFrame(FRAME_METHOD, 0, new Uint8Array([0, 10])),
    rabbitmq: close(501, 0, 0),
  },
  {
    name: "channel.close with its arguments cut short",
    setup: "channel",
    act: (c) => c.sendFrame(FRAME_METHOD, 1, new Uint8Array([0, 20, 0, 40, 0])),
    rabbitmq: close(501, 20, 40),
  },
  {
    name: "an unknown method class",
    setup: "channel",
    act: (c) => c.sendFrame(FRAME_METHOD, 1, new Uint8Array([0, 99, 0, 1])),
    rabbitmq: SOCKET_CLOSED,
    warren: { expected: close(540, 99, 1), reason: UNKNOWN_METHOD_540 },
  },
  {
    name: "an unknown method of the channel class",
    setup: "channel",
    act: (c) => c.sendFrame(FRAME_METHOD, 1, new Uint8Array([0, 20, 0, 99])),
    rabbitmq: SOCKET_CLOSED,
    warren: { expected: close(540, 20, 99), reason: UNKNOWN_METHOD_540 },
  },
  // ------------------------------------------------------------------ channels
  {
    name: "channel.close on a channel never opened",
    setup: "open",
    act: (c) => c.sendMethod(5, { id: MethodId.ChannelClose, ...CLOSE }),
    rabbitmq: close(504, 20, 40, "CHANNEL_ERROR - expected 'channel.open'"),
  },
  {
    name: "channel.flow on a channel never opened",
    setup: "open",
    act: (c) => c.sendMethod(5, { id: MethodId.ChannelFlow, active: true }),
    rabbitmq: close(504, 20, 20, "CHANNEL_ERROR - expected 'channel.open'"),
  },
  {
    name: "a second channel.open",
    setup: "channel",
    act: (c) => c.sendMethod(1, { id: MethodId.ChannelOpen, outOfBand: "" }),
    rabbitmq: close(504, 20, 10, "CHANNEL_ERROR - second 'channel.open' seen"),
  },
  {
    name: "a method on a channel after its close-ok",
    setup: "channel",
    act: async (c) => {
      c.sendMethod(1, { id: MethodId.ChannelClose, ...CLOSE });
      await c.waitForMethod(MethodId.ChannelCloseOk);
      c.sendMethod(1, { id: MethodId.ChannelFlow, active: true });
    },
    rabbitmq: close(504, 20, 20, "CHANNEL_ERROR - expected 'channel.open'"),
  },
  {
    name: "channel.open on channel 0",
    setup: "open",
    act: (c) => c.sendMethod(0, { id: MethodId.ChannelOpen, outOfBand: "" }),
    rabbitmq: close(504, 20, 10, NOT_RUNNING),
  },
  {
    name: "connection.open on channel 1",
    setup: "channel",
    act: (c) => c.sendMethod(1, { id: MethodId.ConnectionOpen, virtualHost: "/", capabilities: "", insist: false }),
    rabbitmq: close(503, 10, 40),
  },
  {
    name: "an unsolicited channel.close-ok",
    setup: "channel",
    act: (c) => c.sendMethod(1, { id: MethodId.ChannelCloseOk }),
    timeoutMs: 2000,
    rabbitmq: close(503, 20, 41, "COMMAND_INVALID - unimplemented method"),
  },
  {
    name: "one channel more than the negotiated channel_max",
    setup: { tune: { channelMax: 10 } },
    act: async (c) => {
      for (let i = 1; i <= 10; i++) await c.openChannel(i);
      c.sendMethod(11, { id: MethodId.ChannelOpen, outOfBand: "" });
    },
    rabbitmq: close(530, 0, 0, "NOT_ALLOWED - number of channels opened (10) has reached the negotiated channel_max (10)"),
  },
  {
    name: "channel numbers above channel_max are fine while under the count",
    setup: "open",
    act: (c) => c.sendMethod(3000, { id: MethodId.ChannelOpen, outOfBand: "" }),
    until: MethodId.ChannelOpenOk,
    rabbitmq: { kind: "method", name: "channel.open-ok" },
  },
  {
    name: "channel.flow active=true",
    setup: "channel",
    act: (c) => c.sendMethod(1, { id: MethodId.ChannelFlow, active: true }),
    until: MethodId.ChannelFlowOk,
    rabbitmq: { kind: "method", name: "channel.flow-ok" },
  },
  {
    name: "channel.flow active=false",
    setup: "channel",
    act: (c) => c.sendMethod(1, { id: MethodId.ChannelFlow, active: false }),
    rabbitmq: close(540, 20, 20, "NOT_IMPLEMENTED - active=false"),
  },
  // ------------------------------------------------------------------ content and heartbeat frames
  {
    name: "a content header without a publish",
    setup: "channel",
    act: (c) => c.sendContentHeader(1, 5),
    rabbitmq: close(505, 0, 0, UNEXPECTED),
  },
  {
    name: "a body frame without a publish",
    setup: "channel",
    act: (c) => c.sendBody(1, new Uint8Array(5)),
    rabbitmq: close(505, 0, 0, UNEXPECTED),
  },
  {
    name: "a content header on a channel never opened",
    setup: "open",
    act: (c) => c.sendContentHeader(3, 5),
    rabbitmq: close(505, 0, 0, UNEXPECTED),
  },
  { name: "a content header on channel 0", setup: "open", act: (c) => c.sendContentHeader(0, 5), rabbitmq: close(505, 0, 0) },
  { name: "a body frame on channel 0", setup: "open", act: (c) => c.sendBody(0, new Uint8Array(3)), rabbitmq: close(505, 0, 0) },
  { name: "a heartbeat frame on channel 1", setup: "channel", act: (c) => c.sendHeartbeat(1), rabbitmq: close(505, 0, 0) },
  // ------------------------------------------------------------------ connection methods
  {
    name: "a second connection.open",
    setup: "open",
    act: (c) => c.sendMethod(0, { id: MethodId.ConnectionOpen, virtualHost: "/", capabilities: "", insist: false }),
    rabbitmq: close(504, 10, 40, NOT_RUNNING),
  },
  {
    name: "a second connection.start-ok",
    setup: "open",
    act: (c) =>
      c.sendMethod(0, {
        id: MethodId.ConnectionStartOk,
        clientProperties: {},
        mechanism: "PLAIN",
        response: new TextEncoder().encode("\0guest\0guest"),
        locale: "en_US",
      }),
    rabbitmq: close(504, 10, 11, NOT_RUNNING),
  },
  {
    name: "an unsolicited connection.close-ok",
    setup: "open",
    act: (c) => c.sendMethod(0, { id: MethodId.ConnectionCloseOk }),
    rabbitmq: close(504, 10, 51, NOT_RUNNING),
  },
  {
    name: "connection.close from the client",
    setup: "channel",
    act: (c) => c.sendMethod(0, { id: MethodId.ConnectionClose, ...CLOSE }),
    rabbitmq: { kind: "method", name: "connection.close-ok" },
  },
  {
    name: "a client silent after negotiating heartbeat 1",
    setup: { tune: { heartbeat: 1 } },
    act: () => {},
    timeoutMs: 10_000,
    rabbitmq: SOCKET_CLOSED,
  },
  // ------------------------------------------------------------------ delivery tags past 2^53, quoted exactly
  {
    name: "basic.ack of tag 2^60+1",
    setup: "channel",
    until: MethodId.ChannelClose,
    act: (c) => sendSettle(c, 80, 2n ** 60n + 1n, 0),
    rabbitmq: channelClose(406, 60, 80, "PRECONDITION_FAILED - unknown delivery tag 1152921504606846977"),
  },
  {
    name: "basic.ack multiple of tag 2^64-1",
    setup: "channel",
    until: MethodId.ChannelClose,
    act: (c) => sendSettle(c, 80, 2n ** 64n - 1n, 1),
    rabbitmq: channelClose(406, 60, 80, "PRECONDITION_FAILED - unknown delivery tag 18446744073709551615"),
  },
  {
    name: "basic.nack of tag 2^53+1",
    setup: "channel",
    until: MethodId.ChannelClose,
    act: (c) => sendSettle(c, 120, 2n ** 53n + 1n, 2),
    rabbitmq: channelClose(406, 60, 120, "PRECONDITION_FAILED - unknown delivery tag 9007199254740993"),
  },
  {
    name: "basic.reject of tag 2^63+7",
    setup: "channel",
    until: MethodId.ChannelClose,
    act: (c) => sendSettle(c, 90, 2n ** 63n + 7n, 0),
    rabbitmq: channelClose(406, 60, 90, "PRECONDITION_FAILED - unknown delivery tag 9223372036854775815"),
  },
];
/** Reduces an observed outcome to what a scenario compares. */
export function comparable(o: Outcome, expected: Expected): Expected {
  if (o.kind === "close") {
    const base = { kind: "close" as const, code: o.code, classId: o.classId, methodId: o.methodId };
    return expected.kind === "close" && expected.text !== undefined ? { ...base, text: o.text } : base;
  }
  return o;
}
