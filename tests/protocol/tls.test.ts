// The amqps listener with certificates made by openssl at test time: PLAIN over TLS next to the
// plain TCP listener, RabbitMQ's verify_peer / fail_if_no_peer_cert, and the EXTERNAL mechanism
// logging in the user named by the client certificate's CN.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import amqp from "amqplib";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Broker, startBroker } from "../../mod.ts";
import { withTimeout } from "../helpers/broker.ts";
import { certificate, hasOpenssl, serverCertificates } from "../helpers/certs.ts";

setDefaultTimeout(30_000);

let dir = "";
const pem: Record<string, string> = {};
const running = new Set<Broker>();
if (!hasOpenssl) console.warn("openssl not found: skipping the TLS tests (apt-get install -y openssl)");

beforeAll(async () => {
  if (!hasOpenssl) return;
  dir = await mkdtemp(join(tmpdir(), "warren-tls-"));
  serverCertificates(dir);
  certificate(dir, "client", "tls-user", "ca");
  certificate(dir, "stranger", "stranger", "ca");
  certificate(dir, "rogue-ca", "Rogue CA");
  certificate(dir, "rogue", "tls-user", "rogue-ca");
  for (const name of ["ca", "server", "client", "stranger", "rogue"]) {
    pem[`${name}.pem`] = await readFile(join(dir, `${name}.pem`), "utf8");
    pem[`${name}.key`] = await readFile(join(dir, `${name}.key`), "utf8");
  }
});

afterAll(async () => {
  for (const b of running) await withTimeout(b.stop(), 10_000, "broker.stop()").catch(() => {});
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function start(opts: { verifyPeer?: boolean; failIfNoPeerCert?: boolean } = {}): Promise<Broker> {
  const dataDir = join(dir, `data-${running.size}-${Date.now()}`);
  const broker = await startBroker({
    port: 0,
    bind: "127.0.0.1",
    dataDir,
    logLevel: "none",
    httpPort: 0,
    metricsPort: 0,
    tlsPort: 0,
    tlsCert: join(dir, "server.pem"),
    tlsKey: join(dir, "server.key"),
    tlsCa: join(dir, "ca.pem"),
    tlsVerifyPeer: opts.verifyPeer ?? false,
    tlsFailIfNoPeerCert: opts.failIfNoPeerCert ?? false,
  });
  running.add(broker);
  broker.addUser("tls-user", undefined, []); // no password: only EXTERNAL can log it in
  broker.setPermissions("tls-user", "/", { configure: ".*", write: ".*", read: ".*" });
  return broker;
}

type ClientCert = "client" | "rogue" | "stranger" | undefined;

/** Connects over amqps; "ok" after a publish/get round trip, else the error's message. */
async function tryTls(broker: Broker, cert: ClientCert, how: { external?: boolean; user?: string } = {}): Promise<string> {
  const tls = { ca: [pem["ca.pem"]!], ...(cert ? { cert: pem[`${cert}.pem`], key: pem[`${cert}.key`] } : {}) };
  try {
    const credentials = how.external ? { credentials: amqp.credentials.external() } : {};
    const auth = how.external ? "" : `${how.user ?? "guest"}:guest@`;
    const conn = await amqp.connect(`amqps://${auth}127.0.0.1:${broker.tlsPort}`, { ...tls, ...credentials, timeout: 5000 });
    conn.on("error", () => {});
    const ch = await conn.createChannel();
    const { queue } = await ch.assertQueue("", { exclusive: true });
    ch.sendToQueue(queue, Buffer.from("over tls"));
    let got: false | amqp.GetMessage = false;
    for (let i = 0; i < 100 && got === false; i++) got = await ch.get(queue, { noAck: true });
    await conn.close();
    return got === false ? "no message" : got.content.toString();
  } catch (err) {
    return `refused: ${(err as Error).message}`;
  }
}

describe.skipIf(!hasOpenssl)("amqps listener", () => {
  test("PLAIN over TLS works next to the plain TCP listener (verify_none: no client certificate needed)", async () => {
    const broker = await start();
    expect(broker.tlsPort).toBeGreaterThan(0);
    expect(await tryTls(broker, undefined)).toBe("over tls");
    expect(await tryTls(broker, "rogue")).toBe("over tls"); // not even looked at
    const plain = await amqp.connect(`amqp://guest:guest@127.0.0.1:${broker.port}`);
    await plain.close();
  });

  test("/api/connections says which connections are over TLS (ssl), as RabbitMQ does", async () => {
    const broker = await start();
    const tls = await amqp.connect(`amqps://guest:guest@127.0.0.1:${broker.tlsPort}`, { ca: [pem["ca.pem"]!], timeout: 5000 });
    const plain = await amqp.connect(`amqp://guest:guest@127.0.0.1:${broker.port}`);
    const auth = { authorization: "Basic " + Buffer.from("guest:guest").toString("base64") };
    const list = (await (await fetch(`http://127.0.0.1:${broker.httpPort}/api/connections`, { headers: auth })).json()) as {
      port: number;
      ssl: boolean;
    }[];
    expect(list.map((c) => [c.port, c.ssl]).sort()).toEqual([[broker.port, false], [broker.tlsPort!, true]].sort());
    await tls.close();
    await plain.close();
  });

  test("verify_peer with fail_if_no_peer_cert: only clients with a certificate from the CA get in", async () => {
    const broker = await start({ verifyPeer: true, failIfNoPeerCert: true });
    expect(await tryTls(broker, "client")).toBe("over tls");
    expect(await tryTls(broker, undefined)).toStartWith("refused");
    expect(await tryTls(broker, "rogue")).toStartWith("refused");
  });

  test("verify_peer alone: no certificate is fine, one that does not verify is refused", async () => {
    const broker = await start({ verifyPeer: true });
    expect(await tryTls(broker, undefined)).toBe("over tls");
    expect(await tryTls(broker, "client")).toBe("over tls");
    expect(await tryTls(broker, "rogue")).toStartWith("refused");
  });

  test("EXTERNAL logs in the user named by the certificate's CN, without a password", async () => {
    const broker = await start({ verifyPeer: true });
    expect(await tryTls(broker, "client", { external: true })).toBe("over tls");
    // A verified certificate for a user that does not exist.
    expect(await tryTls(broker, "stranger", { external: true })).toContain(
      "ACCESS_REFUSED - Login was refused using authentication mechanism EXTERNAL",
    );
    // No certificate, or plain TCP: EXTERNAL is not offered.
    expect(await tryTls(broker, undefined, { external: true })).toStartWith("refused");
    const overTcp = await amqp.connect(`amqp://127.0.0.1:${broker.port}`, { credentials: amqp.credentials.external() }).then(
      (c) => c.close().then(() => "connected"),
      () => "refused",
    );
    expect(overTcp).toBe("refused");
    // The user has no password, so PLAIN cannot log it in even over TLS.
    expect(await tryTls(broker, "client", { user: "tls-user" })).toContain("ACCESS_REFUSED");
  });

  test("a certificate file that cannot be read stops the start with a message naming it", async () => {
    await expect(startBroker({
      port: 0,
      bind: "127.0.0.1",
      dataDir: join(dir, "data-bad"),
      logLevel: "none",
      tlsPort: 0,
      tlsCert: join(dir, "missing.pem"),
      tlsKey: join(dir, "server.key"),
    })).rejects.toThrow(`Cannot read the TLS certificate ${join(dir, "missing.pem")}`);
  });
});
