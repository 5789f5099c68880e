// HTTP(S) listener on Bun.serve. The broker hands it a fetch handler (a hono app's `fetch`);
// src/runtime/deno/http.ts serves the same function with Deno.serve.
import type { FetchHandler, HttpListener, HttpsFiles } from "./interfaces.ts";
import { readPem } from "./tls.ts";

export type { FetchHandler, HttpListener, HttpPeer, HttpsFiles } from "./interfaces.ts";

/**
 * Listens on `hostname:port` (0 picks a free port) and answers every request with `fetch`;
 * over TLS when `tls` names the PEM files.
 */
export function listenHttp(hostname: string, port: number, fetch: FetchHandler, tls?: HttpsFiles): HttpListener {
  const server = Bun.serve({
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
    fetch: (request, srv) => fetch(request, { remoteAddress: srv.requestIP(request)?.address }),
  });
  return {
    port: server.port ?? port,
    // true: drop keep-alive connections too, so a stopped broker leaves nothing listening.
    stop: () => void server.stop(true),
  };
}
