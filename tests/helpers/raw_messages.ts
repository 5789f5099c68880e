// Byte-exact message properties for tests that must compare what the broker hands back with what
// was published, byte for byte. The encoder here is written out by hand from the AMQP 0-9-1 spec
// (not the project's codec), so a codec bug cannot hide itself; and raw publish / basic.get over
// RawClient give the content-header payload exactly as it went over the wire.
import { type BasicGetOk, MethodId } from "../../src/amqp/spec/methods.gen.ts";
import { FRAME_BODY, FRAME_HEADER } from "../../src/amqp/spec/constants.gen.ts";
import type { RawClient } from "./raw_client.ts";

/** One field of a table: the wire type letter and its value, encoded as that type. */
export type RawField =
  | ["t", boolean]
  | ["b" | "B" | "s" | "u" | "I" | "i", number]
  | ["l" | "T", bigint]
  | ["f" | "d", number]
  | ["D", [number, number]]
  | ["S" | "x", Uint8Array | string]
  | ["A", RawField[]]
  | ["F", [string, RawField][]]
  | ["V", null];

class Bytes {
  private parts: number[] = [];
  u8(v: number) {
    this.parts.push(v & 0xff);
    return this;
  }
  u16(v: number) {
    return this.u8(v >> 8).u8(v);
  }
  u32(v: number) {
    return this.u16(Math.floor(v / 0x10000)).u16(v & 0xffff);
  }
  raw(b: Uint8Array) {
    for (const x of b) this.parts.push(x);
    return this;
  }
  view(size: number, set: (d: DataView) => void) {
    const d = new DataView(new ArrayBuffer(size));
    set(d);
    return this.raw(new Uint8Array(d.buffer));
  }
  shortstr(s: string) {
    const b = new TextEncoder().encode(s);
    return this.u8(b.length).raw(b);
  }
  longbytes(b: Uint8Array) {
    return this.u32(b.length).raw(b);
  }
  done(): Uint8Array {
    return new Uint8Array(this.parts);
  }
}

const utf8 = (v: Uint8Array | string) => (typeof v === "string" ? new TextEncoder().encode(v) : v);

function fieldValue(w: Bytes, [type, value]: RawField): void {
  w.u8(type.charCodeAt(0));
  switch (type) {
    case "t":
      w.u8(value ? 1 : 0);
      break;
    case "b":
      w.view(1, (d) => d.setInt8(0, value));
      break;
    case "B":
      w.u8(value);
      break;
    case "s":
      w.view(2, (d) => d.setInt16(0, value));
      break;
    case "u":
      w.u16(value);
      break;
    case "I":
      w.view(4, (d) => d.setInt32(0, value));
      break;
    case "i":
      w.u32(value);
      break;
    case "l":
      w.view(8, (d) => d.setBigInt64(0, value));
      break;
    case "T":
      w.view(8, (d) => d.setBigUint64(0, value));
      break;
    case "f":
      w.view(4, (d) => d.setFloat32(0, value));
      break;
    case "d":
      w.view(8, (d) => d.setFloat64(0, value));
      break;
    case "D":
      w.u8(value[0]).u32(value[1]);
      break;
    case "S":
    case "x":
      w.longbytes(utf8(value));
      break;
    case "A": {
      const inner = new Bytes();
      for (const v of value) fieldValue(inner, v);
      w.longbytes(inner.done());
      break;
    }
    case "F":
      w.raw(rawTable(value));
      break;
    case "V":
      break;
  }
}

/** A field table (with its 4-byte size) from typed fields, in the given order. */
export function rawTable(fields: [string, RawField][]): Uint8Array {
  const inner = new Bytes();
  for (const [key, v] of fields) {
    inner.shortstr(key);
    fieldValue(inner, v);
  }
  return new Bytes().longbytes(inner.done()).done();
}

export interface RawProperties {
  contentType?: string;
  contentEncoding?: string;
  headers?: [string, RawField][];
  deliveryMode?: number;
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  expiration?: string;
  messageId?: string;
  timestamp?: bigint;
  type?: string;
  userId?: string;
  appId?: string;
  clusterId?: string;
}

/** basic properties as on the wire: 16 flag bits (bit 15 = content-type …), then the fields. */
export function rawProperties(p: RawProperties): Uint8Array {
  const order: (keyof RawProperties)[] = [
    "contentType",
    "contentEncoding",
    "headers",
    "deliveryMode",
    "priority",
    "correlationId",
    "replyTo",
    "expiration",
    "messageId",
    "timestamp",
    "type",
    "userId",
    "appId",
    "clusterId",
  ];
  let flags = 0;
  const w = new Bytes();
  order.forEach((key, i) => {
    const v = p[key];
    if (v === undefined) return;
    flags |= 1 << (15 - i);
    if (key === "headers") w.raw(rawTable(v as [string, RawField][]));
    else if (key === "deliveryMode" || key === "priority") w.u8(v as number);
    else if (key === "timestamp") w.view(8, (d) => d.setBigUint64(0, v as bigint));
    else w.shortstr(v as string);
  });
  return new Bytes().u16(flags).raw(w.done()).done();
}

/** The payload of a basic content-header frame: class 60, weight 0, body size, properties. */
export function contentHeaderPayload(bodySize: number, properties: Uint8Array): Uint8Array {
  return new Bytes().u16(60).u16(0).u32(Math.floor(bodySize / 2 ** 32)).u32(bodySize >>> 0).raw(properties).done();
}

/** basic.publish with exactly these property bytes; the body is split to fit `frameMax`. */
export function rawPublish(
  client: RawClient,
  channel: number,
  exchange: string,
  routingKey: string,
  properties: Uint8Array,
  body: Uint8Array,
  frameMax: number,
): void {
  client.sendMethod(channel, { id: MethodId.BasicPublish, ticket: 0, exchange, routingKey, mandatory: false, immediate: false });
  client.sendFrame(FRAME_HEADER, channel, contentHeaderPayload(body.length, properties));
  client.sendBody(channel, body, frameMax);
}

export interface RawGot {
  getOk: BasicGetOk;
  /** The content-header frame payload, byte for byte. */
  header: Uint8Array;
  body: Uint8Array;
}

/** basic.get (no-ack) over a raw connection; undefined on get-empty. */
export async function rawGet(client: RawClient, channel: number, queue: string, timeoutMs = 5000): Promise<RawGot | undefined> {
  client.sendMethod(channel, { id: MethodId.BasicGet, ticket: 0, queue, noAck: true });
  const reply = await client.waitForAnyMethod([MethodId.BasicGetOk, MethodId.BasicGetEmpty], timeoutMs);
  if (reply.id === MethodId.BasicGetEmpty) return undefined;
  const headerFrame = await client.waitForFrame((f) => f.type === FRAME_HEADER && f.channel === channel, timeoutMs);
  const header = headerFrame.payload;
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const size = Number(view.getBigUint64(4));
  const parts: Uint8Array[] = [];
  let got = 0;
  while (got < size) {
    const f = await client.waitForFrame((fr) => fr.type === FRAME_BODY && fr.channel === channel, timeoutMs);
    parts.push(f.payload);
    got += f.payload.length;
  }
  return { getOk: reply as BasicGetOk, header, body: new Uint8Array(Buffer.concat(parts)) };
}
