// Decoding MQTT 3.1, 3.1.1 and 5.0 packets (after packet_splitter.ts found one whole packet).
// Anything that breaks the spec's rules throws MqttError with the v5 reason code the spec
// names (0x81 malformed, 0x82 protocol error); the connection turns it into a disconnect.
import { type Properties, PROPERTY_TYPES } from "./properties.ts";

export const PacketType = {
  connect: 1,
  connack: 2,
  publish: 3,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  subscribe: 8,
  suback: 9,
  unsubscribe: 10,
  unsuback: 11,
  pingreq: 12,
  pingresp: 13,
  disconnect: 14,
  auth: 15,
} as const;

export const Reason = {
  success: 0x00,
  normalDisconnect: 0x00,
  grantedQos1: 0x01,
  disconnectWithWill: 0x04,
  noMatchingSubscribers: 0x10,
  unspecified: 0x80,
  malformed: 0x81,
  protocolError: 0x82,
  implementationSpecific: 0x83,
  unsupportedVersion: 0x84,
  clientIdNotValid: 0x85,
  badCredentials: 0x86,
  notAuthorized: 0x87,
  serverUnavailable: 0x88,
  serverBusy: 0x89,
  serverShuttingDown: 0x8b,
  keepAliveTimeout: 0x8d,
  sessionTakenOver: 0x8e,
  topicFilterInvalid: 0x8f,
  topicNameInvalid: 0x90,
  packetIdInUse: 0x91,
  packetIdNotFound: 0x92,
  receiveMaximumExceeded: 0x93,
  topicAliasInvalid: 0x94,
  packetTooLarge: 0x95,
  quotaExceeded: 0x97,
  payloadFormatInvalid: 0x99,
  retainNotSupported: 0x9a,
  qosNotSupported: 0x9b,
  sharedNotSupported: 0x9e,
  subscriptionIdsNotSupported: 0xa1,
  wildcardsNotSupported: 0xa2,
  administrativeAction: 0x98,
} as const;

/** A packet the spec says to answer with a disconnect: `reason` is the v5 reason code. */
export class MqttError extends Error {
  constructor(readonly reason: number, message: string) {
    super(message);
  }
}

const malformed = (why: string) => new MqttError(Reason.malformed, `malformed packet: ${why}`);
export const protocolError = (why: string) => new MqttError(Reason.protocolError, `protocol error: ${why}`);

export interface Will {
  topic: string;
  payload: Uint8Array;
  qos: number;
  retain: boolean;
  properties: Properties;
}

export interface Connect {
  type: 1;
  protocolName: string;
  level: number;
  cleanStart: boolean;
  keepAlive: number;
  properties: Properties;
  clientId: string;
  will: Will | undefined;
  username: string | undefined;
  password: Uint8Array | undefined;
}

export interface Publish {
  type: 3;
  dup: boolean;
  qos: number;
  retain: boolean;
  topic: string;
  packetId: number;
  properties: Properties;
  payload: Uint8Array;
}

export interface Subscription {
  filter: string;
  qos: number;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: number;
}

export interface Subscribe {
  type: 8;
  packetId: number;
  properties: Properties;
  subscriptions: Subscription[];
}

export interface Unsubscribe {
  type: 10;
  packetId: number;
  properties: Properties;
  filters: string[];
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP. */
export interface Ack {
  type: 4 | 5 | 6 | 7;
  packetId: number;
  reason: number;
}

export interface Disconnect {
  type: 14;
  reason: number;
  properties: Properties;
}

export interface Simple {
  type: 12 | 13 | 15;
}

export type Packet = Connect | Publish | Subscribe | Unsubscribe | Ack | Disconnect | Simple;

/** A cursor over one packet's bytes. */
class Cursor {
  pos = 0;
  constructor(readonly bytes: Uint8Array, readonly end: number) {}
  get left(): number {
    return this.end - this.pos;
  }
  byte(): number {
    if (this.pos >= this.end) throw malformed("packet ends too early");
    return this.bytes[this.pos++]!;
  }
  u16(): number {
    return (this.byte() << 8) | this.byte();
  }
  u32(): number {
    return ((this.u16() << 16) >>> 0) + this.u16();
  }
  varint(): number {
    let value = 0;
    for (let i = 0, shift = 1; i < 4; i++, shift *= 128) {
      const b = this.byte();
      value += (b & 0x7f) * shift;
      if ((b & 0x80) === 0) return value;
    }
    throw malformed("variable byte integer longer than 4 bytes");
  }
  binary(): Uint8Array {
    const length = this.u16();
    if (length > this.left) throw malformed("length beyond the end of the packet");
    const out = this.bytes.slice(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }
  string(): string {
    const raw = this.binary();
    return utf8(raw);
  }
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** A UTF-8 string as MQTT requires (well-formed, no U+0000). */
function utf8(raw: Uint8Array): string {
  let text: string;
  try {
    text = decoder.decode(raw);
  } catch {
    throw malformed("string is not valid UTF-8");
  }
  if (text.includes("\u0000")) throw malformed("string contains U+0000");
  return text;
}

function properties(c: Cursor, v5: boolean): Properties {
  const out: Properties = {};
  if (!v5) return out;
  const length = c.varint();
  if (length > c.left) throw malformed("properties longer than the packet");
  const end = c.pos + length;
  const seen = new Set<number>();
  while (c.pos < end) {
    const id = c.varint();
    const type = PROPERTY_TYPES.get(id);
    if (!type) throw malformed(`unknown property identifier 0x${id.toString(16)}`);
    const [name, kind] = type;
    const repeatable = kind === "pair" || name === "subscriptionIds";
    if (!repeatable && seen.has(id)) throw protocolError(`property ${name} given twice`);
    seen.add(id);
    const o = out as Record<string, unknown>;
    switch (kind) {
      case "byte":
        o[name] = c.byte();
        break;
      case "u16":
        o[name] = c.u16();
        break;
      case "u32":
        o[name] = c.u32();
        break;
      case "varint":
        ((o[name] ??= []) as number[]).push(c.varint());
        break;
      case "string":
        o[name] = c.string();
        break;
      case "binary":
        o[name] = c.binary();
        break;
      case "pair":
        ((o[name] ??= []) as [string, string][]).push([c.string(), c.string()]);
        break;
    }
  }
  if (c.pos !== end) throw malformed("property runs past the property length");
  return out;
}

function fixedFlags(type: number, flags: number, expected: number): void {
  if (flags !== expected) throw malformed(`reserved flags of packet type ${type} are ${flags}, must be ${expected}`);
}

/**
 * Decodes one packet: `first` is the fixed header's first byte, body the remaining bytes.
 * `level` is the protocol level of the connection (0 before CONNECT).
 */
export function decodePacket(first: number, body: Uint8Array, level: number): Packet {
  const type = first >> 4;
  const flags = first & 0x0f;
  const c = new Cursor(body, body.length);
  const v5 = level === 5;
  let packet: Packet;
  switch (type) {
    case PacketType.connect:
      fixedFlags(type, flags, 0);
      packet = decodeConnect(c);
      break;
    case PacketType.publish: {
      const qos = (flags >> 1) & 3;
      if (qos === 3) throw malformed("PUBLISH with QoS 3");
      const dup = (flags & 8) !== 0;
      if (qos === 0 && dup) throw malformed("PUBLISH QoS 0 with DUP set");
      const topic = c.string();
      const packetId = qos > 0 ? c.u16() : 0;
      if (qos > 0 && packetId === 0) throw malformed("PUBLISH with packet identifier 0");
      const props = properties(c, v5);
      const payload = body.slice(c.pos);
      c.pos = c.end;
      packet = { type: 3, dup, qos, retain: (flags & 1) !== 0, topic, packetId, properties: props, payload };
      break;
    }
    case PacketType.puback:
    case PacketType.pubrec:
    case PacketType.pubrel:
    case PacketType.pubcomp: {
      fixedFlags(type, flags, type === PacketType.pubrel ? 2 : 0);
      const packetId = c.u16();
      const reason = c.left > 0 ? c.byte() : 0;
      if (c.left > 0) properties(c, v5);
      packet = { type, packetId, reason };
      break;
    }
    case PacketType.subscribe: {
      fixedFlags(type, flags, 2);
      const packetId = c.u16();
      if (packetId === 0) throw malformed("SUBSCRIBE with packet identifier 0");
      const props = properties(c, v5);
      const subscriptions: Subscription[] = [];
      while (c.left > 0) {
        const filter = c.string();
        const options = c.byte();
        if (v5 ? (options & 0xc0) !== 0 || (options >> 4 & 3) === 3 : (options & 0xfc) !== 0) {
          throw malformed(`reserved bits of subscription options set (0x${options.toString(16)})`);
        }
        if ((options & 3) === 3) throw malformed("subscription QoS 3");
        subscriptions.push({
          filter,
          qos: options & 3,
          noLocal: v5 && (options & 4) !== 0,
          retainAsPublished: v5 && (options & 8) !== 0,
          retainHandling: v5 ? (options >> 4) & 3 : 0,
        });
      }
      if (subscriptions.length === 0) throw protocolError("SUBSCRIBE without a topic filter");
      packet = { type: 8, packetId, properties: props, subscriptions };
      break;
    }
    case PacketType.unsubscribe: {
      fixedFlags(type, flags, 2);
      const packetId = c.u16();
      if (packetId === 0) throw malformed("UNSUBSCRIBE with packet identifier 0");
      const props = properties(c, v5);
      const filters: string[] = [];
      while (c.left > 0) filters.push(c.string());
      if (filters.length === 0) throw protocolError("UNSUBSCRIBE without a topic filter");
      packet = { type: 10, packetId, properties: props, filters };
      break;
    }
    case PacketType.pingreq:
      fixedFlags(type, flags, 0);
      packet = { type: 12 };
      break;
    case PacketType.disconnect: {
      fixedFlags(type, flags, 0);
      const reason = c.left > 0 ? c.byte() : 0;
      const props = c.left > 0 ? properties(c, v5) : {};
      packet = { type: 14, reason, properties: props };
      break;
    }
    case PacketType.auth:
      if (!v5) throw malformed("AUTH before MQTT 5");
      throw new MqttError(Reason.protocolError, "protocol error: extended authentication (AUTH) is not supported");
    default:
      throw malformed(`packet type ${type} is not one a client sends`);
  }
  if (c.left !== 0) throw malformed(`${c.left} bytes left over at the end of packet type ${type}`);
  return packet;
}

function decodeConnect(c: Cursor): Connect {
  const protocolName = c.string();
  const level = c.byte();
  if (protocolName !== "MQTT" && protocolName !== "MQIsdp") throw protocolError(`unknown protocol name '${protocolName}'`);
  // An unsupported level gets CONNACK 0x01 / 0x84 (the caller answers it before anything else).
  if (!(level === 3 && protocolName === "MQIsdp") && !(protocolName === "MQTT" && (level === 4 || level === 5))) {
    throw new MqttError(Reason.unsupportedVersion, `unsupported protocol version ${level} (${protocolName})`);
  }
  const v5 = level === 5;
  const flags = c.byte();
  if ((flags & 1) !== 0) throw malformed("CONNECT reserved flag set");
  const willFlag = (flags & 4) !== 0;
  const willQos = (flags >> 3) & 3;
  const willRetain = (flags & 0x20) !== 0;
  if (!willFlag && (willQos !== 0 || willRetain)) throw malformed("will QoS or retain set without a will");
  if (willQos === 3) throw malformed("will QoS 3");
  const hasPassword = (flags & 0x40) !== 0;
  const hasUsername = (flags & 0x80) !== 0;
  if (!v5 && hasPassword && !hasUsername) throw malformed("password without a user name");
  const keepAlive = c.u16();
  const props = properties(c, v5);
  const clientId = c.string();
  let will: Will | undefined;
  if (willFlag) {
    const willProps = properties(c, v5);
    const topic = c.string();
    will = { topic, payload: c.binary(), qos: willQos, retain: willRetain, properties: willProps };
  }
  const username = hasUsername ? c.string() : undefined;
  const password = hasPassword ? c.binary() : undefined;
  return {
    type: 1,
    protocolName,
    level,
    cleanStart: (flags & 2) !== 0,
    keepAlive,
    properties: props,
    clientId,
    will,
    username,
    password,
  };
}
