// Shovels under faults, with on-confirm: links cut by a TCP proxy (live connections dropped, new
// ones refused for a while) on the destination side and on the source side while messages flow,
// and a kill -9 of the Warren that runs the shovel in the middle of a transfer. Every message the
// source confirmed must arrive; duplicates are allowed (at-least-once) and are counted and
// printed. A slow destination must not make the shovel buffer beyond its prefetch.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp_proxy.ts";
import { killAllWarrens, spawnWarren, type WarrenProcess } from "../helpers/warren_process.ts";
import { drain, messageCount, open, publishConfirmed, putShovel, range, until, untilState } from "./shovel_helpers.ts";

setDefaultTimeout(120_000);

let a: TestBroker;
let b: TestBroker;
beforeAll(async () => {
  [a, b] = await Promise.all([startTestBroker(), startTestBroker()]);
});
afterAll(async () => {
  await killAllWarrens();
  await Promise.all([a?.stop(), b?.stop()]);
});

/** Checks that every sent message arrived; returns the number of duplicates (and prints it). */
function account(what: string, sent: string[], received: string[]): number {
  const seen = new Set(received);
  const missing = sent.filter((m) => !seen.has(m));
  const duplicates = received.length - seen.size;
  console.log(
    `${what}: ${sent.length} confirmed at the source, ${received.length} received, ${missing.length} missing, ${duplicates} duplicates`,
  );
  expect(missing).toEqual([]);
  return duplicates;
}

/** Publishes `bodies` while the proxy cuts the link every 100 ms, `cuts` times. */
async function publishWithCuts(uri: string, queue: string, bodies: string[], proxy: TcpProxy, cuts: number): Promise<void> {
  const { conn, ch } = await open(uri);
  await ch.declareQueue(queue, { durable: true });
  const cutting = (async () => {
    for (let i = 0; i < cuts; i++) {
      await new Promise((r) => setTimeout(r, 100));
      proxy.cut(150);
    }
  })();
  for (let i = 0; i < bodies.length; i += 250) await publishConfirmed(ch, "", queue, bodies.slice(i, i + 250));
  await cutting;
  await conn.close();
}

describe("link cuts with on-confirm", () => {
  test("destination side: the proxy drops and refuses the link again and again; nothing confirmed is lost", async () => {
    const proxy = await startTcpProxy("127.0.0.1", b.port);
    try {
      await putShovel(a.httpUrl, "cut-dest", {
        "src-uri": "amqp://",
        "src-queue": "cut-dest-src",
        "dest-uri": `amqp://guest:guest@127.0.0.1:${proxy.port}`,
        "dest-queue": "cut-dest-dst",
        "reconnect-delay": 0.05,
        "src-prefetch-count": 200,
      });
      await untilState(a.httpUrl, "cut-dest", "running");
      const sent = range(4000, "d");
      await publishWithCuts(a.url, "cut-dest-src", sent, proxy, 8);
      const local = await open(a.url);
      await until(
        "the source drained",
        async () => (await messageCount(local.ch, "cut-dest-src")) === 0 && (await untilRunning(a, "cut-dest")),
        60_000,
      );
      const remote = await open(b.url);
      const received = await drain(remote.ch, "cut-dest-dst", sent.length, 60_000);
      account("destination-side cuts", sent, received);
      expect(proxy.accepted).toBeGreaterThanOrEqual(2); // the link came back after cuts
      await Promise.all([local.conn.close(), remote.conn.close()]);
    } finally {
      await proxy.stop();
    }
  });

  test("source side: the link to a remote source queue is cut while it drains; nothing confirmed is lost", async () => {
    const proxy = await startTcpProxy("127.0.0.1", b.port);
    try {
      const remote = await open(b.url);
      await remote.ch.declareQueue("cut-src-src", { durable: true });
      const sent = range(4000, "s");
      await putShovel(a.httpUrl, "cut-src", {
        "src-uri": `amqp://guest:guest@127.0.0.1:${proxy.port}`,
        "src-queue": "cut-src-src",
        "dest-uri": "amqp://",
        "dest-queue": "cut-src-dst",
        "reconnect-delay": 0.05,
        "src-prefetch-count": 200,
      });
      await untilState(a.httpUrl, "cut-src", "running");
      await publishWithCuts(b.url, "cut-src-src", sent, proxy, 8);
      await until(
        "the source drained",
        async () => (await messageCount(remote.ch, "cut-src-src")) === 0 && (await untilRunning(a, "cut-src")),
        60_000,
      );
      const local = await open(a.url);
      const received = await drain(local.ch, "cut-src-dst", sent.length, 60_000);
      account("source-side cuts", sent, received);
      expect(proxy.accepted).toBeGreaterThanOrEqual(2);
      await Promise.all([local.conn.close(), remote.conn.close()]);
    } finally {
      await proxy.stop();
    }
  });
});

/** True when the shovel is running (between cuts the source may look empty while it reconnects). */
async function untilRunning(broker: TestBroker, name: string): Promise<boolean> {
  const r = await fetch(`${broker.httpUrl}/api/shovels/%2f`, { headers: { authorization: "Basic " + btoa("guest:guest") } });
  return ((await r.json()) as { name: string; state: string }[]).some((s) => s.name === name && s.state === "running");
}

describe("a slow destination", () => {
  test("the shovel holds at most its prefetch while the destination takes nothing", async () => {
    const proxy = await startTcpProxy("127.0.0.1", b.port);
    try {
      const local = await open(a.url);
      await local.ch.declareQueue("slow-src", { durable: true });
      await putShovel(a.httpUrl, "slow", {
        "src-uri": "amqp://",
        "src-queue": "slow-src",
        "dest-uri": `amqp://guest:guest@127.0.0.1:${proxy.port}`,
        "dest-queue": "slow-dst",
        "src-prefetch-count": 100,
      });
      await untilState(a.httpUrl, "slow", "running");
      proxy.hold("to-target");
      await publishConfirmed(local.ch, "", "slow-src", range(3000));
      await new Promise((r) => setTimeout(r, 500));
      // The rest waits in the source queue (on disk when it is long), not in the shovel.
      const q = a.broker.vhosts.get("/")!.queues.get("slow-src")!;
      await until("the shovel took its prefetch", () => q.messageCount <= 2900);
      await new Promise((r) => setTimeout(r, 300));
      expect(3000 - q.messageCount).toBe(100); // unacked at the source: exactly the prefetch, no more
      proxy.release();
      const remote = await open(b.url);
      account("slow destination", range(3000), await drain(remote.ch, "slow-dst", 3000, 60_000));
      await Promise.all([local.conn.close(), remote.conn.close()]);
    } finally {
      await proxy.stop();
    }
  });
});

describe("store and forward", () => {
  test("while the uplink is down the backlog stays in the local durable queue, and drains when it returns", async () => {
    const proxy = await startTcpProxy("127.0.0.1", b.port);
    try {
      proxy.refuse();
      await putShovel(a.httpUrl, "saf", {
        "src-uri": "amqp://",
        "src-queue": "saf-outbox",
        "dest-uri": `amqp://guest:guest@127.0.0.1:${proxy.port}`,
        "dest-queue": "saf-inbox",
        "reconnect-delay": 0.1,
      });
      await untilState(a.httpUrl, "saf", "terminated");
      const local = await open(a.url);
      const sent = range(6000, "saf");
      await publishConfirmed(local.ch, "", "saf-outbox", sent);
      const q = a.broker.vhosts.get("/")!.queues.get("saf-outbox")!;
      expect(q.messageCount).toBe(6000); // all of it waits in the queue: the link holds none
      expect(q.durable).toBe(true);
      proxy.accept();
      await until("the backlog drained", async () => (await messageCount(local.ch, "saf-outbox")) === 0, 60_000);
      const remote = await open(b.url);
      account("store and forward", sent, await drain(remote.ch, "saf-inbox", sent.length, 60_000));
      await Promise.all([local.conn.close(), remote.conn.close()]);
    } finally {
      await proxy.stop();
    }
  });
});

describe("kill -9 of Warren in the middle of a transfer", () => {
  test("with on-confirm, every confirmed message reaches the destination after the restart", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "shovel-crash-"));
    let proc: WarrenProcess | undefined;
    try {
      proc = await spawnWarren({ dataDir });
      const httpUrl = await managementUrl(proc);
      const sent = range(20_000, "k");
      const src = await open(proc.url);
      await src.ch.declareQueue("crash-src", { durable: true });
      await publishConfirmed(src.ch, "", "crash-src", sent);
      await src.conn.close().catch(() => undefined);
      await putShovel(httpUrl, "crash", { "src-uri": "amqp://", "src-queue": "crash-src", "dest-uri": b.url, "dest-queue": "crash-dst" });
      const remote = await open(b.url);
      await remote.ch.declareQueue("crash-dst", { durable: true });
      await until("part of the transfer done", async () => (await messageCount(remote.ch, "crash-dst")) >= 3000, 60_000);
      await proc.kill9();
      const atKill = await messageCount(remote.ch, "crash-dst");
      proc = await spawnWarren({ dataDir, port: proc.port });
      const again = await open(proc.url);
      await until("the restarted shovel drained the source", async () => (await messageCount(again.ch, "crash-src")) === 0, 90_000);
      const received = await drain(remote.ch, "crash-dst", sent.length, 60_000);
      console.log(`kill -9 at ${atKill} of ${sent.length} moved`);
      account("kill -9 of the shovelling Warren", sent, received);
      await Promise.all([again.conn.close(), remote.conn.close()]);
    } finally {
      await proc?.kill9();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

async function managementUrl(proc: WarrenProcess): Promise<string> {
  const line = await proc.waitForLine(/Management plugin: HTTP \(non-TLS\) listener started on port \d+/, 10_000);
  return `http://127.0.0.1:${/port (\d+)/.exec(line)![1]}`;
}
