// TCP and TLS listeners on Deno.listen / Deno.listenTls, behind the same TcpSocket/TcpHandler
// as the Bun adapter (../tcp.ts). Deno's sockets are promise-based: a read loop per connection
// feeds onData, and writes are queued and sent by one writer loop, so write() stays synchronous.
import type { ListenTls, TcpHandler, TcpListener, TcpSocket } from "../interfaces.ts";
import { withErrorCode } from "./errors.ts";

export type { ListenTls, TcpHandler, TcpListener, TcpSocket } from "../interfaces.ts";

/** Reads land in slabs of this size; a slab is never reused, since the broker may keep views of a chunk. */
const SLAB_BYTES = 64 * 1024;
/** Smallest room left in a slab worth reading into. */
const MIN_READ = 4 * 1024;
/** Bytes queued for the kernel beyond which write() takes nothing (the caller waits for onDrain). */
const HIGH_WATER = 1024 * 1024;

export function listenTcp(
  hostname: string,
  port: number,
  accept: (socket: TcpSocket) => TcpHandler,
  tls?: ListenTls,
): TcpListener {
  if (tls?.requestCert) {
    // Deno.listenTls cannot ask for or verify client certificates.
    throw Object.assign(new Error("client certificates (ssl_options.verify = verify_peer) are not supported on Deno"), {
      code: "ENOTSUP",
    });
  }
  const listener = withErrorCode(() =>
    tls ? Deno.listenTls({ hostname, port, cert: tls.cert, key: tls.key }) : Deno.listen({ hostname, port, transport: "tcp" })
  );
  void acceptLoop(listener, accept, tls !== undefined);
  return {
    port: listener.addr.port,
    // Stop accepting; open connections stay for the broker to close politely.
    stop: () => {
      try {
        listener.close();
      } catch {
        // already closed
      }
    },
  };
}

async function acceptLoop(listener: Deno.Listener, accept: (socket: TcpSocket) => TcpHandler, tls: boolean): Promise<void> {
  for (;;) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (err) {
      if (err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted) return; // listener closed
      continue; // one failed accept (a reset during the TLS handshake, EMFILE) must not stop the listener
    }
    new Connection(conn, accept, tls);
  }
}

/** One socket (accepted, or opened by tcp_connect.ts): its read loop, its write queue, and the TcpSocket the broker sees. */
export class Connection {
  readonly socket: TcpSocket;
  private handler: TcpHandler | undefined;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private writing = false;
  /** write() refused or cut bytes: call onDrain once the queue is empty. */
  private wantDrain = false;
  private endAfterWrites = false;
  private closed = false;
  private paused: { resume: () => void } | undefined;
  private resumed: Promise<void> | undefined;
  private slab = new Uint8Array(SLAB_BYTES);
  private slabUsed = 0;

  constructor(private readonly conn: Deno.Conn, accept: (socket: TcpSocket) => TcpHandler, tls: boolean) {
    try {
      (conn as Deno.TcpConn).setNoDelay(true); // TlsConn has it too, on the TCP socket beneath
    } catch {
      // the peer is already gone: the read loop sees it
    }
    const remote = conn.remoteAddr as Deno.NetAddr;
    const local = conn.localAddr as Deno.NetAddr;
    const socket: TcpSocket = {
      remoteAddress: remote.hostname,
      remotePort: remote.port,
      localPort: local.port,
      write: (bytes) => this.write(bytes),
      end: () => this.end(),
      terminate: () => this.close(),
      pause: () => this.pause(),
      resume: () => this.resume(),
      // Deno's TLS server asks for no client certificate, so there is never a peer name.
      ...(tls ? { tls: { peerCommonName: () => undefined } } : {}),
    };
    this.socket = socket;
    this.handler = accept(socket);
    void this.readLoop();
  }

  private async readLoop(): Promise<void> {
    let error: Error | undefined;
    try {
      for (;;) {
        if (this.resumed) await this.resumed;
        if (this.closed) return;
        if (SLAB_BYTES - this.slabUsed < MIN_READ) {
          this.slab = new Uint8Array(SLAB_BYTES);
          this.slabUsed = 0;
        }
        const n = await this.conn.read(this.slab.subarray(this.slabUsed));
        if (n === null) break;
        const chunk = this.slab.subarray(this.slabUsed, this.slabUsed + n);
        this.slabUsed += n;
        // Paused while the read was in flight: hold the chunk until resume, as Bun would.
        if (this.resumed) await this.resumed;
        if (this.closed) return;
        this.handler?.onData(chunk);
      }
    } catch (err) {
      if (!this.closed) error = err as Error;
    }
    this.close(error);
  }

  private write(bytes: Uint8Array): number {
    if (this.closed || this.endAfterWrites) return -1;
    if (this.queued >= HIGH_WATER) {
      this.wantDrain = true;
      return 0;
    }
    // The caller reuses its buffer once write() returns: keep a copy until the kernel has it.
    this.queue.push(bytes.slice());
    this.queued += bytes.length;
    if (!this.writing) void this.writeLoop();
    return bytes.length;
  }

  private async writeLoop(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const batch = this.queue.length === 1 ? this.queue[0]! : concat(this.queue, this.queued);
        this.queue = [];
        this.queued = 0;
        let done = 0;
        while (done < batch.length) done += await this.conn.write(batch.subarray(done));
        if (this.queue.length === 0 && this.wantDrain && !this.closed) {
          this.wantDrain = false;
          this.handler?.onDrain(); // may queue more: the loop goes on
        }
      }
    } catch (err) {
      this.writing = false;
      this.close(err as Error);
      return;
    }
    this.writing = false;
    if (this.endAfterWrites && !this.closed) this.halfClose();
  }

  private end(): void {
    if (this.closed || this.endAfterWrites) return;
    this.endAfterWrites = true;
    if (!this.writing) this.halfClose();
  }

  /** FIN after the last byte; the read loop closes the socket when the peer closes its side. */
  private halfClose(): void {
    this.conn.closeWrite().catch(() => this.close());
  }

  private pause(): void {
    if (this.resumed) return;
    let resume!: () => void;
    this.resumed = new Promise<void>((r) => (resume = r));
    this.paused = { resume };
  }

  private resume(): void {
    const paused = this.paused;
    this.paused = undefined;
    this.resumed = undefined;
    paused?.resume();
  }

  private close(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.queued = 0;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
    this.paused?.resume(); // let a paused read loop see the close
    const handler = this.handler;
    this.handler = undefined;
    handler?.onClose(error);
  }
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
