// The broker on Deno (`deno run -A src/main.ts`, src/runtime/deno/), whatever runtime runs the
// tests: it says it runs on Deno, serves AMQP, amqps and HTTP, keeps a fast producer's bytes
// in order through its write queue, and refuses what Deno cannot do (client certificates) at
// start-up with a message naming it. Its outbound sockets (runtime/deno/tcp_connect.ts) carry a
// shovel and `warren perf`. The protocol, differential and crash suites run against it
// too (scripts/test_deno.sh).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import amqp from "amqplib";
import mqtt from "mqtt";
import { certificate, hasOpenssl, serverCertificates } from "../helpers/certs.ts";
import { killAllWarrens, launchWarren, spawnWarren, type WarrenProcess } from "../helpers/warren_process.ts";
import { ROOT, runtimeCommand } from "../helpers/warren_runtime.ts";

const DENO = runtimeCommand("deno");
const hasDeno = existsSync(DENO[0]!);
if (!hasDeno) console.log(`skipping the Deno runtime tests: ${DENO[0]} is missing (npm ci installs it)`);

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "warren-deno-"));
  dirs.push(dir);
  return dir;
}

afterAll(async () => {
  await killAllWarrens();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A listener's port from the broker's log line. */
function loggedPort(proc: WarrenProcess, pattern: RegExp): number {
  const port = Number(pattern.exec(proc.output())?.[1]);
  if (!port) throw new Error(`no port for ${pattern} in the log:\n${proc.output()}`);
  return port;
}

/**
 * A dynamic shovel `name` from queue `<name>-src` at `srcUri` to `<name>-dest` at `destUri`;
 * `count` persistent messages go in at the source. Answers the shovel's state (or failure
 * reason) and what reached the destination, then deletes the shovel.
 */
async function shovelAcross(
  proc: WarrenProcess,
  name: string,
  srcUri: string,
  destUri: string,
  count: number,
): Promise<{ states: string[]; received: string[] }> {
  const httpPort = loggedPort(proc, /Management plugin: HTTP \(non-TLS\) listener started on port (\d+)/);
  const headers = { authorization: `Basic ${btoa("guest:guest")}`, "content-type": "application/json" };
  const shovelUrl = `http://127.0.0.1:${httpPort}/api/parameters/shovel/%2f/${name}`;
  const value = { "src-uri": srcUri, "src-queue": `${name}-src`, "dest-uri": destUri, "dest-queue": `${name}-dest` };
  const put = await fetch(shovelUrl, { method: "PUT", headers, body: JSON.stringify({ value }) });
  expect(put.status).toBeLessThan(300);
  const conn = await amqp.connect(proc.url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(`${name}-src`, { durable: true });
  await ch.assertQueue(`${name}-dest`, { durable: true });
  for (let i = 0; i < count; i++) ch.sendToQueue(`${name}-src`, Buffer.from(`${name} ${i}`), { persistent: true });
  await ch.waitForConfirms();
  const received: string[] = [];
  await ch.consume(`${name}-dest`, (m) => {
    if (m) received.push(m.content.toString());
  }, { noAck: true });
  for (let i = 0; i < 400 && received.length < count; i++) await new Promise((r) => setTimeout(r, 50));
  const status = await (await fetch(`http://127.0.0.1:${httpPort}/api/shovels/%2f`, { headers })).json() as {
    name: string;
    state: string;
    reason?: string;
  }[];
  await fetch(shovelUrl, { method: "DELETE", headers });
  await conn.close();
  return { states: status.filter((s) => s.name === name).map((s) => s.reason ?? s.state), received };
}

describe.skipIf(!hasDeno)("the broker on Deno", () => {
  let proc: WarrenProcess;
  let certs: string;

  beforeAll(async () => {
    const args: string[] = [];
    if (hasOpenssl) {
      certs = tempDir();
      serverCertificates(certs);
      args.push("--tls-port", "0", "--https-port", "0", "--tls-cert", join(certs, "server.pem"), "--tls-key", join(certs, "server.key"));
    }
    proc = await spawnWarren({ dataDir: tempDir(), command: DENO, args });
  });

  test("announces Deno and its version in the server properties and the management API", async () => {
    const conn = await amqp.connect(proc.url);
    const platform = (conn.connection as unknown as { serverProperties: { platform: string } }).serverProperties.platform;
    await conn.close();
    expect(platform).toMatch(/^Deno \d+\.\d+\.\d+$/);
    const httpPort = loggedPort(proc, /Management plugin: HTTP \(non-TLS\) listener started on port (\d+)/);
    const auth = { authorization: `Basic ${btoa("guest:guest")}` };
    const overview = (await (await fetch(`http://127.0.0.1:${httpPort}/api/overview`, { headers: auth })).json()) as {
      erlang_version: string;
    };
    expect(overview.erlang_version).toBe(platform);
  });

  test("a consumer gets 300 messages of 100 KiB in order, byte for byte (the write queue fills and drains)", async () => {
    const conn = await amqp.connect(proc.url);
    const ch = await conn.createConfirmChannel();
    const q = (await ch.assertQueue("", { exclusive: true })).queue;
    const body = (i: number) => Buffer.alloc(100 * 1024, i % 251);
    for (let i = 0; i < 300; i++) ch.sendToQueue(q, body(i), { messageId: String(i) });
    await ch.waitForConfirms();
    const received: number[] = [];
    let corrupt = 0;
    await new Promise<void>((done) => {
      void ch.consume(q, (m) => {
        if (!m) return;
        const i = Number(m.properties.messageId);
        if (!m.content.equals(body(i))) corrupt++;
        received.push(i);
        if (received.length === 300) done();
      }, { noAck: true });
    });
    await conn.close();
    expect(corrupt).toBe(0);
    expect(received).toEqual([...Array(300).keys()]);
  });

  test.skipIf(!hasOpenssl)("serves amqps: a publish and get round trip over TLS", async () => {
    const tlsPort = loggedPort(proc, /started TLS \(SSL\) listener on [^\n]*:(\d+)\n/);
    const conn = await amqp.connect(`amqps://guest:guest@127.0.0.1:${tlsPort}`, {
      ca: [readFileSync(join(certs, "ca.pem"))],
      servername: "localhost",
    });
    const ch = await conn.createChannel();
    const q = (await ch.assertQueue("", { exclusive: true })).queue;
    ch.sendToQueue(q, Buffer.from("over tls on deno"));
    let got: amqp.GetMessage | false = false;
    for (let i = 0; i < 50 && !got; i++) got = await ch.get(q, { noAck: true });
    await conn.close();
    expect(got && got.content.toString()).toBe("over tls on deno");
  });

  test.skipIf(!hasOpenssl)("serves the management API over HTTPS", async () => {
    const httpsPort = loggedPort(proc, /Management plugin: HTTP \(TLS\) listener started on port (\d+)/);
    const res = await fetch(`https://localhost:${httpsPort}/api/whoami`, {
      headers: { authorization: `Basic ${btoa("guest:guest")}` },
      tls: { ca: readFileSync(join(certs, "ca.pem"), "utf8") },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { name: string }).name).toBe("guest");
  });

  test("a dynamic shovel moves messages over TCP (the outbound client on Deno.connect) from one queue to another", async () => {
    // Both ends are this broker, reached over TCP (a URI with a host), not the in-process pipe.
    const moved = await shovelAcross(proc, "deno-tcp", proc.url, proc.url, 200);
    expect(moved).toEqual({ states: ["running"], received: [...Array(200).keys()].map((i) => `deno-tcp ${i}`) });
  });

  test("MQTT over WebSocket on the management port (Deno.upgradeWebSocket) is bridged to AMQP both ways", async () => {
    const httpPort = loggedPort(proc, /Management plugin: HTTP \(non-TLS\) listener started on port (\d+)/);
    const client = await mqtt.connectAsync(`ws://127.0.0.1:${httpPort}/ws`, {
      clientId: "deno-ws",
      username: "guest",
      password: "guest",
      reconnectPeriod: 0,
    });
    const got: string[] = [];
    client.on("message", (topic, payload) => got.push(`${topic}=${payload.toString()}`));
    await client.subscribeAsync("deno/+", { qos: 1 });
    const conn = await amqp.connect(proc.url);
    const ch = await conn.createChannel();
    const q = await ch.assertQueue("", { exclusive: true });
    await ch.bindQueue(q.queue, "amq.topic", "deno.*");
    ch.publish("amq.topic", "deno.amqp", Buffer.from("from amqp"));
    await client.publishAsync("deno/ws", "from ws", { qos: 1 });
    for (let i = 0; i < 200 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 25));
    const fromWs = await ch.get(q.queue, { noAck: true });
    await client.endAsync();
    await conn.close();
    expect(got.sort()).toEqual(["deno/amqp=from amqp", "deno/ws=from ws"]);
    expect(fromWs && `${fromWs.fields.routingKey}=${fromWs.content.toString()}`).toMatch(/^deno\.(amqp=from amqp|ws=from ws)$/);
  });

  test.skipIf(!hasOpenssl)(
    "a dynamic shovel over amqps with verify_peer: Deno.connectTls with a client certificate, Deno.startTls for another SNI name",
    async () => {
      const tlsPort = loggedPort(proc, /started TLS \(SSL\) listener on [^\n]*:(\d+)\n/);
      // Sent, though this listener asks for none. X.509 v3 (an extension): rustls refuses v1 certificates.
      writeFileSync(join(certs, "client.ext"), "extendedKeyUsage=clientAuth\n");
      certificate(certs, "client", "deno-shovel", "ca", "client.ext");
      const amqps = `amqps://guest:guest@127.0.0.1:${tlsPort}?verify=verify_peer&cacertfile=${join(certs, "ca.pem")}`;
      const src = `${amqps}&certfile=${join(certs, "client.pem")}&keyfile=${join(certs, "client.key")}`;
      const moved = await shovelAcross(proc, "deno-tls", src, `${amqps}&server_name_indication=localhost`, 50);
      expect(moved).toEqual({ states: ["running"], received: [...Array(50).keys()].map((i) => `deno-tls ${i}`) });
    },
  );

  test.skipIf(!hasOpenssl)("refuses to start with verify_peer, naming what Deno cannot do", async () => {
    const conf = join(tempDir(), "tls.conf");
    writeFileSync(
      conf,
      [
        "listeners.ssl.default = 0",
        `ssl_options.certfile = ${join(certs, "server.pem")}`,
        `ssl_options.keyfile = ${join(certs, "server.key")}`,
        `ssl_options.cacertfile = ${join(certs, "ca.pem")}`,
        "ssl_options.verify = verify_peer",
      ].join("\n") + "\n",
    );
    const refused = await launchWarren({ dataDir: tempDir(), command: DENO, args: ["--config", conf] });
    const code = await refused.exit;
    expect(code).toBe(1);
    expect(refused.output()).toContain("client certificates (ssl_options.verify = verify_peer) are not supported on Deno");
  });
});

describe.skipIf(!hasDeno)("warren perf on Deno", () => {
  test("`deno run src/main.ts perf throughput` against a broker on Bun exits 0 and counts what it moved", async () => {
    const broker = await spawnWarren({ dataDir: tempDir(), command: runtimeCommand("bun") });
    const perf = spawn(DENO[0]!, [
      ...DENO.slice(1),
      "perf",
      "throughput",
      "-u",
      broker.url,
      "-z",
      "1",
      "--warmup",
      "0",
      "--drain",
      "5",
      "--json",
      "-q",
    ], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    perf.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    perf.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => perf.once("exit", resolve));
    await broker.kill9();
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const report = JSON.parse(stdout) as { ok: boolean; metrics: { published: number; consumed: number; drained: boolean } };
    expect(report.ok).toBe(true);
    expect(report.metrics.published).toBeGreaterThan(1000);
    expect(report.metrics.consumed).toBe(report.metrics.published);
    expect(report.metrics.drained).toBe(true);
  }, 60_000);
});

describe.skipIf(!hasDeno)("listen errors on Deno", () => {
  test("a taken port stops the start with the listener, address and reason in words", async () => {
    const taken = createServer();
    await new Promise<void>((done) => taken.listen(0, "127.0.0.1", done));
    const port = (taken.address() as { port: number }).port;
    try {
      const proc = await launchWarren({ dataDir: tempDir(), command: DENO, port });
      expect(await proc.exit).toBe(1);
      expect(proc.output()).toContain(`AMQP listener on 127.0.0.1:${port}: address in use`);
    } finally {
      taken.close();
    }
  });
});

describe.skipIf(!hasDeno)("one data directory, both runtimes", () => {
  test("persistent messages confirmed on Bun are there on Deno, and what Deno confirms is there on Bun again", async () => {
    const dataDir = tempDir();
    const sides = [runtimeCommand("bun"), DENO, runtimeCommand("bun")];
    const expected: string[] = [];
    for (const [i, command] of sides.entries()) {
      const proc = await spawnWarren({ dataDir, command });
      const conn = await amqp.connect(proc.url);
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue("deno-portable", { durable: true });
      const seen: string[] = [];
      // Got and never acked: still stored, so every side sees the whole history.
      for (let m = await ch.get("deno-portable"); m; m = await ch.get("deno-portable")) seen.push(m.content.toString());
      expect(seen).toEqual(expected);
      const body = `message ${i} from ${command.some((part) => part.endsWith("deno")) ? "deno" : "bun"}`;
      ch.sendToQueue("deno-portable", Buffer.from(body), { persistent: true });
      await ch.waitForConfirms();
      expected.push(body);
      conn.on("error", () => {}); // the broker is killed under it
      await proc.kill9(); // no clean shutdown: only what was confirmed is promised
    }
  });
});

describe.skipIf(!hasDeno)("flow control on Deno", () => {
  test("under a memory alarm a publisher gets connection.blocked and its publishes wait unread", async () => {
    // 1000 bytes: the alarm is on from boot; reading a blocked publisher's socket stops (pause()).
    const proc = await spawnWarren({ dataDir: tempDir(), command: DENO, args: ["--memory-high-watermark", "1000"] });
    const conn = await amqp.connect(proc.url);
    const events: string[] = [];
    conn.on("blocked", (reason: string) => events.push(reason));
    conn.on("error", () => {}); // a blocked client cannot finish close(): the broker is killed instead
    const ch = await conn.createChannel();
    const q = (await ch.assertQueue("", { exclusive: true })).queue; // declaring is not publishing: answered
    ch.sendToQueue(q, Buffer.from("held"));
    for (let i = 0; i < 100 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(events).toEqual(["low on memory"]);
    // The publish never reached the queue: the broker stopped reading at its method frame.
    const httpPort = loggedPort(proc, /Management plugin: HTTP \(non-TLS\) listener started on port (\d+)/);
    const res = await fetch(`http://127.0.0.1:${httpPort}/api/queues/%2F/${encodeURIComponent(q)}`, {
      headers: { authorization: `Basic ${btoa("guest:guest")}` },
    });
    expect(((await res.json()) as { messages: number }).messages).toBe(0);
    await proc.kill9();
  });
});
