// Brokers started from a warren.conf: tune values, the default user and vhost, loopback_users,
// an amqps-only broker (listeners.tcp = none), the management API over HTTPS, and the
// executable's --config / RABBITMQ_CONFIG_FILE with a bad key.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import amqp from "amqplib";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { type Broker, type BrokerOptions, createLogger, startBroker } from "../../mod.ts";
import { withTimeout } from "../helpers/broker.ts";
import { hasOpenssl, serverCertificates } from "../helpers/certs.ts";
import { openRawConnection } from "../helpers/raw_client.ts";
import { killAllWarrens, launchWarren, ROOT } from "../helpers/warren_process.ts";

setDefaultTimeout(30_000);

let dir = "";
let ca = "";
const running = new Set<Broker>();
if (!hasOpenssl) console.warn("openssl not found: skipping the TLS parts of the config file tests (apt-get install -y openssl)");

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "warren-conf-"));
  if (hasOpenssl) {
    serverCertificates(dir);
    ca = await readFile(join(dir, "ca.pem"), "utf8");
  }
});

afterAll(async () => {
  for (const b of running) await withTimeout(b.stop(), 10_000, "broker.stop()").catch(() => {});
  await killAllWarrens();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Writes `text` as a config file and starts a broker from it; returns the broker and its log. */
async function startFromConfig(text: string, extra: Partial<BrokerOptions> = {}): Promise<{ broker: Broker; log: string[] }> {
  const n = running.size;
  const file = join(dir, `warren-${n}.conf`);
  await writeFile(file, text);
  const log: string[] = [];
  const broker = await startBroker({
    configFile: file,
    dataDir: join(dir, `data-${n}`),
    logger: createLogger("debug", (line) => void log.push(line)),
    ...extra,
  });
  running.add(broker);
  return { broker, log };
}

/** The heartbeat amqplib settled on (it takes the server's offer). */
const heartbeatOf = (conn: amqp.ChannelModel) => (conn.connection as unknown as { heartbeat: number }).heartbeat;

/** A non-loopback IPv4 address of this host, to connect from somewhere that is not loopback. */
const external = Object.values(networkInterfaces()).flat().find((i) => i && i.family === "IPv4" && !i.internal)?.address;

describe("a broker started from a config file", () => {
  test("offers its heartbeat, frame_max and channel_max, logs the file and the ignored keys", async () => {
    const { broker, log } = await startFromConfig(
      "# tuning\nlisteners.tcp.default = 127.0.0.1:0\nheartbeat = 17\nframe_max = 8192\nchannel_max = 42\n" +
        "management.tcp.port = 0\nprometheus.tcp.port = 0\nlog.file = false\n",
    );
    const client = await openRawConnection(broker.port, { stopAfter: "tune-ok" });
    const tune = client.frames.map((f) => f.method).find((m) => m !== undefined && "frameMax" in m);
    expect(tune).toMatchObject({ channelMax: 42, frameMax: 8192, heartbeat: 17 });
    client.destroy();
    expect(log.some((l) => l.includes(`[info] Config file(s): ${join(dir, "warren-0.conf")}`))).toBe(true);
    expect(log.filter((l) => l.includes("[warning] Ignoring log.file"))).toHaveLength(1);
    expect(broker.httpPort).toBeGreaterThan(0);
    expect(broker.metricsPort).toBeGreaterThan(0);
  });

  test("server_properties.* reach clients in connection.start; capabilities stay the broker's", async () => {
    const { broker } = await startFromConfig(
      "listeners.tcp.default = 127.0.0.1:0\nmanagement.tcp.port = 0\nprometheus.tcp.port = 0\n" +
        "server_properties.product = RabbitMQ\nserver_properties.version = 3.10.8\n",
    );
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${broker.port}`);
    try {
      expect(conn.connection.serverProperties).toMatchObject({ product: "RabbitMQ", version: "3.10.8" });
      expect(conn.connection.serverProperties.capabilities).toMatchObject({ publisher_confirms: true, consumer_cancel_notify: true });
    } finally {
      await conn.close();
    }
  });

  test("default_user, default_pass and default_vhost seed the first boot; options given to startBroker win", async () => {
    const { broker } = await startFromConfig(
      "default_user = admin\ndefault_pass = s3cret\ndefault_vhost = edge\nheartbeat = 5\n",
      { port: 0, bind: "127.0.0.1", httpPort: 0, metricsPort: 0, heartbeat: 9 },
    );
    const conn = await amqp.connect(`amqp://admin:s3cret@127.0.0.1:${broker.port}/edge`);
    expect(heartbeatOf(conn)).toBe(9);
    await conn.close();
    await expect(amqp.connect(`amqp://guest:guest@127.0.0.1:${broker.port}`)).rejects.toThrow(/ACCESS_REFUSED/);
  });

  test.skipIf(external === undefined)("loopback_users = none lets guest in from a non-loopback address", async () => {
    const conf = `listeners.tcp.default = ${external}:0\nmanagement.tcp.port = 0\nprometheus.tcp.port = 0\n`;
    const strict = (await startFromConfig(conf)).broker;
    await expect(amqp.connect(`amqp://guest:guest@${external}:${strict.port}`)).rejects.toThrow(/ACCESS_REFUSED/);
    const open = (await startFromConfig(`${conf}loopback_users = none\n`)).broker;
    const conn = await amqp.connect(`amqp://guest:guest@${external}:${open.port}`);
    await conn.close();
  });

  test("a bad key stops the start with the key and the line", async () => {
    await expect(startFromConfig("heartbeat = 1\nlisteners.tcp.default = 0\nheartbeet = 2\n"))
      .rejects.toThrow(/line 3: you've tried to set heartbeet/);
  });
});

describe.skipIf(!hasOpenssl)("TLS from the config file", () => {
  const tlsConf = () => `ssl_options.certfile = ${join(dir, "server.pem")}\nssl_options.keyfile = ${join(dir, "server.key")}\n`;

  test("listeners.tcp = none: only amqps listens, and Broker.port says so", async () => {
    const { broker, log } = await startFromConfig(
      `listeners.tcp = none\nlisteners.ssl.default = 127.0.0.1:0\n${tlsConf()}management.tcp.port = 0\nprometheus.tcp.port = 0\n`,
    );
    expect(() => broker.port).toThrow("Cannot read the broker's port: the plain AMQP listener is off (listeners.tcp = none)");
    expect(broker.hasPlainListener).toBe(false);
    expect(log.some((l) => l.includes("started TCP listener"))).toBe(false);
    const conn = await amqp.connect(`amqps://guest:guest@127.0.0.1:${broker.tlsPort}`, { ca: [ca] });
    const ch = await conn.createChannel();
    await ch.assertQueue("over-tls-only");
    await conn.close();
    // The management API lists the amqps listener and answers its port checks.
    const auth = { authorization: `Basic ${btoa("guest:guest")}` };
    const overview = await fetch(`http://127.0.0.1:${broker.httpPort}/api/overview`, { headers: auth });
    expect(overview.status).toBe(200);
    const listeners = ((await overview.json()) as { listeners: { protocol: string; port: number }[] }).listeners;
    expect(listeners.map((l) => l.protocol)).toEqual(["amqp/ssl", "http", "http/prometheus"]);
    const check = await fetch(`http://127.0.0.1:${broker.httpPort}/api/health/checks/port-listener/${broker.tlsPort}`, { headers: auth });
    expect(check.status).toBe(200);
  });

  test("listeners.tcp = none without a TLS listener is refused", async () => {
    await expect(startFromConfig("listeners.tcp = none\nmanagement.tcp.port = 0\nprometheus.tcp.port = 0\n"))
      .rejects.toThrow(/No AMQP listener/);
  });

  test("management.ssl.* alone: the API answers over HTTPS only", async () => {
    const { broker, log } = await startFromConfig(
      `listeners.tcp.default = 127.0.0.1:0\nprometheus.tcp.port = 0\nmanagement.ssl.port = 0\n` +
        `management.ssl.certfile = ${join(dir, "server.pem")}\nmanagement.ssl.keyfile = ${join(dir, "server.key")}\n` +
        `management.ssl.cacertfile = ${join(dir, "ca.pem")}\n`,
    );
    expect(broker.httpListener).toBeUndefined();
    expect(log.some((l) => l.includes(`Management plugin: HTTP (TLS) listener started on port ${broker.httpsPort}`))).toBe(true);
    expect(log.some((l) => l.includes("HTTP (non-TLS)") && l.includes("Management"))).toBe(false);
    const auth = { authorization: "Basic " + Buffer.from("guest:guest").toString("base64") };
    const response = await fetch(`https://localhost:${broker.httpsPort}/api/overview`, { headers: auth, tls: { ca } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { product_name: unknown }).product_name).toBeString();
    // The certificate is checked: without the CA the client refuses the server.
    await expect(fetch(`https://localhost:${broker.httpsPort}/api/overview`, { headers: auth })).rejects.toThrow();
  });

  test("--https-port style options: HTTPS next to HTTP with the amqps certificate", async () => {
    const { broker } = await startFromConfig(tlsConf(), {
      port: 0,
      bind: "127.0.0.1",
      httpPort: 0,
      metricsPort: 0,
      httpsPort: 0,
    });
    const auth = { authorization: "Basic " + Buffer.from("guest:guest").toString("base64") };
    expect((await fetch(`https://127.0.0.1:${broker.httpsPort}/api/whoami`, { headers: auth, tls: { ca } })).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${broker.httpPort}/api/whoami`, { headers: auth })).status).toBe(200);
  });
});

describe("the executable", () => {
  const bun = join(ROOT, "node_modules/.bin/bun");

  test("--config: flags win over the file, and the log names the file", async () => {
    const file = join(dir, "cli.conf");
    await writeFile(file, "listeners.tcp.default = 1\nheartbeat = 11\ncluster_partition_handling = ignore\n");
    const proc = await launchWarren({ dataDir: join(dir, "cli-data"), args: ["--config", file] });
    await proc.waitForLine(/Server startup complete/, 15_000);
    expect(proc.output()).toContain(`Config file(s): ${file}`);
    expect(proc.output()).toContain("[warning] Ignoring cluster_partition_handling");
    expect(proc.output()).toContain(`started TCP listener on 127.0.0.1:${proc.port}`); // --port beat the file's port 1
    const conn = await amqp.connect(proc.url);
    expect(heartbeatOf(conn)).toBe(11);
    await conn.close();
    await proc.kill9();
  });

  test("RABBITMQ_CONFIG_FILE without .conf; an unknown key exits 1 naming it", async () => {
    await writeFile(join(dir, "rabbitmq.conf"), "# from the environment\nno_such_setting = 1\n");
    const result = spawnSync(bun, [join(ROOT, "src/main.ts"), "--data-dir", join(dir, "env-data")], {
      env: { ...process.env, RABBITMQ_CONFIG_FILE: join(dir, "rabbitmq") },
      encoding: "utf8",
      timeout: 15_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      `warren: cannot start: Error in config file ${join(dir, "rabbitmq.conf")} line 2: you've tried to set no_such_setting`,
    );
  });
});
