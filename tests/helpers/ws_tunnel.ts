// A TCP-to-WebSocket tunnel for tests: every connection to the tunnel's loopback port becomes a
// WebSocket to the broker (binary messages both ways, client frames masked as RFC 6455 wants),
// so any TCP AMQP client (amqplib, RawClient) speaks AMQP over WebSocket unchanged. pauseAll()
// stops reading from the broker's side, as a browser tab that stopped reading would.
import { randomBytes } from "node:crypto";
import * as net from "node:net";

export interface WsTunnel {
  readonly port: number;
  /** WebSockets open through the tunnel now. */
  readonly open: number;
  /** Stop / restart reading what the broker sends. */
  pauseAll(): void;
  resumeAll(): void;
  close(): Promise<void>;
}

/** Opens a tunnel to ws://host:port<path>; `protocol` is offered as Sec-WebSocket-Protocol. */
export async function openWsTunnel(host: string, port: number, path: string, protocol?: string): Promise<WsTunnel> {
  const upstreams = new Set<net.Socket>();
  let paused = false;
  const server = net.createServer((client) => {
    const ws = net.connect({ host, port });
    ws.setNoDelay(true);
    client.setNoDelay(true);
    upstreams.add(ws);
    if (paused) ws.pause();
    const early: Buffer[] = [];
    let upgraded = false;
    let head = Buffer.alloc(0);
    const frames = new FrameReader((opcode, payload) => {
      if (opcode === 0x8) client.end();
      else if (opcode === 0x9) ws.write(frame(0xa, payload));
      else if (opcode !== 0xa) client.write(payload);
    });
    ws.on("connect", () => {
      const key = randomBytes(16).toString("base64");
      ws.write(
        `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
          (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : "") + "\r\n",
      );
    });
    ws.on("data", (chunk: Buffer) => {
      if (upgraded) return frames.push(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      if (!/^HTTP\/1\.1 101/.test(head.toString("latin1", 0, end))) {
        client.destroy();
        ws.destroy();
        return;
      }
      upgraded = true;
      for (const bytes of early.splice(0)) ws.write(frame(0x2, bytes));
      if (head.length > end + 4) frames.push(head.subarray(end + 4));
    });
    client.on("data", (chunk: Buffer) => {
      if (upgraded) ws.write(frame(0x2, chunk));
      else early.push(chunk);
    });
    const done = () => {
      upstreams.delete(ws);
      client.destroy();
      ws.destroy();
    };
    ws.on("close", done);
    client.on("close", done);
    ws.on("error", () => {});
    client.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get open() {
      return upstreams.size;
    },
    pauseAll() {
      paused = true;
      for (const ws of upstreams) ws.pause();
    },
    resumeAll() {
      paused = false;
      for (const ws of upstreams) ws.resume();
    },
    close() {
      for (const ws of upstreams) ws.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** One masked client frame (FIN set). */
function frame(opcode: number, payload: Uint8Array): Buffer {
  const n = payload.length;
  const lengthBytes = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const out = Buffer.alloc(2 + lengthBytes + 4 + n);
  out[0] = 0x80 | opcode;
  if (lengthBytes === 0) out[1] = 0x80 | n;
  else if (lengthBytes === 2) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(n), 2);
  }
  const maskAt = 2 + lengthBytes;
  randomBytes(4).copy(out, maskAt);
  for (let i = 0; i < n; i++) out[maskAt + 4 + i] = payload[i]! ^ out[maskAt + (i & 3)]!;
  return out;
}

/** Splits the server's (unmasked) frames out of the byte stream. */
class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly onFrame: (opcode: number, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (this.buf.length < 2) return;
      let n = this.buf[1]! & 0x7f;
      let at = 2;
      if (n === 126) {
        if (this.buf.length < 4) return;
        n = this.buf.readUInt16BE(2);
        at = 4;
      } else if (n === 127) {
        if (this.buf.length < 10) return;
        n = Number(this.buf.readBigUInt64BE(2));
        at = 10;
      }
      if (this.buf.length < at + n) return;
      const opcode = this.buf[0]! & 0x0f;
      const payload = this.buf.subarray(at, at + n);
      this.buf = this.buf.subarray(at + n);
      this.onFrame(opcode, payload);
    }
  }
}
