// The amqps listener: TLS settings read from PEM files, with RabbitMQ's verify_peer and
// fail_if_no_peer_cert semantics mapped onto Bun.listen's requestCert/rejectUnauthorized.
import { readFileSync } from "node:fs";
import { listenTcp, type TcpHandler, type TcpListener, type TcpSocket } from "./tcp.ts";

export interface TlsFiles {
  cert: string;
  key: string;
  ca: string | undefined;
  verifyPeer: boolean;
  failIfNoPeerCert: boolean;
}

/** A PEM file's text; the error names what it was for ("certificate", "key", "CA file"). */
export function readPem(what: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`Cannot read the TLS ${what} ${path}: ${(err as Error).message}`);
  }
}

export function listenTls(hostname: string, port: number, files: TlsFiles, accept: (socket: TcpSocket) => TcpHandler): TcpListener {
  return listenTcp(hostname, port, accept, {
    cert: readPem("certificate", files.cert),
    key: readPem("key", files.key),
    ...(files.ca !== undefined ? { ca: readPem("CA file", files.ca) } : {}),
    requestCert: files.verifyPeer,
    // verify_peer alone still lets clients without a certificate in (checked per socket in tcp.ts).
    rejectUnauthorized: files.verifyPeer && files.failIfNoPeerCert,
  });
}
