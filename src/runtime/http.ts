// HTTP(S) listener on Bun.serve. The broker hands it a fetch handler (a hono app's `fetch`);
// src/runtime/deno/http.ts serves the same function with Deno.serve.
import type { FetchHandler, HttpListener, HttpsFiles, WebSocketPaths } from "./interfaces.ts";
import { readPem } from "./tls.ts";
import type { TcpHandler, TcpSocket } from "./tcp.ts";

export type { FetchHandler, HttpListener, HttpPeer, HttpsFiles, WebSocketEndpoint, WebSocketPaths } from "./interfaces.ts";

interface WebSocketData {
  accept: (socket: TcpSocket) => TcpHandler;
  remoteAddress: string;
  remotePort: number;
  localPort: number;
  handler: TcpHandler | undefined;
}

/**
 * Listens on `hostname:port` (0 picks a free port) and answers every request with `fetch`;
 * over TLS when `tls` names the PEM files.
 */
export function listenHttp(
  hostname: string,
  port: number,
  fetch: FetchHandler,
  tls?: HttpsFiles,
  webSockets?: WebSocketPaths,
): HttpListener {
  let boundPort = port;
  const server = Bun.serve<WebSocketData>({
    hostname,
    port,
    idleTimeout: 60,
    // Bun would refuse bodies over 128 MiB itself (413) before the handler runs; the management
    // API applies its own limit (src/http/body_limit.ts) before reading, with RabbitMQ's answer.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    ...(tls !== undefined
      ? {
        tls: {
          cert: readPem("certificate", tls.cert),
          key: readPem("key", tls.key),
          ...(tls.ca !== undefined ? { ca: readPem("CA file", tls.ca) } : {}),
        },
      }
      : {}),
    fetch: (request, srv) => {
      const endpoint = webSockets?.size ? webSockets.get(new URL(request.url).pathname) : undefined;
      if (endpoint && request.headers.get("upgrade")?.toLowerCase() === "websocket") {
        const peer = srv.requestIP(request);
        const data: WebSocketData = {
          accept: endpoint.accept,
          remoteAddress: peer?.address ?? "",
          remotePort: peer?.port ?? 0,
          localPort: boundPort,
          handler: undefined,
        };
        const offered = (request.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
        const headers = offered.includes(endpoint.protocol) ? { "Sec-WebSocket-Protocol": endpoint.protocol } : undefined;
        if (srv.upgrade(request, { data, ...(headers ? { headers } : {}) })) return undefined;
        return new Response("WebSocket upgrade failed", { status: 400 });
      }
      return fetch(request, { remoteAddress: srv.requestIP(request)?.address });
    },
    websocket: {
      open(ws) {
        const d = ws.data;
        d.handler = d.accept({
          remoteAddress: d.remoteAddress,
          remotePort: d.remotePort,
          localPort: d.localPort,
          // A WebSocket takes every message whole and buffers what the kernel does not take yet
          // (-1): congested() holds the writer back until drain. 0 means Bun dropped the message
          // (over its backpressure limit): the byte stream has a hole, so the socket goes.
          write: (bytes) => {
            if (ws.readyState !== 1) return -1;
            if (ws.send(bytes) === 0) {
              ws.terminate();
              return -1;
            }
            return bytes.length;
          },
          congested: () => ws.getBufferedAmount() > 0,
          end: () => ws.close(1000),
          terminate: () => ws.terminate(),
          // Bun cannot stop reading a WebSocket: the connection bounds what it holds itself.
          pause: () => {},
          resume: () => {},
          readsPause: false,
          transport: "websocket",
          // Over the HTTPS listener: TLS, without client certificates.
          ...(tls !== undefined ? { tls: { peerCommonName: () => undefined } } : {}),
        });
      },
      message(ws, message) {
        // Binary frames carry the protocol's bytes; a text frame is passed on as its UTF-8.
        ws.data.handler?.onData(typeof message === "string" ? new TextEncoder().encode(message) : message);
      },
      drain(ws) {
        ws.data.handler?.onDrain();
      },
      close(ws) {
        const handler = ws.data.handler;
        ws.data.handler = undefined;
        handler?.onClose();
      },
    },
  });
  boundPort = server.port ?? port;
  return {
    port: server.port ?? port,
    // true: drop keep-alive connections too, so a stopped broker leaves nothing listening.
    stop: () => void server.stop(true),
  };
}
