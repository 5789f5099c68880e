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

export function listenTls(hostname: string, port: number, files: TlsFiles, accept: (socket: TcpSocket) => TcpHandler): TcpListener {
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch (err) {
      throw new Error(`Cannot read the TLS ${what} ${path}: ${(err as Error).message}`);
    }
  };
  return listenTcp(hostname, port, accept, {
    cert: read("certificate", files.cert),
    key: read("key", files.key),
    ...(files.ca !== undefined ? { ca: read("CA file", files.ca) } : {}),
    requestCert: files.verifyPeer,
    // verify_peer alone still lets clients without a certificate in (checked per socket in tcp.ts).
    rejectUnauthorized: files.verifyPeer && files.failIfNoPeerCert,
  });
}
