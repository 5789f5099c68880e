// The HTTP listeners at startup: their log lines, "Server startup complete" after them, the bind
// address, and a taken port failing the start without leaving the AMQP listener behind.
import { expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBroker } from "../../mod.ts";
import { createLogger } from "../../src/log.ts";
import { hasOpenssl, serverCertificates } from "../helpers/certs.ts";

async function withDataDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "warren-http-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("both listeners log as RabbitMQ's plugins do, before Server startup complete", async () => {
  await withDataDir(async (dataDir) => {
    const lines: string[] = [];
    const broker = await startBroker({
      port: 0,
      httpPort: 0,
      metricsPort: 0,
      bind: "127.0.0.1",
      dataDir,
      logger: createLogger("info", (l) => lines.push(l)),
    });
    try {
      const log = lines.join("");
      const mgmt = log.indexOf(`Management plugin: HTTP (non-TLS) listener started on port ${broker.httpPort}`);
      const prom = log.indexOf(`Prometheus metrics: HTTP (non-TLS) listener started on port ${broker.metricsPort}`);
      // Every built-in plugin runs by default; the list grows as plugins are added.
      const ready = log.search(
        /Server startup complete; \d+ plugins started \(rabbitmq_prometheus, rabbitmq_management, rabbitmq_consistent_hash_exchange[,)]/,
      );
      expect(mgmt).toBeGreaterThan(0);
      expect(prom).toBeGreaterThan(0);
      expect(ready).toBeGreaterThan(Math.max(mgmt, prom));
      expect((await fetch(`http://127.0.0.1:${broker.httpPort}/api/overview`)).status).toBe(401);
      expect((await fetch(`http://127.0.0.1:${broker.metricsPort}/metrics`)).status).toBe(200);
    } finally {
      await broker.stop();
    }
  });
});

test("null ports turn the listeners off", async () => {
  await withDataDir(async (dataDir) => {
    const broker = await startBroker({ port: 0, httpPort: null, metricsPort: null, bind: "127.0.0.1", dataDir, logLevel: "none" });
    try {
      expect(broker.httpListener).toBeUndefined();
      expect(() => broker.httpPort).toThrow(/not listening/);
    } finally {
      await broker.stop();
    }
  });
});

test("a taken HTTP port fails the start and releases the AMQP port", async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  const taken = (blocker.address() as { port: number }).port;
  const amqpPort = await new Promise<number>((resolve) => {
    const probe = createServer();
    probe.listen(0, "127.0.0.1", () => {
      const port = (probe.address() as { port: number }).port;
      probe.close(() => resolve(port));
    });
  });
  try {
    await withDataDir(async (dataDir) => {
      await expect(startBroker({ port: amqpPort, httpPort: taken, metricsPort: 0, bind: "127.0.0.1", dataDir, logLevel: "none" })).rejects
        .toThrow();
      // the AMQP port is free again
      const again = createServer();
      await new Promise<void>((resolve, reject) => {
        again.once("error", reject);
        again.listen(amqpPort, "127.0.0.1", resolve);
      });
      await new Promise<void>((resolve) => again.close(() => resolve()));
    });
  } finally {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  }
});

test("a taken port names the listener, its address and port, and says address in use (every listener)", async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  const taken = (blocker.address() as { port: number }).port;
  try {
    await withDataDir(async (dataDir) => {
      const base = { port: 0, httpPort: 0, metricsPort: 0, bind: "127.0.0.1", dataDir, logLevel: "none" as const };
      const cases: [string, Parameters<typeof startBroker>[0]][] = [
        ["AMQP", { ...base, port: taken }],
        ["management API (HTTP)", { ...base, httpPort: taken }],
        ["Prometheus metrics (HTTP)", { ...base, metricsPort: taken }],
      ];
      if (hasOpenssl) {
        serverCertificates(dataDir);
        const tls = { cert: join(dataDir, "server.pem"), key: join(dataDir, "server.key") };
        cases.push(
          ["AMQP over TLS (amqps)", { ...base, tlsPort: taken, tlsCert: tls.cert, tlsKey: tls.key }],
          ["management API (HTTPS)", { ...base, httpsPort: taken, httpsCert: tls.cert, httpsKey: tls.key }],
        );
      } else console.warn("TLS listeners skipped: openssl not found");
      for (const [listener, options] of cases) {
        const failure = await startBroker(options).then(async (b) => {
          await b.stop();
          return "started";
        }, (err: Error) => err.message);
        expect(failure).toStartWith(`${listener} listener on 127.0.0.1:${taken}: address in use`);
      }
    });
  } finally {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  }
});

test("guest may use the management API only from loopback, as over AMQP", async () => {
  const { networkInterfaces } = await import("node:os");
  const external = Object.values(networkInterfaces()).flat().find((i) => i && i.family === "IPv4" && !i.internal)?.address;
  if (!external) {
    console.warn("skipped: no non-loopback IPv4 address on this machine");
    return;
  }
  await withDataDir(async (dataDir) => {
    const broker = await startBroker({ port: 0, httpPort: 0, metricsPort: 0, bind: "0.0.0.0", dataDir, logLevel: "none" });
    try {
      broker.users.add("http-remote", "pw", ["administrator"]);
      const get = (user: string, pass: string, host: string) =>
        fetch(`http://${host}:${broker.httpPort}/api/whoami`, { headers: { authorization: "Basic " + btoa(`${user}:${pass}`) } });
      const refused = await get("guest", "guest", external);
      expect(refused.status).toBe(401);
      expect(await refused.json()).toEqual({ error: "not_authorised", reason: "User can only log in via localhost" });
      expect((await get("guest", "guest", "127.0.0.1")).status).toBe(200);
      expect((await get("http-remote", "pw", external)).status).toBe(200);
    } finally {
      await broker.stop();
    }
  });
});
