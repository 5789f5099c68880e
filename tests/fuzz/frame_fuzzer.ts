// The frame fuzzer: each case is a fresh TCP connection that sends one hostile input
// (frame_cases.ts) and reads what the broker answers until it closes the socket or goes quiet;
// then a fresh well-behaved client must complete a handshake and a channel round trip within
// 5 s. Collects every connection.close / channel.close reply code the broker sent.
import { connect } from "node:net";
import { openRawConnection } from "../helpers/raw_client.ts";
import { hostileInput } from "./frame_cases.ts";
import { Rng } from "./rng.ts";

/** Reply codes RabbitMQ closes channels and connections with (541 would be a Warren bug). */
export const RABBITMQ_CLOSE_CODES = new Set([200, 320, 402, 403, 404, 405, 406, 501, 502, 503, 504, 505, 506, 530, 540]);

export interface FrameFuzzOptions {
  port: number;
  seed: number;
  cases: number;
  /** Hostile connections at a time (each followed by its own well-behaved check). */
  concurrency?: number;
  /** How long a silent connection is given before it is dropped (not a failure). */
  quietMs?: number;
}

export interface FrameFuzzResult {
  cases: number;
  /** Reply code → how many closes carried it. */
  closeCodes: Map<number, number>;
  /** Connections the broker closed itself. */
  closedByBroker: number;
  /** Well-behaved clients that completed their round trip. */
  wellBehaved: number;
  /** What went wrong, with the seed and case number to replay it. */
  failures: string[];
}

/** Connection.close (10/50) and channel.close (20/40) reply codes in the bytes a server sent. */
export function closeCodesIn(bytes: Uint8Array): number[] {
  const codes: number[] = [];
  let at = bytes.length >= 8 && bytes[0] === 0x41 && bytes[1] === 0x4d ? 8 : 0; // after a protocol header reply
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  while (at + 7 <= bytes.length) {
    const size = view.getUint32(at + 3);
    if (at + 8 + size > bytes.length) break;
    if (bytes[at] === 1 && size >= 6) {
      const cls = view.getUint16(at + 7);
      const method = view.getUint16(at + 9);
      if ((cls === 10 && method === 50) || (cls === 20 && method === 40)) codes.push(view.getUint16(at + 11));
    }
    at += 8 + size;
  }
  return codes;
}

function hostileCase(port: number, input: Uint8Array, quietMs: number): Promise<{ received: Uint8Array; closedByBroker: boolean }> {
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = [];
    const socket = connect(port, "127.0.0.1");
    let timer: ReturnType<typeof setTimeout> | undefined;
    let done = false;
    const finish = (closedByBroker: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ received: new Uint8Array(Buffer.concat(chunks)), closedByBroker });
    };
    const quiet = () => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(false), quietMs);
    };
    socket.on("connect", () => {
      socket.write(input);
      quiet();
    });
    socket.on("data", (d: Buffer) => {
      chunks.push(new Uint8Array(d));
      quiet();
    });
    socket.on("error", () => finish(true));
    socket.on("close", () => finish(true));
  });
}

/** A fresh client: handshake, channel.open, queue.declare and its -ok, close. Throws on failure. */
async function wellBehaved(port: number): Promise<void> {
  const c = await openRawConnection(port, { timeoutMs: 5000 });
  try {
    await c.openChannel(1, 5000);
  } finally {
    c.destroy();
  }
}

export async function runFrameFuzz(o: FrameFuzzOptions): Promise<FrameFuzzResult> {
  const result: FrameFuzzResult = { cases: 0, closeCodes: new Map(), closedByBroker: 0, wellBehaved: 0, failures: [] };
  const rng = new Rng(o.seed);
  // Inputs are drawn in order from one generator, so a seed names the same cases at any concurrency.
  const inputs = Array.from({ length: o.cases }, () => hostileInput(rng));
  let next = 0;
  const worker = async () => {
    while (next < inputs.length) {
      const n = next++;
      const { received, closedByBroker } = await hostileCase(o.port, inputs[n]!, o.quietMs ?? 100);
      result.cases++;
      if (closedByBroker) result.closedByBroker++;
      for (const code of closeCodesIn(received)) {
        result.closeCodes.set(code, (result.closeCodes.get(code) ?? 0) + 1);
        if (!RABBITMQ_CLOSE_CODES.has(code)) result.failures.push(`seed ${o.seed} case ${n}: close code ${code} is not one RabbitMQ uses`);
      }
      try {
        await wellBehaved(o.port);
        result.wellBehaved++;
      } catch (err) {
        result.failures.push(`seed ${o.seed} case ${n}: a well-behaved client failed after it: ${(err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 8 }, worker));
  return result;
}
