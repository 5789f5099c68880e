// HTTP listener on Bun.serve. The broker hands it a fetch handler (a hono app's `fetch`), so
// another runtime can provide the same function on its own server.

export interface HttpListener {
  readonly port: number;
  stop(): void;
}

/** What the server knows about a request beyond the Request itself (hono's `c.env`). */
export interface HttpPeer {
  /** The client's IP address. */
  remoteAddress: string | undefined;
}

export type FetchHandler = (request: Request, peer: HttpPeer) => Response | Promise<Response>;

/** Listens on `hostname:port` (0 picks a free port) and answers every request with `fetch`. */
export function listenHttp(hostname: string, port: number, fetch: FetchHandler): HttpListener {
  const server = Bun.serve({
    hostname,
    port,
    idleTimeout: 60,
    fetch: (request, srv) => fetch(request, { remoteAddress: srv.requestIP(request)?.address }),
  });
  return {
    port: server.port ?? port,
    // true: drop keep-alive connections too, so a stopped broker leaves nothing listening.
    stop: () => void server.stop(true),
  };
}
