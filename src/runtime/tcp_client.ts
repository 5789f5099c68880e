// Outbound TCP (and TLS) connections on Bun.connect, for `warren perf`. The caller sees only
// TcpClient and TcpClientHandler, so another runtime can provide the same two interfaces.

export interface TcpClient {
  /** Writes what the kernel takes now; returns bytes written (-1 when the socket is closed). */
  write(bytes: Uint8Array): number;
  /** Half-closes after what was written so far. */
  end(): void;
  /** Closes at once, discarding unsent data. */
  terminate(): void;
}

export interface TcpClientHandler {
  onData(chunk: Uint8Array): void;
  /** The socket can take more bytes after a short write. */
  onDrain(): void;
  onClose(error?: Error): void;
}

export interface ConnectTarget {
  hostname: string;
  port: number;
  /** TLS (amqps): verify the server certificate unless `insecure`. */
  tls?: { insecure: boolean };
}

/** Resolves once connected; rejects with the system error (ECONNREFUSED, ENOTFOUND…) otherwise. */
export async function connectTcp(target: ConnectTarget, handler: TcpClientHandler): Promise<TcpClient> {
  let closed = false;
  const close = (error?: Error) => {
    if (closed) return;
    closed = true;
    handler.onClose(error);
  };
  const socket = await Bun.connect({
    hostname: target.hostname,
    port: target.port,
    ...(target.tls ? { tls: { rejectUnauthorized: !target.tls.insecure, serverName: target.hostname } } : {}),
    socket: {
      open(s) {
        s.setNoDelay(true);
      },
      data(_s, chunk) {
        handler.onData(chunk);
      },
      drain() {
        handler.onDrain();
      },
      close(_s, error) {
        close(error);
      },
      error(_s, error) {
        close(error);
      },
    },
  });
  return {
    write: (bytes) => socket.write(bytes),
    end: () => void socket.end(),
    terminate: () => socket.terminate(),
  };
}
