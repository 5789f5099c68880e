// Hostile AMQP inputs for the frame fuzzer: a valid client conversation (handshake, then a mix of
// channel, queue, exchange, publish, get, ack and tx methods), encoded with the project's codec,
// then mutated by a seeded PRNG (bit flips, byte and length-field overwrites, truncation, cut and
// spliced frames, junk, huge declared sizes, wrong channels and frame types).
import { writeBodyFrames, writeContentHeaderFrame, writeMethodFrame } from "../../src/amqp/frames.ts";
import { type AmqpMethod, MethodId } from "../../src/amqp/spec/methods.gen.ts";
import { Writer } from "../../src/amqp/writer.ts";
import type { Rng } from "./rng.ts";

const HEADER = new Uint8Array([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);

/** The handshake a client sends without waiting (PLAIN guest/guest, tune-ok, open). */
function handshake(w: Writer, rng: Rng): void {
  w.raw(HEADER);
  writeMethodFrame(w, 0, {
    id: MethodId.ConnectionStartOk,
    clientProperties: { product: "fuzz", capabilities: { "connection.blocked": true } },
    mechanism: "PLAIN",
    response: new TextEncoder().encode("\0guest\0guest"),
    locale: "en_US",
  });
  writeMethodFrame(w, 0, {
    id: MethodId.ConnectionTuneOk,
    channelMax: rng.pick([0, 1, 10, 2047]),
    frameMax: rng.pick([4096, 131072]),
    heartbeat: rng.pick([0, 60]),
  });
  writeMethodFrame(w, 0, { id: MethodId.ConnectionOpen, virtualHost: "/", capabilities: "", insist: false });
}

const QUEUES = ["fuzz-q", "", "amq.q", "fuzz-q2"];
const EXCHANGES = ["", "amq.direct", "amq.topic", "fuzz-x", "amq.headers"];

function someMethod(rng: Rng, q: string): AmqpMethod {
  switch (rng.int(14)) {
    case 0:
      return {
        id: MethodId.QueueDeclare,
        ticket: 0,
        queue: q,
        passive: rng.chance(0.2),
        durable: rng.chance(0.3),
        exclusive: rng.chance(0.2),
        autoDelete: rng.chance(0.2),
        nowait: rng.chance(0.1),
        arguments: rng.chance(0.3) ? { "x-max-length": rng.int(5), "x-queue-type": rng.pick(["classic", "quorum", "bogus"]) } : {},
      };
    case 1:
      return {
        id: MethodId.ExchangeDeclare,
        ticket: 0,
        exchange: rng.pick(EXCHANGES),
        type: rng.pick(["direct", "topic", "fanout", "headers", "nope"]),
        passive: rng.chance(0.2),
        durable: rng.chance(0.3),
        autoDelete: false,
        internal: false,
        nowait: false,
        arguments: {},
      };
    case 2:
      return {
        id: MethodId.QueueBind,
        ticket: 0,
        queue: q,
        exchange: rng.pick(EXCHANGES),
        routingKey: rng.pick(["a.#", "*", "k"]),
        nowait: false,
        arguments: {},
      };
    case 3:
      return { id: MethodId.BasicGet, ticket: 0, queue: q, noAck: rng.chance(0.5) };
    case 4:
      return { id: MethodId.BasicAck, deliveryTag: rng.pick([0, 1, 2, 2 ** 40, 2n ** 63n]), multiple: rng.chance(0.5) };
    case 5:
      return { id: MethodId.BasicNack, deliveryTag: rng.int(4), multiple: rng.chance(0.5), requeue: rng.chance(0.5) };
    case 6:
      return { id: MethodId.BasicQos, prefetchSize: 0, prefetchCount: rng.int(10), global: rng.chance(0.5) };
    case 7:
      return {
        id: MethodId.BasicConsume,
        ticket: 0,
        queue: q,
        consumerTag: rng.pick(["", "c1"]),
        noLocal: false,
        noAck: rng.chance(0.5),
        exclusive: rng.chance(0.2),
        nowait: false,
        arguments: {},
      };
    case 8:
      return { id: MethodId.BasicCancel, consumerTag: "c1", nowait: false };
    case 9:
      return { id: MethodId.ConfirmSelect, nowait: false };
    case 10:
      return { id: MethodId.TxSelect };
    case 11:
      return { id: MethodId.TxCommit };
    case 12:
      return { id: MethodId.QueuePurge, ticket: 0, queue: q, nowait: false };
    default:
      return { id: MethodId.ChannelFlow, active: rng.chance(0.5) };
  }
}

/** A valid conversation after the handshake: channels, declares, publishes with bodies, gets, acks. */
function conversation(w: Writer, rng: Rng): void {
  const channels = 1 + rng.int(3);
  for (let ch = 1; ch <= channels; ch++) writeMethodFrame(w, ch, { id: MethodId.ChannelOpen, outOfBand: "" });
  const steps = 2 + rng.int(10);
  for (let i = 0; i < steps; i++) {
    const ch = 1 + rng.int(channels);
    const q = rng.pick(QUEUES);
    if (rng.chance(0.4)) {
      const body = rng.bytes(rng.pick([0, 1, 10, 5000, 140_000]));
      writeMethodFrame(w, ch, {
        id: MethodId.BasicPublish,
        ticket: 0,
        exchange: rng.pick(EXCHANGES),
        routingKey: q,
        mandatory: rng.chance(0.3),
        immediate: rng.chance(0.05),
      });
      // No properties, or delivery-mode 2 (flag bit 12).
      writeContentHeaderFrame(w, ch, 60, body.length, rng.chance(0.5) ? new Uint8Array([0, 0]) : new Uint8Array([0x10, 0, 2]));
      writeBodyFrames(w, ch, body, 4096);
    } else {
      writeMethodFrame(w, ch, someMethod(rng, q));
    }
  }
  if (rng.chance(0.5)) writeMethodFrame(w, 0, { id: MethodId.ConnectionClose, replyCode: 200, replyText: "bye", classId: 0, methodId: 0 });
}

/** Offsets of frame starts in an encoded conversation (after the 8-byte protocol header). */
function frameStarts(bytes: Uint8Array, from: number): number[] {
  const starts: number[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = from; at + 7 <= bytes.length;) {
    starts.push(at);
    at += 8 + view.getUint32(at + 3);
  }
  return starts;
}

/** One hostile input: a conversation with 1–4 mutations (some leave the handshake intact). */
export function hostileInput(rng: Rng): Uint8Array {
  const w = new Writer(4096);
  handshake(w, rng);
  const handshakeEnd = w.written().length;
  conversation(w, rng);
  let bytes: Uint8Array = w.written().slice();
  const from = rng.chance(0.8) ? handshakeEnd : 0;
  const mutations = 1 + rng.int(4);
  for (let m = 0; m < mutations; m++) bytes = mutate(bytes, from, rng);
  return bytes;
}

function mutate(input: Uint8Array, from: number, rng: Rng): Uint8Array {
  const bytes = new Uint8Array(input);
  const at = from + rng.int(Math.max(1, bytes.length - from));
  const starts = frameStarts(bytes, Math.max(from, 8));
  const frame = starts.length > 0 ? rng.pick(starts) : at;
  const view = new DataView(bytes.buffer);
  switch (rng.int(11)) {
    case 0: // bit flip
      if (at < bytes.length) bytes[at]! ^= 1 << rng.int(8);
      return bytes;
    case 1: // random byte
      if (at < bytes.length) bytes[at] = rng.int(256);
      return bytes;
    case 2: // truncate
      return bytes.slice(0, at);
    case 3: // junk inserted
      return concat(bytes.subarray(0, at), rng.bytes(1 + rng.int(64)), bytes.subarray(at));
    case 4: // a frame's size field overwritten (tiny, huge, off by one)
      if (frame + 7 <= bytes.length) {
        view.setUint32(
          frame + 3,
          rng.pick([0, 1, 7, 0x7fffffff, 0xffffffff, view.getUint32(frame + 3) + 1, view.getUint32(frame + 3) - 1]) >>> 0,
        );
      }
      return bytes;
    case 5: // a frame's type
      if (frame < bytes.length) bytes[frame] = rng.pick([0, 1, 2, 3, 4, 8, 9, 65, 255]);
      return bytes;
    case 6: // a frame's channel
      if (frame + 3 <= bytes.length) view.setUint16(frame + 1, rng.pick([0, 1, 2, 3, 2047, 2048, 65535]));
      return bytes;
    case 7: // a content header declaring a huge body
      for (const s of starts) {
        if (bytes[s] === 2 && s + 7 + 12 <= bytes.length) {
          view.setBigUint64(s + 7 + 4, rng.pick([2n ** 27n, 2n ** 31n, 2n ** 53n, 2n ** 64n - 1n]));
          return bytes;
        }
      }
      return bytes;
    case 8: // a frame end marker
      if (frame + 7 <= bytes.length) {
        const end = frame + 7 + view.getUint32(frame + 3);
        if (end < bytes.length) bytes[end] = rng.int(256);
      }
      return bytes;
    case 9: { // a frame duplicated
      if (starts.length === 0) return bytes;
      const i = rng.int(starts.length);
      const s = starts[i]!;
      const e = i + 1 < starts.length ? starts[i + 1]! : bytes.length;
      return concat(bytes.subarray(0, e), bytes.subarray(s, e), bytes.subarray(e));
    }
    default: { // a frame dropped
      if (starts.length === 0) return bytes;
      const i = rng.int(starts.length);
      const s = starts[i]!;
      const e = i + 1 < starts.length ? starts[i + 1]! : bytes.length;
      return concat(bytes.subarray(0, s), bytes.subarray(e));
    }
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
