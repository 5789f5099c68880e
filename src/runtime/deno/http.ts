// HTTP(S) listener on Deno.serve, serving the same fetch handler (a hono app's `fetch`) as the
// Bun adapter (../http.ts).
import type { FetchHandler, HttpListener, HttpsFiles } from "../interfaces.ts";
import { readPem } from "../tls.ts";
import { withErrorCode } from "./errors.ts";

export type { FetchHandler, HttpListener, HttpPeer, HttpsFiles } from "../interfaces.ts";

/**
 * Listens on `hostname:port` (0 picks a free port) and answers every request with `fetch`;
 * over TLS when `tls` names the PEM files. Deno.serve has no body size limit of its own: the
 * management API applies its own (src/http/body_limit.ts), as on Bun.
 */
export function listenHttp(hostname: string, port: number, fetch: FetchHandler, tls?: HttpsFiles): HttpListener {
  const server = withErrorCode(() =>
    Deno.serve(
      {
        hostname,
        port,
        onListen: () => {}, // no "Listening on" line: the broker logs its listeners itself
        ...(tls !== undefined ? { cert: readPem("certificate", tls.cert), key: readPem("key", tls.key) } : {}),
      },
      (request, info) => fetch(request, { remoteAddress: (info.remoteAddr as Deno.NetAddr).hostname }),
    )
  );
  return {
    port: (server.addr as Deno.NetAddr).port,
    // shutdown() closes the listener now and idle keep-alive connections with it.
    stop: () => void server.shutdown(),
  };
}
