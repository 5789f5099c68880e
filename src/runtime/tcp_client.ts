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
  /** TLS (amqps): verify the server certificate (against `ca` PEM text when given) unless `insecure`. */
  tls?: { insecure: boolean; ca?: string };
}

/**
 * Resolves once connected (for TLS: once the handshake succeeded, since Bun drops writes made
 * before it); rejects with the system or TLS error (ECONNREFUSED, ENOTFOUND, an untrusted
 * certificate…) otherwise.
 */
export async function connectTcp(target: ConnectTarget, handler: TcpClientHandler): Promise<TcpClient> {
  let closed = false;
  const close = (error?: Error) => {
    if (closed) return;
    closed = true;
    handler.onClose(error);
  };
  let handshaken!: (error: Error | null) => void;
  const handshake = new Promise<Error | null>((resolve) => (handshaken = resolve));
  const tls = target.tls;
  const socket = await Bun.connect({
    hostname: target.hostname,
    port: target.port,
    ...(tls ? { tls: { rejectUnauthorized: !tls.insecure, serverName: target.hostname, ...(tls.ca ? { ca: tls.ca } : {}) } } : {}),
    socket: {
      open(s) {
        s.setNoDelay(true);
      },
      handshake(_s, success, error) {
        handshaken(success && (!error || tls?.insecure) ? null : (error ?? new Error("TLS handshake failed")));
      },
      data(_s, chunk) {
        handler.onData(chunk);
      },
      drain() {
        handler.onDrain();
      },
      close(_s, error) {
        handshaken(error ?? new Error("connection closed during the TLS handshake"));
        close(error);
      },
      error(_s, error) {
        handshaken(error);
        close(error);
      },
    },
  });
  if (tls) {
    const error = await handshake;
    if (error) {
      closed = true; // the caller learns of it from the rejection, not from onClose
      socket.terminate();
      throw error;
    }
  }
  return {
    write: (bytes) => socket.write(bytes),
    end: () => void socket.end(),
    terminate: () => socket.terminate(),
  };
}
