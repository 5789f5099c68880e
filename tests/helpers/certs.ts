// Test certificates made by openssl at test time: a CA, a server certificate for localhost /
// 127.0.0.1 signed by it, and any client certificates a test asks for.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** Whether openssl runs here; tests that need certificates skip with a message without it. */
export const hasOpenssl: boolean = (() => {
  try {
    execFileSync("openssl", ["version"], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
})();

/**
 * Writes `<name>.key` and `<name>.pem` in `dir`: a P-256 key and a certificate for `cn`, signed
 * by the CA `<ca>.pem`/`<ca>.key` (self-signed when ca is undefined), with the extensions file `ext`.
 */
export function certificate(dir: string, name: string, cn: string, ca?: string, ext?: string): void {
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${name}.key`];
  if (!ca) {
    openssl("req", "-x509", ...key, "-out", `${name}.pem`, "-days", "2", "-subj", `/CN=${cn}`);
    return;
  }
  openssl("req", ...key, "-out", `${name}.csr`, "-subj", `/CN=${cn}`);
  openssl(
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    ...(ext ? ["-extfile", ext] : []),
  );
}

/** `ca.pem`/`ca.key` and `server.pem`/`server.key` (for localhost and 127.0.0.1) in `dir`. */
export function serverCertificates(dir: string): void {
  writeFileSync(join(dir, "server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  certificate(dir, "ca", "Warren Test CA");
  certificate(dir, "server", "localhost", "ca", "server.ext");
}
