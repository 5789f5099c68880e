// TCP listener on Bun.listen. The broker sees only TcpSocket/TcpHandler (interfaces.ts);
// src/runtime/deno/tcp.ts provides the same on Deno.
import type { ListenTls, TcpHandler, TcpListener, TcpSocket } from "./interfaces.ts";
import { noteSocketRead } from "./busy_wait.ts";

export type { ListenTls, TcpHandler, TcpListener, TcpSocket } from "./interfaces.ts";

interface SocketState {
  handler: TcpHandler | undefined;
}

export function listenTcp(
  hostname: string,
  port: number,
  accept: (socket: TcpSocket) => TcpHandler,
  tls?: ListenTls,
): TcpListener {
  const server = Bun.listen<SocketState>({
    hostname,
    port,
    ...(tls ? { tls } : {}),
    socket: {
      handshake(socket, success, error) {
        // verify_peer without fail_if_no_peer_cert: no certificate is fine, a bad one is not.
        // (A throw here would leave the socket hanging: anything unexpected drops it.)
        try {
          if (!success || (error && hasPeerCertificate(socket))) socket.terminate();
        } catch {
          socket.terminate();
        }
      },
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
          ...(tls ? { tls: { peerCommonName: () => (socket.authorized ? commonName(socket) : undefined) } } : {}),
        });
      },
      data(socket, chunk) {
        noteSocketRead();
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

function hasPeerCertificate(socket: { getPeerCertificate(): object | null | undefined }): boolean {
  const cert = socket.getPeerCertificate(); // undefined (not {}) when the client sent none
  return cert != null && Object.keys(cert).length > 0;
}

/** The CN of the client certificate's subject (the last one, if several). */
function commonName(socket: { getPeerCertificate(): { subject?: { CN?: string | string[] } } | null | undefined }): string | undefined {
  const cn = socket.getPeerCertificate()?.subject?.CN;
  return Array.isArray(cn) ? cn[cn.length - 1] : cn;
}
