import { expect, test } from "bun:test";
import { Reader } from "../../../src/amqp/reader.ts";
import { Writer } from "../../../src/amqp/writer.ts";
import { decodeMethod, MethodId } from "../../../src/amqp/spec/methods.gen.ts";
import { writeMethodFrame } from "../../../src/amqp/frames.ts";

test("delivery tags decode exactly: numbers up to 2^53 - 1, bigints beyond", () => {
  for (const tag of [0, 1, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER, 2n ** 53n, 2n ** 60n + 1n, 2n ** 64n - 1n]) {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(tag));
    const got = new Reader(bytes).tag();
    expect(typeof got).toBe(typeof tag);
    expect(got).toBe(tag);
  }
});

test("basic.ack with tag 2^60+1 round-trips through the codec", () => {
  const w = new Writer(64);
  writeMethodFrame(w, 1, { id: MethodId.BasicAck, deliveryTag: 2n ** 60n + 1n, multiple: true });
  const frame = w.written();
  const payload = frame.subarray(7, frame.length - 1);
  const m = decodeMethod(new Reader(payload));
  expect(m).toEqual({ id: MethodId.BasicAck, deliveryTag: 2n ** 60n + 1n, multiple: true });
});
