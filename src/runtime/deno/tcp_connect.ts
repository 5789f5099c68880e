// Outbound TCP and TLS sockets on Deno.connect / Deno.connectTls (Deno.startTls when the TLS name
// differs from the host), behind the same connectTcp as the Bun adapter (../tcp_connect.ts), for
// the AMQP client (shovel, federation) and `warren perf`. The socket is the listener's Connection
// (./tcp.ts): one read loop, a write queue with the same 1 MiB high-water mark and onDrain.
// What Deno cannot do (no per-connection way to skip the certificate chain check): docs/deno.md.
import type { ConnectTls, TcpHandler, TcpSocket } from "../interfaces.ts";
import { Connection } from "./tcp.ts";

export type { ConnectTls, TcpHandler, TcpSocket } from "../interfaces.ts";

/**
 * Opens a connection; resolves once it is established (and the TLS handshake done), with the
 * handler made by `attach` already receiving data; rejects with the reason it failed.
 */
export async function connectTcp(
  hostname: string,
  port: number,
  attach: (socket: TcpSocket) => TcpHandler,
  tls?: ConnectTls,
): Promise<TcpSocket> {
  let conn: Deno.Conn;
  try {
    conn = tls ? await openTls(hostname, port, tls) : await Deno.connect({ hostname, port, transport: "tcp" });
  } catch (err) {
    throw withCode(err as Error);
  }
  return new Connection(conn, attach, false).socket;
}

async function openTls(hostname: string, port: number, tls: ConnectTls): Promise<Deno.TlsConn> {
  const name = tls.serverName ?? hostname;
  const verify = {
    ...(tls.ca !== undefined ? { caCerts: [tls.ca] } : {}),
    // verify_none: the most Deno allows per connection is to skip the name check; the chain is
    // still checked against `ca` and the system roots (--unsafely-ignore-certificate-errors skips it).
    unsafelyDisableHostnameVerification: !tls.rejectUnauthorized,
  };
  let conn: Deno.TlsConn;
  if (name === hostname) {
    const clientCert = tls.cert !== undefined && tls.key !== undefined ? { cert: tls.cert, key: tls.key } : {};
    conn = await Deno.connectTls({ hostname, port, ...verify, ...clientCert });
  } else {
    // Deno.connectTls sends its `hostname` as SNI; another name needs a TCP socket upgraded by
    // Deno.startTls, which takes no client certificate.
    if (tls.cert !== undefined) {
      throw new Error(`a client certificate with a TLS server name (${name}) other than the host is not supported on Deno`);
    }
    const tcp = await Deno.connect({ hostname, port, transport: "tcp" });
    try {
      conn = await Deno.startTls(tcp, { hostname: name, ...verify });
    } catch (err) {
      close(tcp);
      throw err;
    }
  }
  try {
    await conn.handshake(); // Deno shakes hands on first use; Bun's contract is "resolved = handshake done"
  } catch (err) {
    close(conn);
    throw new Error(`TLS handshake failed: ${(err as Error).message}`);
  }
  return conn;
}

function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

/** Deno sets ECONNREFUSED and the like itself; a failed DNS lookup is a plain Error. */
function withCode(err: Error): Error {
  const e = err as Error & { code?: string };
  if (e.code === undefined && /failed to lookup address/i.test(e.message)) e.code = "ENOTFOUND";
  return e;
}
