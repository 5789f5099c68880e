// Frame builders: each appends one whole frame to a Writer, back-patching the payload size.
import { FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD } from "./spec/constants.gen.ts";
import { type AmqpMethod, encodeMethod } from "./spec/methods.gen.ts";
import type { Writer } from "./writer.ts";
import type { Reader } from "./reader.ts";
import { frameError } from "./errors.ts";

export function writeMethodFrame(w: Writer, channel: number, method: AmqpMethod): void {
  const start = beginFrame(w, FRAME_METHOD, channel);
  encodeMethod(w, method);
  endFrame(w, start);
}

export function writeHeartbeatFrame(w: Writer): void {
  w.ensure(8);
  w.u8(FRAME_HEARTBEAT);
  w.u16(0);
  w.u32(0);
  w.u8(FRAME_END);
}

/** A content header with properties passed through as their encoded bytes (flag word included). */
export function writeContentHeaderFrame(
  w: Writer,
  channel: number,
  classId: number,
  bodySize: number,
  properties: Uint8Array,
): void {
  w.ensure(8 + 14 + properties.length);
  const start = beginFrame(w, FRAME_HEADER, channel);
  w.u16(classId);
  w.u16(0);
  w.u64(bodySize);
  w.raw(properties);
  endFrame(w, start);
}

/** Body frames, split so that no frame exceeds frameMax (0 = unlimited). */
export function writeBodyFrames(w: Writer, channel: number, body: Uint8Array, frameMax: number): void {
  const maxChunk = frameMax === 0 ? body.length : frameMax - 8;
  for (let offset = 0; offset < body.length; offset += maxChunk) {
    const part = body.subarray(offset, Math.min(body.length, offset + maxChunk));
    w.ensure(8 + part.length);
    const start = beginFrame(w, FRAME_BODY, channel);
    w.raw(part);
    endFrame(w, start);
  }
}

function beginFrame(w: Writer, type: number, channel: number): number {
  w.ensure(7);
  w.u8(type);
  w.u16(channel);
  const sizeAt = w.pos;
  w.u32(0);
  return sizeAt;
}

function endFrame(w: Writer, sizeAt: number): void {
  w.view.setUint32(sizeAt, w.pos - sizeAt - 4);
  w.u8(FRAME_END);
}

export interface ContentHeader {
  classId: number;
  bodySize: number;
  /** The encoded property list (flag words and fields), copied out of the socket chunk. */
  properties: Uint8Array;
}

/** Reads a content header frame's payload; properties stay encoded for pass-through. */
export function readContentHeader(r: Reader): ContentHeader {
  return readContentHeaderInto(r, { classId: 0, bodySize: 0, properties: EMPTY });
}

const EMPTY = new Uint8Array(0);

/** readContentHeader into the caller's object (the broker reuses one per channel). */
export function readContentHeaderInto<H extends ContentHeader>(r: Reader, header: H): H {
  const classId = r.u16();
  const weight = r.u16();
  if (weight !== 0) throw frameError(`content header weight must be 0, got ${weight}`);
  const bodySize = r.u64();
  header.classId = classId;
  header.bodySize = bodySize;
  header.properties = r.bytes.slice(r.pos, r.end);
  r.pos = r.end;
  return header;
}

/**
 * basic.deliver with its content, hand-written for the hot path: method, header and body
 * frames appended in one go with no intermediate objects.
 */
export function writeDeliver(
  w: Writer,
  channel: number,
  consumerTag: string,
  deliveryTag: number,
  redelivered: boolean,
  exchange: string,
  routingKey: string,
  properties: Uint8Array,
  body: Uint8Array,
  frameMax: number,
): void {
  w.ensure(8 + 4 + 3 * 256 + 8 + 1 + 8 + 14 + properties.length + 8 + body.length);
  const start = beginFrame(w, FRAME_METHOD, channel);
  w.u32(0x003c003c); // basic.deliver
  w.shortstr(consumerTag);
  w.u64(deliveryTag);
  w.u8(redelivered ? 1 : 0);
  w.shortstr(exchange);
  w.shortstr(routingKey);
  endFrame(w, start);
  writeContentHeaderFrame(w, channel, 60, body.length, properties);
  if (body.length > 0) writeBodyFrames(w, channel, body, frameMax);
}

/** Content (header and body frames) following a method frame such as get-ok or return. */
export function writeContent(w: Writer, channel: number, properties: Uint8Array, body: Uint8Array, frameMax: number): void {
  writeContentHeaderFrame(w, channel, 60, body.length, properties);
  if (body.length > 0) writeBodyFrames(w, channel, body, frameMax);
}
