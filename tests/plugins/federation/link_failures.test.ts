// Links that break: cut by a TCP proxy, or a Warren at either end killed with -9. With the
// default ack-mode on-confirm, every message confirmed to the upstream publisher reaches the
// downstream queue (duplicates are allowed: at least once), and the link comes back by itself.
import { afterAll, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import amqp from "amqplib";
import { startTestBroker } from "../../helpers/broker.ts";
import { api } from "../../helpers/http.ts";
import { startTcpProxy } from "../../helpers/tcp_proxy.ts";
import { freePort, killAllWarrens, spawnWarren, type WarrenProcess } from "../../helpers/warren_process.ts";
import { eventually, uniqueName } from "./reference.ts";
import { federate, type Side } from "./topology.ts";

afterAll(async () => {
  await killAllWarrens();
});

const N = 2000;
/** Spawning brokers and moving thousands of confirmed messages takes a while on a loaded machine. */
const SLOW = 120_000;

/** Publishes ids 0..n-1 persistently with confirms in batches; returns the ids confirmed (stops at the first failure). */
async function publishConfirmed(url: string, x: string, n: number, onBatch?: (sent: number) => void): Promise<Set<number>> {
  const confirmed = new Set<number>();
  let conn: amqp.ChannelModel | undefined;
  try {
    conn = await amqp.connect(url);
    conn.on("error", () => {});
    const ch = await conn.createConfirmChannel();
    ch.on("error", () => {});
    for (let i = 0; i < n; i += 100) {
      const batch = [...Array(Math.min(100, n - i)).keys()].map((k) => i + k);
      for (const id of batch) ch.publish(x, "k", Buffer.from(String(id)), { persistent: true });
      await ch.waitForConfirms();
      for (const id of batch) confirmed.add(id);
      onBatch?.(i + batch.length);
    }
    await conn.close();
  } catch {
    // the broker went away: what was confirmed so far is what must arrive
  }
  return confirmed;
}

/** Consumes `q` at `url` until every id in `want` has arrived; returns how many duplicates came. */
async function consumeAll(url: string, q: string, want: Set<number>, what: string): Promise<number> {
  const got = new Set<number>();
  let duplicates = 0;
  await eventually(
    async () => {
      const conn = await amqp.connect(url);
      try {
        const ch = await conn.createChannel();
        for (let m = await ch.get(q, { noAck: true }); m; m = await ch.get(q, { noAck: true })) {
          const id = Number(m.content.toString());
          if (got.has(id)) duplicates++;
          got.add(id);
        }
      } finally {
        await conn.close().catch(() => {});
      }
      return [...want].every((id) => got.has(id)) ? true : undefined;
    },
    `${what}: ${want.size} confirmed messages downstream (have ${got.size})`,
    60_000,
  );
  return duplicates;
}

async function setUpDownstream(url: string, side: Side, x: string, q: string, upstreamUri: string): Promise<void> {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  await ch.assertExchange(x, "direct", { durable: true });
  await ch.assertQueue(q, { durable: true });
  await ch.bindQueue(q, x, "k");
  await conn.close();
  await federate(side, { name: x, upstream: "up", uri: upstreamUri, extra: { "reconnect-delay": 0.2 } });
}

test("a link cut again and again by a proxy loses nothing confirmed upstream", async () => {
  const a = await startTestBroker();
  const b = await startTestBroker({ clusterName: uniqueName("warren-b") });
  const proxy = await startTcpProxy("127.0.0.1", a.port);
  try {
    const x = uniqueName("cut");
    const q = uniqueName("q");
    const conn = await amqp.connect(a.url);
    await (await conn.createChannel()).assertExchange(x, "direct", { durable: true });
    await conn.close();
    await setUpDownstream(b.url, { call: (m, p, body) => api(b.httpUrl, m, p, body) }, x, q, `amqp://guest:guest@127.0.0.1:${proxy.port}`);
    let cuts = 0;
    const confirmed = await publishConfirmed(a.url, x, N, (sent) => {
      if (sent % 400 === 0) {
        proxy.cut(100);
        cuts++;
      }
    });
    expect(confirmed.size).toBe(N);
    expect(cuts).toBeGreaterThan(3);
    const duplicates = await consumeAll(b.url, q, confirmed, "after proxy cuts");
    expect(duplicates).toBeLessThan(N);
    expect(proxy.accepted).toBeGreaterThan(1); // it did reconnect
  } finally {
    await proxy.stop();
    await b.stop();
    await a.stop();
  }
}, SLOW);

async function spawnWithApi(
  dataDir: string,
  port?: number,
  httpPort?: number,
): Promise<{ proc: WarrenProcess; http: string; port: number; httpPort: number }> {
  const hp = httpPort ?? (await freePort());
  const proc = await spawnWarren({ dataDir, ...(port !== undefined ? { port } : {}), args: ["--http-port", String(hp)] });
  return { proc, http: `http://127.0.0.1:${hp}`, port: proc.port, httpPort: hp };
}

test("kill -9 of the downstream Warren mid-transfer: after restart every confirmed message arrives", async () => {
  const a = await startTestBroker();
  const dataDir = await mkdtemp(join(tmpdir(), "warren-fed-"));
  try {
    let b = await spawnWithApi(dataDir);
    const x = uniqueName("kill-down");
    const q = uniqueName("q");
    const conn = await amqp.connect(a.url);
    await (await conn.createChannel()).assertExchange(x, "direct", { durable: true });
    await conn.close();
    await setUpDownstream(b.proc.url, { call: (m, p, body) => api(b.http, m, p, body) }, x, q, a.url);
    let killed: Promise<void> | undefined;
    const confirmed = await publishConfirmed(a.url, x, N, (sent) => {
      if (sent === N / 2) killed = b.proc.kill9();
    });
    await killed;
    expect(confirmed.size).toBe(N);
    b = await spawnWithApi(dataDir, b.port, b.httpPort);
    await consumeAll(b.proc.url, q, confirmed, "after the downstream's kill -9");
    await b.proc.kill9();
  } finally {
    await a.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}, SLOW);

test("kill -9 of the upstream Warren mid-transfer: every message it confirmed arrives once it is back", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "warren-fed-"));
  const b = await startTestBroker({ clusterName: uniqueName("warren-b") });
  try {
    let a = await spawnWithApi(dataDir);
    const x = uniqueName("kill-up");
    const q = uniqueName("q");
    const conn = await amqp.connect(a.proc.url);
    await (await conn.createChannel()).assertExchange(x, "direct", { durable: true });
    await conn.close();
    await setUpDownstream(b.url, { call: (m, p, body) => api(b.httpUrl, m, p, body) }, x, q, a.proc.url);
    const confirmed = await publishConfirmed(a.proc.url, x, N, (sent) => {
      if (sent === N / 2) void a.proc.kill9();
    });
    expect(confirmed.size).toBeGreaterThanOrEqual(N / 2);
    await a.proc.exit;
    a = await spawnWithApi(dataDir, a.port, a.httpPort);
    await consumeAll(b.url, q, confirmed, "after the upstream's kill -9");
    // What was confirmed may all have crossed before the kill: the link comes back on its own time.
    await eventually(async () => {
      const links = (await api(b.httpUrl, "GET", "/api/federation-links")).body as { status: string }[];
      return links.length === 1 && links[0]!.status === "running" ? true : undefined;
    }, "the link running again");
    await a.proc.kill9();
  } finally {
    await b.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}, SLOW);
