// MQTT benchmark (issue 19), run by `npm run bench` (skip with --skip-mqtt) or alone:
//   bun scripts/bench_mqtt.ts [--seconds 5] [--conns 10000] [--ref-conns 200] [--size 64]
// Side by side in one run: Warren (bun src/main.ts, its own data dir) and, when
// RABBITMQ_REF_MQTT_URL is set, RabbitMQ's MQTT plugin. Both are driven by the same MQTT.js
// clients in this process, so the numbers compare the brokers under the same client; ratios
// matter more than absolutes on a shared machine. Nothing here asserts on timing.
//   - QoS 0 and QoS 1 publish -> subscribe throughput: one publisher (QoS 1: 64 PUBLISH in flight),
//     one subscriber, for --seconds.
//   - Latency: one message at a time, publish -> delivery, p50/p99 over 2000 messages.
//   - Idle connections: raw sockets that CONNECT and stay; broker RSS growth per connection.
import { parseArgs } from "node:util";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { connect as tcpConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import mqtt, { type MqttClient } from "mqtt";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values: opts } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    conns: { type: "string", default: "10000" },
    // The shared reference RabbitMQ runs with 1024 descriptors: running it out of them crashed
    // its Mnesia once (emfile). Kept small, and capped below by what it has free.
    "ref-conns": { type: "string", default: "200" },
    size: { type: "string", default: "64" },
  },
});
const seconds = Number(opts.seconds);
const size = Number(opts.size);
const progress = (msg: string) => console.error(`bench_mqtt: ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

/** A quarter of the descriptors a process has free (its soft limit less those open), or undefined. */
function spareDescriptors(pid: number): number | undefined {
  try {
    const limit = Number(/Max open files\s+(\d+)/.exec(readFileSync(`/proc/${pid}/limits`, "utf8"))?.[1]);
    const open = readdirSync(`/proc/${pid}/fd`).length;
    return Number.isFinite(limit) ? Math.max(0, Math.floor((limit - open) / 4)) : undefined;
  } catch {
    return undefined;
  }
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
}

interface Target {
  name: string;
  url: string;
  host: string;
  port: number;
  pid: number | undefined;
  username: string;
  password: string;
}

async function startWarren(): Promise<{ target: Target; stop(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), "warren-bench-mqtt-"));
  const [amqpPort, mqttPort] = [await freePort(), await freePort()];
  const proc = Bun.spawn([
    process.execPath,
    join(root, "src/main.ts"),
    "--port",
    String(amqpPort),
    "--mqtt-port",
    String(mqttPort),
    "--bind",
    "127.0.0.1",
    "--data-dir",
    dataDir,
    "--log-level",
    "warning",
    "--http-port",
    "none",
    "--metrics-port",
    "none",
    "--plugins",
    "rabbitmq_mqtt",
  ], { stdout: "ignore", stderr: "inherit" });
  for (let i = 0; i < 500; i++) {
    const ok = await new Promise<boolean>((done) => {
      const s = tcpConnect({ host: "127.0.0.1", port: mqttPort }, () => (s.destroy(), done(true)));
      s.on("error", () => done(false));
    });
    if (ok) break;
    await sleep(20);
  }
  return {
    target: {
      name: "warren",
      url: `mqtt://127.0.0.1:${mqttPort}`,
      host: "127.0.0.1",
      port: mqttPort,
      pid: proc.pid,
      username: "guest",
      password: "guest",
    },
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function client(t: Target, clientId: string): Promise<MqttClient> {
  return mqtt.connectAsync(t.url, {
    clientId,
    username: t.username,
    password: t.password,
    reconnectPeriod: 0,
    clean: true,
    protocolVersion: 4,
  });
}

/** Messages per second delivered to one subscriber from one publisher. */
async function throughput(t: Target, qos: 0 | 1): Promise<{ sent: number; received: number; rate: number }> {
  const topic = `mqtt-bench-${process.pid}/tp${qos}`;
  const sub = await client(t, `mqtt-bench-sub-${process.pid}`);
  await sub.subscribeAsync(topic, { qos });
  const pub = await client(t, `mqtt-bench-pub-${process.pid}`);
  const payload = Buffer.alloc(size, 120);
  let received = 0;
  sub.on("message", () => received++);
  let sent = 0;
  let stop = false;
  const started = performance.now();
  const until = started + seconds * 1000;
  if (qos === 0) {
    while (performance.now() < until) {
      // Batches, then a turn for the socket to drain (MQTT.js buffers writes otherwise).
      for (let i = 0; i < 200; i++) pub.publish(topic, payload, { qos: 0 });
      sent += 200;
      while (received < sent - 20_000 && performance.now() < until) await sleep(1);
      await new Promise((r) => setImmediate(r));
    }
  } else {
    let inflight = 0;
    await new Promise<void>((done) => {
      const next = () => {
        while (!stop && inflight < 64) {
          inflight++;
          sent++;
          pub.publish(topic, payload, { qos: 1 }, () => {
            inflight--;
            if (performance.now() >= until) stop = true;
            if (stop && inflight === 0) done();
            else next();
          });
        }
      };
      next();
    });
  }
  const sendEnd = performance.now();
  while (received < sent && performance.now() - sendEnd < 10_000) await sleep(5);
  const elapsed = (performance.now() - started) / 1000;
  await pub.endAsync(true);
  await sub.endAsync(true);
  return { sent, received, rate: received / elapsed };
}

/** One message at a time: ms from publish to delivery. */
async function latency(t: Target, qos: 0 | 1, count = 2000): Promise<{ p50: number; p99: number }> {
  const topic = `mqtt-bench-${process.pid}/lat${qos}`;
  const sub = await client(t, `mqtt-bench-lsub-${process.pid}`);
  await sub.subscribeAsync(topic, { qos });
  const pub = await client(t, `mqtt-bench-lpub-${process.pid}`);
  const payload = Buffer.alloc(size, 120);
  const samples: number[] = [];
  let arrived: (() => void) | undefined;
  sub.on("message", () => arrived?.());
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    const got = new Promise<void>((r) => (arrived = r));
    pub.publish(topic, payload, { qos });
    await got;
    samples.push(performance.now() - start);
  }
  await pub.endAsync(true);
  await sub.endAsync(true);
  samples.sort((a, b) => a - b);
  return { p50: samples[Math.floor(count * 0.5)]!, p99: samples[Math.floor(count * 0.99)]! };
}

/** CONNECT packet (3.1.1, clean session, keepalive 0) with user guest. */
function connectPacket(clientId: string, user: string, pass: string): Buffer {
  const str = (s: string) => {
    const b = Buffer.from(s);
    return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  };
  const body = Buffer.concat([str("MQTT"), Buffer.from([4, 0xc2, 0, 0]), str(clientId), str(user), str(pass)]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/** Opens `n` idle MQTT connections; RSS growth of the broker per connection (KiB). */
async function idleConnections(
  t: Target,
  n: number,
): Promise<{ opened: number; perConnKiB: number; rssBeforeMiB: number; rssAfterMiB: number } | undefined> {
  if (t.pid === undefined) return undefined;
  await sleep(500);
  const before = rssMiB(t.pid);
  const sockets: Socket[] = [];
  let opened = 0;
  const batch = 200;
  for (let i = 0; i < n; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, j) =>
      new Promise<void>((done) => {
        const timer = setTimeout(done, 10_000); // a CONNACK that never comes: counted as not opened
        const s = tcpConnect({ host: t.host, port: t.port }, () =>
          s.write(connectPacket(`mqtt-bench-idle-${process.pid}-${i + j}`, t.username, t.password)));
        s.once("data", (d) => {
          if (d[0] === 0x20 && d[3] === 0) {
            opened++;
          }
          clearTimeout(timer);
          done();
        });
        s.on("error", () => {
          clearTimeout(timer);
          done();
        });
        sockets.push(s);
      })));
  }
  await sleep(2000);
  const after = rssMiB(t.pid);
  for (const s of sockets) s.destroy();
  await sleep(1000);
  return { opened, perConnKiB: ((after - before) * 1024) / Math.max(opened, 1), rssBeforeMiB: before, rssAfterMiB: after };
}

// ------------------------------------------------------------------ run
const warren = await startWarren();
process.once("SIGTERM", () => void warren.stop().then(() => process.exit(1)));
process.once("SIGINT", () => void warren.stop().then(() => process.exit(1)));
const targets: Target[] = [warren.target];
const ref = process.env.RABBITMQ_REF_MQTT_URL;
if (ref) {
  const u = new URL(ref);
  const pidText = process.env.RABBITMQ_REF_PID ?? (() => {
    try {
      return readFileSync("/tmp/warren_ref/pid", "utf8").trim();
    } catch {
      return "";
    }
  })();
  targets.push({
    name: "rabbitmq",
    url: `mqtt://${u.host}`,
    host: u.hostname,
    port: Number(u.port) || 1883,
    pid: pidText ? Number(pidText) : undefined,
    username: decodeURIComponent(u.username) || "guest",
    password: decodeURIComponent(u.password) || "guest",
  });
} else progress("RABBITMQ_REF_MQTT_URL unset: Warren only, no comparison");

const rows: Record<string, Record<string, number>> = {};
const put = (metric: string, target: string, value: number) => ((rows[metric] ??= {})[target] = value);
try {
  for (const qos of [0, 1] as const) {
    for (const t of targets) {
      progress(`QoS ${qos} throughput on ${t.name} (${seconds} s)`);
      const r = await throughput(t, qos);
      put(`QoS ${qos} pub→sub msg/s (${size} B)`, t.name, r.rate);
      progress(`  ${t.name}: ${r.received}/${r.sent} delivered, ${r.rate.toFixed(0)} msg/s`);
    }
    for (const t of targets) {
      progress(`QoS ${qos} latency on ${t.name}`);
      const r = await latency(t, qos);
      put(`QoS ${qos} latency p50 ms`, t.name, r.p50);
      put(`QoS ${qos} latency p99 ms`, t.name, r.p99);
    }
  }
  for (const t of targets) {
    let n = t.name === "warren" ? Number(opts.conns) : Number(opts["ref-conns"]);
    const spare = t.name === "warren" || t.pid === undefined ? undefined : spareDescriptors(t.pid);
    if (t.name !== "warren" && spare === undefined) {
      progress(`cannot read ${t.name}'s descriptor limit: idle connections not measured there`);
      continue;
    }
    if (spare !== undefined && n > spare) {
      progress(`${t.name} has ${spare * 4} descriptors free: ${spare} connections, not ${n}`);
      n = spare;
    }
    progress(`${n} idle connections on ${t.name}`);
    const r = await idleConnections(t, n);
    if (!r) {
      progress(`  no pid for ${t.name}: RSS not measured`);
      continue;
    }
    put(`idle connections opened`, t.name, r.opened);
    put(`RSS per idle connection KiB`, t.name, r.perConnKiB);
    progress(`  ${t.name}: ${r.opened} connections, RSS ${r.rssBeforeMiB.toFixed(1)} -> ${r.rssAfterMiB.toFixed(1)} MiB`);
  }
} finally {
  await warren.stop();
}

const names = targets.map((t) => t.name);
console.log(`\n## MQTT: ${names.join(" vs ")} (same run, same MQTT.js clients)\n`);
console.log(`| metric | ${names.join(" | ")} |${names.length > 1 ? " warren / rabbitmq |" : ""}`);
console.log(`|---|${names.map(() => "---|").join("")}${names.length > 1 ? "---|" : ""}`);
for (const [metric, values] of Object.entries(rows)) {
  const cells = names.map((n) => (values[n] === undefined ? "–" : values[n]! >= 100 ? values[n]!.toFixed(0) : values[n]!.toFixed(2)));
  const ratio = names.length > 1 && values.warren !== undefined && values.rabbitmq
    ? ` ${(values.warren / values.rabbitmq).toFixed(2)} |`
    : names.length > 1
    ? " – |"
    : "";
  console.log(`| ${metric} | ${cells.join(" | ")} |${ratio}`);
}
