// Backlogs for the reclaim tests (issue 23): numbered 1 KiB persistent messages published with
// confirms, drained with acks, and the size of a data directory.
import type { Channel, ChannelModel, ConfirmChannel } from "amqplib";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export const BODY_SIZE = 1024;

/** A 1 KiB body carrying its number. */
export function numbered(n: number, size = BODY_SIZE): Buffer {
  const b = Buffer.alloc(size, n & 0xff);
  b.writeUInt32BE(n, 0);
  return b;
}

/** Publishes messages from..to-1 (persistent) and resolves once every one is confirmed. */
export async function publishConfirmed(ch: ConfirmChannel, queue: string, from: number, to: number, size = BODY_SIZE): Promise<void> {
  const WINDOW = 2000;
  for (let start = from; start < to; start += WINDOW) {
    const end = Math.min(to, start + WINDOW);
    for (let n = start; n < end; n++) ch.sendToQueue(queue, numbered(n, size), { persistent: true });
    await ch.waitForConfirms();
  }
}

/**
 * Consumes `count` messages from `queue` and acks them (in batches); returns their numbers in
 * delivery order. Acks are committed once a later confirm arrives (afterwards, call settle()).
 */
export async function consumeAndAck(ch: Channel, queue: string, count: number, timeoutMs = 120_000): Promise<number[]> {
  const got: number[] = [];
  if (count === 0) return got;
  await ch.prefetch(2000);
  return await new Promise<number[]>((resolve, reject) => {
    let tag = "";
    const timer = setTimeout(() => reject(new Error(`consumed ${got.length} of ${count} from ${queue} in ${timeoutMs} ms`)), timeoutMs);
    ch.consume(queue, (msg) => {
      if (!msg || got.length >= count) return;
      got.push(msg.content.readUInt32BE(0));
      if (got.length % 500 === 0 || got.length === count) ch.ack(msg, true);
      if (got.length === count) {
        clearTimeout(timer);
        ch.cancel(tag).then(() => resolve(got), reject);
      }
    }).then((ok) => (tag = ok.consumerTag), reject);
  });
}

/**
 * Every ack sent before this is committed once it resolves: a confirm waits for the group commit,
 * which holds everything the broker did before it.
 */
export async function settle(conn: ChannelModel, queue: string): Promise<void> {
  const ch = await conn.createConfirmChannel();
  ch.sendToQueue(queue, Buffer.from("marker"), { persistent: true });
  await ch.waitForConfirms();
  await ch.close();
}

/** Bytes of every file under `dir`. */
export function dirBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? dirBytes(path) : statSync(path).size;
  }
  return total;
}

/** A port from the broker's log line naming it (management API, Prometheus). */
export function loggedPort(output: string, what: "Management plugin" | "Prometheus metrics"): number {
  const m = new RegExp(`${what}: HTTP \\(non-TLS\\) listener started on port (\\d+)`).exec(output);
  if (!m) throw new Error(`no ${what} port in the log:\n${output.slice(-2000)}`);
  return Number(m[1]);
}
