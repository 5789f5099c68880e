// The connection load: N AMQP connections (handshake done, heartbeats off) held open against a
// broker process started under a descriptor limit that allows them; reports the broker's RSS
// per connection and the time of publish/get round trips made while they are open. Nothing here
// asserts on time: callers print the figures.
import amqp from "amqplib";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { processRss } from "../fuzz/process_stats.ts";

/** The pipelined client side of a handshake: header, start-ok (PLAIN guest), tune-ok (no heartbeat), open. */
function handshakeBytes(): Buffer {
  const frame = (payload: Buffer) => {
    const head = Buffer.alloc(7);
    head[0] = 1;
    head.writeUInt32BE(payload.length, 3);
    return Buffer.concat([head, payload, Buffer.from([0xce])]);
  };
  const shortstr = (s: string) => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)]);
  const longstr = (b: Buffer) => {
    const n = Buffer.alloc(4);
    n.writeUInt32BE(b.length);
    return Buffer.concat([n, b]);
  };
  const ids = (cls: number, m: number) => Buffer.from([cls >> 8, cls & 255, m >> 8, m & 255]);
  const startOk = Buffer.concat([
    ids(10, 11),
    Buffer.alloc(4),
    shortstr("PLAIN"),
    longstr(Buffer.from("\0guest\0guest")),
    shortstr("en_US"),
  ]);
  const tuneOk = Buffer.concat([ids(10, 31), Buffer.from([0x07, 0xff]), Buffer.from([0, 2, 0, 0]), Buffer.from([0, 0])]);
  const open = Buffer.concat([ids(10, 40), shortstr("/"), shortstr(""), Buffer.from([0])]);
  return Buffer.concat([Buffer.from("AMQP\x00\x00\x09\x01", "latin1"), frame(startOk), frame(tuneOk), frame(open)]);
}

const OPEN_OK = Buffer.from([0, 10, 0, 41]);

/** Opens one connection and resolves once connection.open-ok arrived. */
function openOne(port: number, bytes: Buffer): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    let seen = Buffer.alloc(0);
    s.on("connect", () => s.write(bytes));
    s.on("data", (d: Buffer) => {
      seen = Buffer.concat([seen, d]);
      if (seen.includes(OPEN_OK)) {
        s.removeAllListeners("data");
        s.on("data", () => {});
        resolve(s);
      }
    });
    s.on("error", reject);
    s.on("close", () => reject(new Error(`connection closed during the handshake after ${seen.length} bytes`)));
  });
}

export interface LoadResult {
  connections: number;
  rssBefore: number | undefined;
  rssAfter: number | undefined;
  /** (rssAfter - rssBefore) / connections, in KiB. */
  perConnectionKiB: number | undefined;
  /** Milliseconds of each publish + get round trip made while the connections were open. */
  roundTripsMs: number[];
}

export async function holdConnections(
  o: { port: number; url: string; pid: number; connections: number; batch?: number; roundTrips?: number },
): Promise<{ result: LoadResult; close(): void }> {
  const bytes = handshakeBytes();
  const sockets: Socket[] = [];
  // One warm-up connection, so the baseline includes the first connection's one-off costs.
  const warm = await amqp.connect(o.url);
  const ch = await warm.createChannel();
  const q = (await ch.assertQueue("", { exclusive: true })).queue;
  await Bun.sleep(200);
  const rssBefore = processRss(o.pid);
  const batch = o.batch ?? 200;
  for (let i = 0; i < o.connections; i += batch) {
    const n = Math.min(batch, o.connections - i);
    sockets.push(...(await Promise.all(Array.from({ length: n }, () => openOne(o.port, bytes)))));
  }
  await Bun.sleep(200);
  const rssAfter = processRss(o.pid);
  const roundTripsMs: number[] = [];
  for (let i = 0; i < (o.roundTrips ?? 20); i++) {
    const t = performance.now();
    ch.sendToQueue(q, Buffer.from(`rt${i}`));
    let got: amqp.GetMessage | false = false;
    while (!got) got = await ch.get(q, { noAck: true });
    roundTripsMs.push(performance.now() - t);
  }
  await warm.close();
  const perConnectionKiB = rssBefore !== undefined && rssAfter !== undefined ? (rssAfter - rssBefore) / o.connections / 1024 : undefined;
  return {
    result: { connections: sockets.length, rssBefore, rssAfter, perConnectionKiB, roundTripsMs },
    close: () => {
      for (const s of sockets) s.destroy();
    },
  };
}

/** The hard RLIMIT_NOFILE of this process (what a child can be given without privileges). */
export function hardFdLimit(): number {
  const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
  const hard = line?.slice("Max open files".length).trim().split(/\s+/)[1];
  return hard === undefined ? 0 : hard === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(hard);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}
