// The "direct" transport: a URI without host (`amqp://`) reaches this broker without a socket.
// Two in-memory pipe ends stand in for the client's and the server's TcpSocket; the server end is
// handed to the broker's own connection handling (src/connection/accept.ts), so a direct link
// runs the same handshake, permission checks and flow control as a client over TCP. Bytes cross
// in the next microtask (copied: both sides reuse their write buffers), and a pipe holding more
// than PIPE_LIMIT unread bytes takes no more until read (back-pressure, as a full socket).
import type { Broker } from "../broker/broker.ts";
import { acceptConnection } from "../connection/accept.ts";
import type { AmqpBroker } from "../connection/channel.ts";
import type { TcpHandler, TcpSocket } from "../runtime/tcp.ts";

const PIPE_LIMIT = 1024 * 1024;

/** One direction: what one end writes, the other end's handler reads. */
class Pipe {
  reader: TcpHandler | undefined;
  paused = false;
  closed = false;
  private readonly chunks: Uint8Array[] = [];
  private bytes = 0;
  private scheduled = false;
  private writerWaits = false;
  private endAfter = false;

  constructor(private readonly writerDrained: () => void, private readonly ended: () => void) {}

  write(data: Uint8Array): number {
    if (this.closed || this.endAfter) return -1;
    const n = Math.min(data.length, Math.max(0, PIPE_LIMIT - this.bytes));
    if (n < data.length) this.writerWaits = true;
    if (n > 0) {
      this.chunks.push(data.slice(0, n));
      this.bytes += n;
      this.schedule();
    }
    return n;
  }

  end(): void {
    this.endAfter = true;
    this.schedule();
  }

  resume(): void {
    this.paused = false;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.deliver();
    });
  }

  private deliver(): void {
    while (!this.paused && !this.closed && this.chunks.length > 0) {
      const chunk = this.chunks.shift()!;
      this.bytes -= chunk.length;
      this.reader?.onData(chunk);
    }
    if (this.writerWaits && this.bytes < PIPE_LIMIT) {
      this.writerWaits = false;
      this.writerDrained();
    }
    if (this.endAfter && this.chunks.length === 0 && !this.closed) this.ended();
  }

  drop(): void {
    this.closed = true;
    this.chunks.length = 0;
    this.bytes = 0;
  }
}

/**
 * Connects `client` (the client's TcpHandler, made from its socket by `attach`) to `broker`'s
 * AMQP connection handling. `trustedUser`, when set, is offered as the EXTERNAL identity (a
 * direct link without credentials logs in as that user without a password, as RabbitMQ's
 * direct connections are trusted). Returns the client's socket.
 */
export function connectDirect(broker: Broker, attach: (socket: TcpSocket) => TcpHandler, trustedUser: string | undefined): TcpSocket {
  let clientHandler: TcpHandler | undefined;
  let serverHandler: TcpHandler | undefined;
  let closed = false;
  const closeBoth = () => {
    if (closed) return;
    closed = true;
    toServer.drop();
    toClient.drop();
    const c = clientHandler;
    const s = serverHandler;
    clientHandler = serverHandler = undefined;
    s?.onClose();
    c?.onClose();
  };
  const toServer: Pipe = new Pipe(() => clientHandler?.onDrain(), closeBoth);
  const toClient: Pipe = new Pipe(() => serverHandler?.onDrain(), closeBoth);
  const end = (pipe: Pipe) => pipe.end();
  const clientSocket: TcpSocket = {
    remoteAddress: "127.0.0.1",
    remotePort: 0,
    localPort: 0,
    write: (bytes) => toServer.write(bytes),
    end: () => end(toServer),
    terminate: closeBoth,
    pause: () => void (toClient.paused = true),
    resume: () => toClient.resume(),
  };
  const serverSocket: TcpSocket = {
    remoteAddress: "127.0.0.1",
    remotePort: 0,
    get localPort() {
      return broker.amqpListener?.port ?? 0;
    },
    write: (bytes) => toClient.write(bytes),
    end: () => end(toClient),
    terminate: closeBoth,
    pause: () => void (toServer.paused = true),
    resume: () => toServer.resume(),
    transport: "direct",
    // No TLS: the certificate login path is how the link logs in as the user it runs for.
    ...(trustedUser !== undefined ? { tls: { peerCommonName: () => trustedUser } } : {}),
  };
  clientHandler = attach(clientSocket);
  serverHandler = acceptConnection(broker as unknown as AmqpBroker, serverSocket);
  toServer.reader = serverHandler;
  toClient.reader = clientHandler;
  return clientSocket;
}
