// A large persistent backlog with no consumer costs disk, not memory: the broker's RSS (read
// from /proc) stays under a fixed, generous bound while 100 000 × 8 KiB messages (800 MB of
// bodies) are published and while they drain. The real figures (1M × 1 KiB) are in
// docs/storage.md.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import amqp from "amqplib";
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brokerAsProcess, warrenCommand } from "../helpers/warren_runtime.ts";

// On Deno (WARREN_RUNTIME=deno) persistent publishing is slower (docs/performance.md).
setDefaultTimeout(brokerAsProcess() ? 240_000 : 120_000);

const MESSAGES = 100_000;
const BODY_SIZE = 8 * 1024;
/** Holding the backlog in memory would take over 800 MB; the bound leaves room for GC slack. */
const RSS_BOUND_MB = 250;

let child: ChildProcess | undefined;
let dataDir = "";
afterAll(async () => {
  child?.kill("SIGKILL");
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const freePort = () =>
  new Promise<number>((done) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => done(port));
    });
  });

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;

test("RSS stays bounded while a 100k × 8 KiB persistent backlog fills and drains", async () => {
  dataDir = await mkdtemp(join(tmpdir(), "warren-backlog-"));
  const port = await freePort();
  const [command, ...pre] = warrenCommand(); // bun src/main.ts, or what WARREN_RUNTIME / WARREN_CMD choose
  const proc = spawn(command!, [
    ...pre,
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--data-dir",
    dataDir,
    "--log-level",
    "info",
    "--http-port",
    "0",
    "--metrics-port",
    "0",
  ], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  child = proc;
  await new Promise<void>((ready, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error(`no startup line: ${out}`)), 30_000);
    proc.stdout!.on("data", (chunk) => {
      out += chunk;
      if (out.includes("Server startup complete")) {
        clearTimeout(timer);
        ready();
      }
    });
  });
  const pid = proc.pid!;
  let peak = rssMb(pid);
  // The sampler must stop by itself if the process is gone (a timed-out test never reaches finally).
  const sample = setInterval(() => {
    try {
      peak = Math.max(peak, rssMb(pid));
    } catch {
      clearInterval(sample);
    }
  }, 50);
  try {
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue("backlog", { durable: true });
    const body = Buffer.alloc(BODY_SIZE, 7);
    for (let i = 0; i < MESSAGES; i++) {
      if (!ch.publish("", "backlog", body, { persistent: true })) await new Promise((r) => ch.once("drain", r));
      if (i % 5_000 === 4_999) await ch.waitForConfirms();
    }
    await ch.waitForConfirms();
    expect((await ch.checkQueue("backlog")).messageCount).toBe(MESSAGES);
    const afterFill = peak;
    let drained = 0;
    await ch.prefetch(1000);
    await new Promise<void>((done) => {
      void ch.consume("backlog", (m) => {
        if (!m) return;
        if (++drained % 500 === 0 || drained === MESSAGES) ch.ack(m, true);
        if (drained === MESSAGES) done();
      });
    });
    await conn.close();
    console.log(`backlog of ${MESSAGES}: peak RSS ${afterFill.toFixed(0)} MB while filling, ${peak.toFixed(0)} MB overall`);
    expect(peak).toBeLessThan(RSS_BOUND_MB);
  } finally {
    clearInterval(sample);
  }
});
