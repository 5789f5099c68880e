import { describe, expect, test } from "bun:test";
import { type FrameSink, FrameSplitter } from "../../../src/amqp/frame_splitter.ts";
import {
  readContentHeader,
  writeBodyFrames,
  writeContentHeaderFrame,
  writeHeartbeatFrame,
  writeMethodFrame,
} from "../../../src/amqp/frames.ts";
import { Reader } from "../../../src/amqp/reader.ts";
import { Writer } from "../../../src/amqp/writer.ts";
import { AmqpError } from "../../../src/amqp/errors.ts";
import { type AmqpMethod, decodeMethod, encodeMethod, MethodId } from "../../../src/amqp/spec/methods.gen.ts";
import { type BasicProperties, decodeProperties, encodeProperties } from "../../../src/amqp/spec/properties.gen.ts";
import { FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD } from "../../../src/amqp/spec/constants.gen.ts";

const FRAME_MAX = 4096;

interface Frame {
  type: number;
  channel: number;
  payload: Uint8Array;
}

/** Collects frames, copying each payload during the call (it is valid only then). */
class Collector implements FrameSink {
  frames: Frame[] = [];
  /** For each frame, whether its bytes were the very chunk that was pushed. */
  inPlace: boolean[] = [];
  chunk: Uint8Array | undefined;
  onFrame(type: number, channel: number, bytes: Uint8Array, start: number, end: number): void {
    this.frames.push({ type, channel, payload: bytes.slice(start, end) });
    this.inPlace.push(bytes === this.chunk);
  }
}

function feed(chunks: Uint8Array[], frameMax = FRAME_MAX): { frames: Frame[]; buffered: number; inPlace: boolean[] } {
  const splitter = new FrameSplitter(frameMax);
  const sink = new Collector();
  for (const chunk of chunks) {
    sink.chunk = chunk;
    splitter.push(chunk, sink);
  }
  return { frames: sink.frames, buffered: splitter.buffered, inPlace: sink.inPlace };
}

function sameFrames(a: Frame[], b: Frame[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.type !== y.type || x.channel !== y.channel || x.payload.length !== y.payload.length) return false;
    for (let j = 0; j < x.payload.length; j++) if (x.payload[j] !== y.payload[j]) return false;
  }
  return true;
}

function methodPayload(m: AmqpMethod): Uint8Array {
  const w = new Writer();
  encodeMethod(w, m);
  return w.written().slice();
}

/** A deterministic PRNG (mulberry32) so random chunkings are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ------------------------------------------------------------------------- the test stream

const publish: AmqpMethod = {
  id: MethodId.BasicPublish,
  ticket: 0,
  exchange: "amq.topic",
  routingKey: "a.b.c",
  mandatory: true,
  immediate: false,
};
const start: AmqpMethod = {
  id: MethodId.ConnectionStart,
  versionMajor: 0,
  versionMinor: 9,
  serverProperties: { product: "Warren", capabilities: { publisher_confirms: true, "consumer_cancel_notify": true } },
  mechanisms: new TextEncoder().encode("PLAIN AMQPLAIN"),
  locales: new TextEncoder().encode("en_US"),
};
const close: AmqpMethod = { id: MethodId.ChannelClose, replyCode: 404, replyText: "NOT_FOUND - no queue 'q'", classId: 50, methodId: 10 };
const properties: BasicProperties = { contentType: "application/octet-stream", deliveryMode: 2, headers: { "x-k": "v" }, messageId: "m-1" };

const body = new Uint8Array(9000).map((_, i) => (i * 7 + (i >> 8)) & 0xff);
const exactBody = new Uint8Array(FRAME_MAX - 8).map((_, i) => (255 - i) & 0xff);

function propertyBytes(): Uint8Array {
  const w = new Writer();
  encodeProperties(w, properties);
  return w.written().slice();
}

function headerPayload(classId: number, bodySize: number, props: Uint8Array): Uint8Array {
  const w = new Writer();
  w.u16(classId);
  w.u16(0);
  w.u64(bodySize);
  w.raw(props);
  return w.written().slice();
}

/** The stream, and the frames it holds built independently of the frame writers. */
function buildStream(): { stream: Uint8Array; expected: Frame[] } {
  const w = new Writer(64);
  const expected: Frame[] = [];
  const props = propertyBytes();

  writeMethodFrame(w, 0, start);
  expected.push({ type: FRAME_METHOD, channel: 0, payload: methodPayload(start) });

  writeMethodFrame(w, 1, publish);
  expected.push({ type: FRAME_METHOD, channel: 1, payload: methodPayload(publish) });
  writeContentHeaderFrame(w, 1, 60, body.length, props);
  expected.push({ type: FRAME_HEADER, channel: 1, payload: headerPayload(60, body.length, props) });
  writeBodyFrames(w, 1, body, FRAME_MAX);
  for (let offset = 0; offset < body.length; offset += FRAME_MAX - 8) {
    expected.push({ type: FRAME_BODY, channel: 1, payload: body.slice(offset, offset + FRAME_MAX - 8) });
  }

  writeHeartbeatFrame(w);
  expected.push({ type: FRAME_HEARTBEAT, channel: 0, payload: new Uint8Array(0) });

  // A body that fills a frame exactly, on the highest channel number.
  writeMethodFrame(w, 65535, publish);
  expected.push({ type: FRAME_METHOD, channel: 65535, payload: methodPayload(publish) });
  writeContentHeaderFrame(w, 65535, 60, exactBody.length, props);
  expected.push({ type: FRAME_HEADER, channel: 65535, payload: headerPayload(60, exactBody.length, props) });
  writeBodyFrames(w, 65535, exactBody, FRAME_MAX);
  expected.push({ type: FRAME_BODY, channel: 65535, payload: exactBody.slice() });

  // An empty body writes no body frame at all.
  writeMethodFrame(w, 2, publish);
  expected.push({ type: FRAME_METHOD, channel: 2, payload: methodPayload(publish) });
  writeContentHeaderFrame(w, 2, 60, 0, props);
  expected.push({ type: FRAME_HEADER, channel: 2, payload: headerPayload(60, 0, props) });
  writeBodyFrames(w, 2, new Uint8Array(0), FRAME_MAX);

  writeMethodFrame(w, 258, close);
  expected.push({ type: FRAME_METHOD, channel: 258, payload: methodPayload(close) });
  writeHeartbeatFrame(w);
  expected.push({ type: FRAME_HEARTBEAT, channel: 0, payload: new Uint8Array(0) });

  return { stream: w.written().slice(), expected };
}

const { stream, expected } = buildStream();

// ------------------------------------------------------------------------------------ tests

describe("frame writers", () => {
  test("the stream has the frames it was built from, each framed by hand-checkable headers and end octets", () => {
    // Walk the stream by the wire format alone.
    const frames: Frame[] = [];
    const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
    let pos = 0;
    while (pos < stream.length) {
      const size = view.getUint32(pos + 3);
      frames.push({ type: stream[pos]!, channel: view.getUint16(pos + 1), payload: stream.slice(pos + 7, pos + 7 + size) });
      expect(stream[pos + 7 + size]).toBe(FRAME_END);
      pos += 8 + size;
    }
    expect(pos).toBe(stream.length);
    expect(sameFrames(frames, expected)).toBe(true);
  });

  test("a body bigger than frame_max is split so that no frame exceeds frame_max", () => {
    const w = new Writer();
    writeBodyFrames(w, 1, body, FRAME_MAX);
    const { frames } = feed([w.written().slice()]);
    expect(frames.map((f) => f.payload.length)).toEqual([4088, 4088, 9000 - 2 * 4088]);
    for (const f of frames) expect(f.payload.length + 8).toBeLessThanOrEqual(FRAME_MAX);
  });

  test("writeBodyFrames with frame_max 0 writes the whole body as one frame", () => {
    const w = new Writer();
    writeBodyFrames(w, 3, body, 0);
    expect(w.pos).toBe(body.length + 8);
    const { frames } = feed([w.written().slice()], 0);
    expect(frames.length).toBe(1);
    expect(frames[0]!.payload).toEqual(body);
  });

  test("a heartbeat frame is the eight bytes 08 0000 00000000 ce", () => {
    const w = new Writer();
    writeHeartbeatFrame(w);
    expect(Array.from(w.written())).toEqual([8, 0, 0, 0, 0, 0, 0, 0xce]);
  });

  test("a content header frame carries class, body size and the property bytes unchanged", () => {
    const collector = new Collector();
    new FrameSplitter(FRAME_MAX).push(stream, collector);
    const header = collector.frames.find((f) => f.type === FRAME_HEADER)!;
    const r = new Reader(header.payload);
    const h = readContentHeader(r);
    expect(h.classId).toBe(60);
    expect(h.bodySize).toBe(body.length);
    expect(h.properties).toEqual(propertyBytes());
    expect(decodeProperties(new Reader(h.properties))).toEqual(properties);
  });

  test("a content header with a non-zero weight is rejected with 501", () => {
    const payload = headerPayload(60, 1, propertyBytes());
    payload[3] = 1;
    expect(() => readContentHeader(new Reader(payload))).toThrow(AmqpError);
    try {
      readContentHeader(new Reader(payload));
    } catch (e) {
      expect((e as AmqpError).code).toBe(501);
    }
  });

  test("method frames decode back to the methods written", () => {
    const collector = new Collector();
    new FrameSplitter(FRAME_MAX).push(stream, collector);
    const methods = collector.frames.filter((f) => f.type === FRAME_METHOD).map((f) => decodeMethod(new Reader(f.payload)));
    expect(methods.map((m) => m.id)).toEqual([
      MethodId.ConnectionStart,
      MethodId.BasicPublish,
      MethodId.BasicPublish,
      MethodId.BasicPublish,
      MethodId.ChannelClose,
    ]);
    expect(methods[4]).toEqual(close);
  });
});

describe("FrameSplitter", () => {
  test("delivers every frame of a stream pushed whole", () => {
    const { frames, buffered } = feed([stream]);
    expect(frames.length).toBe(expected.length);
    expect(sameFrames(frames, expected)).toBe(true);
    expect(buffered).toBe(0);
  });

  test("delivers the same frames when the stream is split into two chunks at every byte boundary", () => {
    const failures: number[] = [];
    for (let cut = 0; cut <= stream.length; cut++) {
      const { frames, buffered } = feed([stream.subarray(0, cut), stream.subarray(cut)]);
      if (!sameFrames(frames, expected) || buffered !== 0) failures.push(cut);
    }
    expect(failures).toEqual([]);
  });

  test("delivers the same frames when the stream arrives one byte at a time", () => {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i++) chunks.push(stream.slice(i, i + 1));
    const { frames, buffered } = feed(chunks);
    expect(sameFrames(frames, expected)).toBe(true);
    expect(buffered).toBe(0);
  });

  test("delivers the same frames when the stream arrives in random-sized chunks (incl. empty ones)", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = prng(seed);
      // Small chunks for some seeds, up to two frames' worth for others.
      const maxChunk = seed % 3 === 0 ? 16 : seed % 3 === 1 ? 700 : 2 * FRAME_MAX;
      const chunks: Uint8Array[] = [];
      for (let pos = 0; pos < stream.length;) {
        const size = Math.floor(random() * (maxChunk + 1));
        chunks.push(stream.subarray(pos, pos + size));
        pos += size;
      }
      const { frames, buffered } = feed(chunks);
      expect(sameFrames(frames, expected), `seed ${seed}`).toBe(true);
      expect(buffered, `seed ${seed}`).toBe(0);
    }
  });

  test("chunks that are views into a larger buffer at an offset split the same way", () => {
    const big = new Uint8Array(stream.length + 100).fill(0x55);
    big.set(stream, 50);
    const whole = big.subarray(50, 50 + stream.length);
    const mid = Math.floor(stream.length / 2);
    expect(sameFrames(feed([whole]).frames, expected)).toBe(true);
    expect(sameFrames(feed([whole.subarray(0, mid), whole.subarray(mid)]).frames, expected)).toBe(true);
  });

  test("holds back an incomplete frame and reports how many bytes it buffered", () => {
    const splitter = new FrameSplitter(FRAME_MAX);
    const sink = new Collector();
    const firstFrameLength = 8 + expected[0]!.payload.length;
    splitter.push(stream.subarray(0, firstFrameLength + 5), sink);
    expect(sink.frames.length).toBe(1);
    expect(splitter.buffered).toBe(5);
    // A frame complete except for its end octet is not delivered yet.
    const secondFrameLength = 8 + expected[1]!.payload.length;
    splitter.push(stream.subarray(firstFrameLength + 5, firstFrameLength + secondFrameLength - 1), sink);
    expect(sink.frames.length).toBe(1);
    expect(splitter.buffered).toBe(secondFrameLength - 1);
    splitter.push(stream.subarray(firstFrameLength + secondFrameLength - 1), sink);
    expect(sameFrames(sink.frames, expected)).toBe(true);
    expect(splitter.buffered).toBe(0);
  });

  test("a frame that lies whole in the chunk is handed over in place, without a copy", () => {
    const { frames, inPlace } = feed([stream]);
    expect(frames.length).toBe(expected.length);
    expect(inPlace.every((x) => x)).toBe(true);
  });

  test("only the frame split across chunks is copied; whole frames in the next chunk are in place", () => {
    // Cut in the middle of the second frame: frame 0 in chunk 1, frame 1 split, the rest in chunk 2.
    const cut = 8 + expected[0]!.payload.length + 10;
    const { frames, inPlace } = feed([stream.subarray(0, cut), stream.subarray(cut)]);
    expect(sameFrames(frames, expected)).toBe(true);
    expect(inPlace[0]).toBe(true);
    expect(inPlace[1]).toBe(false);
    expect(inPlace.slice(2).every((x) => x)).toBe(true);
  });

  function frameWithPayload(size: number, end = FRAME_END): Uint8Array {
    const bytes = new Uint8Array(8 + size);
    bytes[0] = FRAME_BODY;
    bytes[2] = 1;
    new DataView(bytes.buffer).setUint32(3, size);
    bytes[7 + size] = end;
    return bytes;
  }

  function pushError(splitter: FrameSplitter, chunks: Uint8Array[]): AmqpError | undefined {
    const sink = new Collector();
    try {
      for (const c of chunks) splitter.push(c, sink);
    } catch (e) {
      expect(e).toBeInstanceOf(AmqpError);
      return e as AmqpError;
    }
    return undefined;
  }

  test("a frame larger than frame_max throws AmqpError 501 naming frame_max", () => {
    const err = pushError(new FrameSplitter(FRAME_MAX), [frameWithPayload(FRAME_MAX + 1)]);
    expect(err).toBeDefined();
    expect(err!.code).toBe(501);
    expect(err!.message).toContain("frame_max");
  });

  test("a frame larger than frame_max is rejected as soon as its header arrives, split or not", () => {
    const frame = frameWithPayload(1_000_000);
    // Only the 7 header bytes in one chunk.
    expect(pushError(new FrameSplitter(FRAME_MAX), [frame.subarray(0, 7)])?.code).toBe(501);
    // The header one byte at a time.
    const bytes = Array.from({ length: 7 }, (_, i) => frame.subarray(i, i + 1));
    expect(pushError(new FrameSplitter(FRAME_MAX), bytes)?.code).toBe(501);
    // After a complete frame, in the same chunk.
    const w = new Writer();
    writeHeartbeatFrame(w);
    w.raw(frame.subarray(0, 7));
    expect(pushError(new FrameSplitter(FRAME_MAX), [w.written().slice()])?.code).toBe(501);
  });

  test("a payload of up to frame_max bytes is accepted, as RabbitMQ allows (frame_max - 8 plus 8 bytes slack)", () => {
    const frame = frameWithPayload(FRAME_MAX);
    const { frames } = feed([frame]);
    expect(frames.length).toBe(1);
    expect(frames[0]!.payload.length).toBe(FRAME_MAX);
  });

  test("setFrameMax(0) means no limit", () => {
    const splitter = new FrameSplitter(FRAME_MAX);
    splitter.setFrameMax(0);
    const sink = new Collector();
    const frame = frameWithPayload(300_000);
    splitter.push(frame.subarray(0, 100), sink);
    splitter.push(frame.subarray(100), sink);
    expect(sink.frames.length).toBe(1);
    expect(sink.frames[0]!.payload.length).toBe(300_000);
    // And a splitter created with 0 likewise.
    expect(feed([frame], 0).frames.length).toBe(1);
  });

  test("setFrameMax lowers the limit for later frames", () => {
    const splitter = new FrameSplitter(0);
    splitter.setFrameMax(FRAME_MAX);
    expect(pushError(splitter, [frameWithPayload(FRAME_MAX + 1)])?.code).toBe(501);
  });

  test("a bad frame-end octet throws AmqpError 501, whole or split", () => {
    const frame = frameWithPayload(10, 0x00);
    const whole = pushError(new FrameSplitter(FRAME_MAX), [frame]);
    expect(whole?.code).toBe(501);
    expect(whole?.message).toContain("end");
    const split = pushError(new FrameSplitter(FRAME_MAX), [frame.subarray(0, 5), frame.subarray(5)]);
    expect(split?.code).toBe(501);
    const bytewise = pushError(new FrameSplitter(FRAME_MAX), Array.from(frame, (_, i) => frame.subarray(i, i + 1)));
    expect(bytewise?.code).toBe(501);
  });

  test("a bad frame-end octet in the middle of a stream is detected after the good frames before it", () => {
    const bad = stream.slice();
    const firstFrameLength = 8 + expected[0]!.payload.length;
    bad[firstFrameLength + 8 + expected[1]!.payload.length - 1] = 0xcd; // end of frame 2
    const splitter = new FrameSplitter(FRAME_MAX);
    const sink = new Collector();
    expect(() => splitter.push(bad, sink)).toThrow(AmqpError);
    expect(sink.frames.length).toBe(1);
  });
});

describe("frame splitter memory", () => {
  test("the buffer of a large split frame is released; later split frames use a small one", () => {
    const big = new Writer(1024);
    writeBodyFrames(big, 1, new Uint8Array(600 * 1024).fill(9), 0);
    const small = new Writer(64);
    writeBodyFrames(small, 1, new Uint8Array(100).fill(3), 0);
    const splitter = new FrameSplitter(0);
    const lengths: number[] = [];
    const payloads: number[] = [];
    const sink: FrameSink = {
      onFrame(_type, _channel, bytes, start, end) {
        lengths.push(bytes.length);
        payloads.push(end - start);
      },
    };
    const b = big.written();
    splitter.push(b.subarray(0, 1000), sink);
    splitter.push(b.subarray(1000), sink);
    const s = small.written();
    splitter.push(s.subarray(0, 50), sink);
    splitter.push(s.subarray(50), sink);
    expect(payloads).toEqual([600 * 1024, 100]);
    expect(lengths[0]).toBeGreaterThanOrEqual(600 * 1024);
    expect(lengths[1]).toBeLessThan(256 * 1024);
    expect(splitter.buffered).toBe(0);
  });
});
