// Encoding the packets a server sends (CONNACK, PUBLISH, PUBACK, SUBACK, UNSUBACK, PINGRESP,
// DISCONNECT) for MQTT 3.1.1 and 5.0. Each returns one Uint8Array holding the whole packet.
import { type Properties, PROPERTY_IDS, PROPERTY_TYPES } from "./properties.ts";
import { PacketType } from "./decode.ts";

const encoder = new TextEncoder();

/** Grows as bytes are added; `finish` puts the fixed header in front. */
class Builder {
  private buf = new Uint8Array(64);
  length = 0;
  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  byte(b: number): this {
    this.room(1);
    this.buf[this.length++] = b;
    return this;
  }
  u16(v: number): this {
    return this.byte(v >> 8).byte(v & 0xff);
  }
  u32(v: number): this {
    return this.u16(Math.floor(v / 65536) & 0xffff).u16(v & 0xffff);
  }
  varint(v: number): this {
    do {
      let b = v % 128;
      v = Math.floor(v / 128);
      if (v > 0) b |= 0x80;
      this.byte(b);
    } while (v > 0);
    return this;
  }
  raw(bytes: Uint8Array): this {
    this.room(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }
  binary(bytes: Uint8Array): this {
    return this.u16(bytes.length).raw(bytes);
  }
  string(text: string): this {
    return this.binary(encoder.encode(text));
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
  /** The packet: first byte, remaining length, then what was built. */
  finish(first: number): Uint8Array {
    const head = new Builder().byte(first).varint(this.length);
    return head.raw(this.bytes()).bytes().slice();
  }
}

function writeProperties(b: Builder, props: Properties): void {
  const p = new Builder();
  for (const [name, value] of Object.entries(props) as [keyof Properties, unknown][]) {
    if (value === undefined) continue;
    const id = PROPERTY_IDS.get(name)!;
    const kind = PROPERTY_TYPES.get(id)![1];
    switch (kind) {
      case "byte":
        p.varint(id).byte(value as number);
        break;
      case "u16":
        p.varint(id).u16(value as number);
        break;
      case "u32":
        p.varint(id).u32(value as number);
        break;
      case "varint":
        for (const v of value as number[]) p.varint(id).varint(v);
        break;
      case "string":
        p.varint(id).string(value as string);
        break;
      case "binary":
        p.varint(id).binary(value as Uint8Array);
        break;
      case "pair":
        for (const [k, v] of value as [string, string][]) p.varint(id).string(k).string(v);
        break;
    }
  }
  b.varint(p.length).raw(p.bytes());
}

export function connack(v5: boolean, sessionPresent: boolean, code: number, props: Properties = {}): Uint8Array {
  const b = new Builder().byte(sessionPresent ? 1 : 0).byte(code);
  if (v5) writeProperties(b, props);
  return b.finish(PacketType.connack << 4);
}

export interface OutgoingPublish {
  topic: string;
  qos: number;
  retain: boolean;
  dup: boolean;
  packetId: number;
  properties: Properties;
  payload: Uint8Array;
}

export function publishPacket(v5: boolean, p: OutgoingPublish): Uint8Array {
  const first = (PacketType.publish << 4) | (p.dup ? 8 : 0) | (p.qos << 1) | (p.retain ? 1 : 0);
  if (v5 && hasProperties(p.properties)) return builtPublish(v5, p, first);
  // Every delivery comes here: the packet is sized first and written once (a builder grows,
  // then copies the payload twice more).
  const topic = encoder.encode(p.topic);
  const payload = p.payload;
  const remaining = 2 + topic.length + (p.qos > 0 ? 2 : 0) + (v5 ? 1 : 0) + payload.length;
  const out = new Uint8Array(1 + varintSize(remaining) + remaining);
  out[0] = first;
  let at = 1;
  let rest = remaining;
  do {
    out[at++] = (rest % 128) | (rest >= 128 ? 0x80 : 0);
    rest = Math.floor(rest / 128);
  } while (rest > 0);
  out[at++] = topic.length >> 8;
  out[at++] = topic.length & 0xff;
  out.set(topic, at);
  at += topic.length;
  if (p.qos > 0) {
    out[at++] = p.packetId >> 8;
    out[at++] = p.packetId & 0xff;
  }
  if (v5) out[at++] = 0; // property length: none
  out.set(payload, at);
  return out;
}

/** Bytes of `n` as a variable byte integer. */
function varintSize(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

function hasProperties(props: Properties): boolean {
  for (const key in props) if (props[key as keyof Properties] !== undefined) return true;
  return false;
}

/** A PUBLISH with MQTT 5 properties, through the builder. */
function builtPublish(v5: boolean, p: OutgoingPublish, first: number): Uint8Array {
  const b = new Builder().string(p.topic);
  if (p.qos > 0) b.u16(p.packetId);
  if (v5) writeProperties(b, p.properties);
  b.raw(p.payload);
  return b.finish(first);
}

/** PUBACK (or PUBREC, PUBCOMP): the reason code is left out when it is success, as 5.0 allows. */
export function ackPacket(type: number, v5: boolean, packetId: number, reason = 0, reasonString?: string): Uint8Array {
  // The usual ack: fixed header, remaining length 2, packet id (one allocation, not a builder's several).
  if (!v5 || (reason === 0 && reasonString === undefined)) {
    return Uint8Array.of((type << 4) | (type === PacketType.pubrel ? 2 : 0), 2, packetId >> 8, packetId & 0xff);
  }
  // 5.0 with a reason code (and perhaps a reason string).
  const b = new Builder().u16(packetId).byte(reason);
  if (reasonString !== undefined) writeProperties(b, { reasonString });
  return b.finish((type << 4) | (type === PacketType.pubrel ? 2 : 0));
}

export function suback(v5: boolean, packetId: number, codes: number[]): Uint8Array {
  const b = new Builder().u16(packetId);
  if (v5) writeProperties(b, {});
  for (const code of codes) b.byte(code);
  return b.finish(PacketType.suback << 4);
}

export function unsuback(v5: boolean, packetId: number, codes: number[]): Uint8Array {
  const b = new Builder().u16(packetId);
  if (v5) {
    writeProperties(b, {});
    for (const code of codes) b.byte(code);
  }
  return b.finish(PacketType.unsuback << 4);
}

export const PINGRESP = new Uint8Array([PacketType.pingresp << 4, 0]);

export function disconnectPacket(reason: number, reasonString?: string): Uint8Array {
  const b = new Builder().byte(reason);
  writeProperties(b, reasonString === undefined ? {} : { reasonString });
  return b.finish(PacketType.disconnect << 4);
}
