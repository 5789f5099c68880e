// TCP listener on Bun.listen. The broker sees only TcpSocket/TcpHandler, so another runtime
// can provide the same two interfaces.

export interface TcpSocket {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
  /** Writes what the kernel takes now; returns bytes written (-1 when the socket is closed). */
  write(bytes: Uint8Array): number;
  /** Half-closes after what was written so far. */
  end(): void;
  /** Closes at once, discarding unsent data. */
  terminate(): void;
  /** Stop / restart reading (flow control). */
  pause(): void;
  resume(): void;
}

export interface TcpHandler {
  onData(chunk: Uint8Array): void;
  /** The socket can take more bytes after a short write. */
  onDrain(): void;
  onClose(error?: Error): void;
}

export interface TcpListener {
  readonly port: number;
  stop(): void;
}

interface SocketState {
  handler: TcpHandler | undefined;
}

export function listenTcp(
  hostname: string,
  port: number,
  accept: (socket: TcpSocket) => TcpHandler,
): TcpListener {
  const server = Bun.listen<SocketState>({
    hostname,
    port,
    socket: {
      open(socket) {
        socket.setNoDelay(true);
        socket.data = { handler: undefined };
        socket.data.handler = accept({
          get remoteAddress() {
            return socket.remoteAddress;
          },
          get remotePort() {
            return socket.remotePort;
          },
          get localPort() {
            return socket.localPort;
          },
          write: (bytes) => socket.write(bytes),
          end: () => void socket.end(),
          terminate: () => socket.terminate(),
          pause: () => socket.pause(),
          resume: () => socket.resume(),
        });
      },
      data(socket, chunk) {
        socket.data.handler?.onData(chunk);
      },
      drain(socket) {
        socket.data.handler?.onDrain();
      },
      close(socket, error) {
        const handler = socket.data.handler;
        socket.data.handler = undefined;
        handler?.onClose(error);
      },
      error(socket, error) {
        const handler = socket.data.handler;
        socket.data.handler = undefined;
        handler?.onClose(error);
      },
    },
  });
  return {
    port: server.port,
    // false: stop accepting, but leave open connections to the broker to close politely.
    stop: () => server.stop(false),
  };
}
