// Crash safety: publishers with confirms and a consumer acking run at full speed; the broker is
// killed with SIGKILL at a random moment and restarted on the same data dir, 20 times. After
// each restart:
//   - every confirmed message is either still in the queue or was delivered before the crash;
//   - no message whose ack is known to be committed comes back;
//   - nothing is duplicated in the queue, and nothing unknown appears.
// An ack is known to be committed when a persistent publish confirmed on the same connection
// followed it: confirms wait for the group commit, which includes every earlier ack.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import amqp from "amqplib";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crashCycle, random } from "../helpers/crash_cycle.ts";
import { spawnBroker, type SpawnedBroker } from "../helpers/spawned_broker.ts";

setDefaultTimeout(180_000);

const CYCLES = 20;

let broker: SpawnedBroker | undefined;
let dataDir = "";
afterAll(async () => {
  await broker?.kill9();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test(`${CYCLES} kill -9 cycles lose no confirmed message and resurrect no committed ack`, async () => {
  dataDir = await mkdtemp(join(tmpdir(), "warren-crash-"));
  const rand = random(42);
  let totalConfirmed = 0;
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const { confirmed, ...violations } = await crashCycle(dataDir, cycle, rand, (b) => (broker = b));
    expect({ cycle, ...violations }).toEqual({ cycle, lost: [], resurrected: [], unknown: [], duplicates: 0 });
    totalConfirmed += confirmed;
  }
  expect(totalConfirmed).toBeGreaterThan(0); // the load really ran
});

test("a crash during recovery loses nothing: kill -9 while booting on a 50k-message store", async () => {
  const dir = await mkdtemp(join(tmpdir(), "warren-crash-boot-"));
  try {
    broker = await spawnBroker(dir);
    const conn = await amqp.connect(broker.url);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue("boot-q", { durable: true });
    for (let i = 0; i < 50_000; i++) ch.publish("", "boot-q", Buffer.from(`b${i}`), { persistent: true });
    await ch.waitForConfirms();
    await conn.close();
    await broker.kill9();
    // Kill it at several points of its boot, then let one boot finish.
    const { spawn } = await import("node:child_process");
    for (const delayMs of [5, 20, 40, 80, 120]) {
      const child = spawn(join(import.meta.dir, "../../node_modules/.bin/bun"), [join(import.meta.dir, "../../src/main.ts"), "--port", "0", "--bind", "127.0.0.1", "--data-dir", dir], { stdio: "ignore" });
      await new Promise((r) => setTimeout(r, delayMs));
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
    }
    broker = await spawnBroker(dir);
    const c2 = await amqp.connect(broker.url);
    const ch2 = await c2.createChannel();
    expect((await ch2.checkQueue("boot-q")).messageCount).toBe(50_000);
    const first = await ch2.get("boot-q", { noAck: true });
    expect(first && first.content.toString()).toBe("b0");
    await c2.close();
    await broker.kill9();
    broker = undefined;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
