// HTTP(S) listener on Deno.serve, serving the same fetch handler (a hono app's `fetch`) as the
// Bun adapter (../http.ts).
import type { FetchHandler, HttpListener, HttpsFiles, TcpHandler, WebSocketEndpoint, WebSocketPaths } from "../interfaces.ts";
import { readPem } from "../tls.ts";
import { withErrorCode } from "./errors.ts";

export type { FetchHandler, HttpListener, HttpPeer, HttpsFiles, WebSocketEndpoint, WebSocketPaths } from "../interfaces.ts";

/**
 * Listens on `hostname:port` (0 picks a free port) and answers every request with `fetch`;
 * over TLS when `tls` names the PEM files. Deno.serve has no body size limit of its own: the
 * management API applies its own (src/http/body_limit.ts), as on Bun.
 */
export function listenHttp(
  hostname: string,
  port: number,
  fetch: FetchHandler,
  tls?: HttpsFiles,
  webSockets?: WebSocketPaths,
): HttpListener {
  let boundPort = port;
  const server = withErrorCode(() =>
    Deno.serve(
      {
        hostname,
        port,
        onListen: () => {}, // no "Listening on" line: the broker logs its listeners itself
        ...(tls !== undefined ? { cert: readPem("certificate", tls.cert), key: readPem("key", tls.key) } : {}),
      },
      (request, info) => {
        const peer = info.remoteAddr as Deno.NetAddr;
        const endpoint = webSockets?.size ? webSockets.get(new URL(request.url).pathname) : undefined;
        if (endpoint && request.headers.get("upgrade")?.toLowerCase() === "websocket") {
          return upgrade(
            request,
            endpoint,
            peer,
            boundPort,
            tls !== undefined,
          );
        }
        return fetch(request, { remoteAddress: peer.hostname });
      },
    )
  );
  boundPort = (server.addr as Deno.NetAddr).port;
  return {
    port: boundPort,
    // shutdown() closes the listener now and idle keep-alive connections with it.
    stop: () => void server.shutdown(),
  };
}

const DRAIN_POLL_MS = 5;

/** Hands an upgraded WebSocket to the endpoint as a TcpSocket carrying binary messages. */
function upgrade(request: Request, endpoint: WebSocketEndpoint, peer: Deno.NetAddr, localPort: number, overTls: boolean): Response {
  const offered = (request.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
  const { socket: ws, response } = Deno.upgradeWebSocket(
    request,
    offered.includes(endpoint.protocol) ? { protocol: endpoint.protocol } : {},
  );
  ws.binaryType = "arraybuffer";
  let handler: TcpHandler | undefined;
  // Deno's WebSocket has no drain event: while it holds unsent bytes, look again every few ms.
  let drainPoll: ReturnType<typeof setTimeout> | undefined;
  const pollDrain = () => {
    drainPoll = undefined;
    if (ws.bufferedAmount > 0 && ws.readyState === WebSocket.OPEN) drainPoll = setTimeout(pollDrain, DRAIN_POLL_MS);
    else handler?.onDrain();
  };
  ws.onopen = () => {
    handler = endpoint.accept({
      remoteAddress: peer.hostname,
      remotePort: peer.port,
      localPort,
      // A WebSocket buffers what it cannot send yet: all of it counts as taken (as on Bun), and
      // congested() holds the writer back until it has gone.
      write: (bytes) => (ws.readyState === WebSocket.OPEN ? (ws.send(bytes), bytes.length) : -1),
      congested: () => {
        if (ws.bufferedAmount === 0) return false;
        drainPoll ??= setTimeout(pollDrain, DRAIN_POLL_MS);
        return true;
      },
      end: () => ws.close(1000),
      terminate: () => ws.close(1000),
      pause: () => {},
      resume: () => {},
      readsPause: false,
      transport: "websocket",
      // Over the HTTPS listener: TLS, without client certificates.
      ...(overTls ? { tls: { peerCommonName: () => undefined } } : {}),
    });
  };
  ws.onmessage = (event) => {
    // Binary frames carry the protocol's bytes; a text frame is passed on as its UTF-8.
    const data = event.data;
    handler?.onData(typeof data === "string" ? new TextEncoder().encode(data) : new Uint8Array(data as ArrayBuffer));
  };
  ws.onclose = () => {
    if (drainPoll !== undefined) clearTimeout(drainPoll);
    const h = handler;
    handler = undefined;
    h?.onClose();
  };
  ws.onerror = () => {};
  return response;
}
