// Outbound TCP and TLS sockets on Bun.connect, behind the same TcpSocket/TcpHandler interfaces
// as the listener (runtime/tcp.ts), so the AMQP client (src/client/) and `warren perf`
// (src/cli/perf/) hold no runtime calls. The Deno twin is runtime/deno/tcp_connect.ts.
import type { ConnectTls, TcpHandler, TcpSocket } from "./interfaces.ts";

export type { ConnectTls, TcpHandler, TcpSocket } from "./interfaces.ts";

interface State {
  handler: TcpHandler | undefined;
}

/**
 * Opens a connection; resolves once it is established (and the TLS handshake done), with the
 * handler made by `attach` already receiving data; rejects with the reason it failed.
 */
export function connectTcp(
  hostname: string,
  port: number,
  attach: (socket: TcpSocket) => TcpHandler,
  tls?: ConnectTls,
): Promise<TcpSocket> {
  return new Promise<TcpSocket>((resolve, reject) => {
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    const open = (socket: import("bun").Socket<State>) => {
      if (settled) return;
      settled = true;
      socket.setNoDelay(true);
      const wrapped: TcpSocket = {
        remoteAddress: socket.remoteAddress,
        remotePort: port,
        get localPort() {
          return socket.localPort;
        },
        write: (bytes) => socket.write(bytes),
        end: () => void socket.end(),
        terminate: () => socket.terminate(),
        pause: () => socket.pause(),
        resume: () => socket.resume(),
      };
      socket.data = { handler: attach(wrapped) };
      resolve(wrapped);
    };
    const tlsOptions = tls
      ? {
        ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
        ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
        ...(tls.key !== undefined ? { key: tls.key } : {}),
        rejectUnauthorized: tls.rejectUnauthorized,
        ...(tls.serverName !== undefined ? { serverName: tls.serverName } : {}),
      }
      : undefined;
    Bun.connect<State>({
      hostname,
      port,
      ...(tlsOptions ? { tls: tlsOptions } : {}),
      data: { handler: undefined },
      socket: {
        open(socket) {
          if (!tls) open(socket);
        },
        handshake(socket, success, error) {
          // Bun reports an unverified certificate as an error beside success: refuse it unless told not to check.
          if (success && (!error || !tls?.rejectUnauthorized)) open(socket);
          else {
            socket.terminate();
            fail(new Error(`TLS handshake failed: ${error?.message ?? "certificate rejected"}`));
          }
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
          if (!settled) fail(error ?? new Error("connection closed before it was established"));
          handler?.onClose(error);
        },
        error(socket, error) {
          const handler = socket.data.handler;
          socket.data.handler = undefined;
          fail(error);
          handler?.onClose(error);
        },
        connectError(_socket, error) {
          fail(error);
        },
      },
    }).catch((error: Error) => fail(error));
  });
}
