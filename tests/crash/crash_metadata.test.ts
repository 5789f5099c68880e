// Durable topology changes survive kill -9 once the client has their reply: a client that got
// exchange.declare-ok / queue.declare-ok / queue.bind-ok for durable things, or delete-ok, and
// then sees the broker crash, finds the same topology after the restart (RabbitMQ answers these
// methods only after its metadata transaction is done). One method at a time runs at full speed;
// the broker is SIGKILLed at a seeded random moment; only the method in flight at the kill may
// go either way.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import amqp, { type ChannelModel } from "amqplib";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seeded, sleep, within } from "../helpers/crash_harness.ts";
import { killAllWarrens, spawnWarren, type WarrenProcess } from "../helpers/warren_process.ts";

setDefaultTimeout(100_000);

const CYCLES = 30;
const SEED = Number(process.env.WARREN_CRASH_SEED ?? 7);

let dir = "";
afterAll(async () => {
  await killAllWarrens();
  if (dir) await rm(dir, { recursive: true, force: true });
});

type Kind = "exchange" | "queue" | "binding";
interface Op {
  kind: Kind;
  name: string;
  /** The state the reply confirms. */
  exists: boolean;
  run: (ch: amqp.Channel) => Promise<unknown>;
}

/** Unit j: declare x_j and q_j, bind q_j to x_j, delete q_{j-1} (with its binding), delete x_{j-1}. */
function opsFor(prefix: string, j: number): Op[] {
  const x = (k: number) => `${prefix}.x${k}`;
  const q = (k: number) => `${prefix}.q${k}`;
  const ops: Op[] = [
    { kind: "exchange", name: x(j), exists: true, run: (ch) => ch.assertExchange(x(j), "direct", { durable: true }) },
    { kind: "queue", name: q(j), exists: true, run: (ch) => ch.assertQueue(q(j), { durable: true }) },
    { kind: "binding", name: `${x(j)}>${q(j)}`, exists: true, run: (ch) => ch.bindQueue(q(j), x(j), "k") },
  ];
  if (j > 0) {
    ops.push({ kind: "queue", name: q(j - 1), exists: false, run: (ch) => ch.deleteQueue(q(j - 1)) });
    ops.push({ kind: "exchange", name: x(j - 1), exists: false, run: (ch) => ch.deleteExchange(x(j - 1)) });
  }
  return ops;
}

async function exists(conn: ChannelModel, kind: "exchange" | "queue", name: string): Promise<boolean> {
  const ch = await conn.createChannel();
  ch.on("error", () => {});
  try {
    if (kind === "exchange") await ch.checkExchange(name);
    else await ch.checkQueue(name);
    await ch.close();
    return true;
  } catch {
    return false;
  }
}

/** Whether a mandatory publish to `exchange` with key "k" is routed (not returned). */
async function routes(conn: ChannelModel, exchange: string): Promise<boolean> {
  const ch = await conn.createConfirmChannel();
  let returned = false;
  ch.on("return", () => (returned = true));
  ch.publish(exchange, "k", Buffer.from("probe"), { mandatory: true });
  await ch.waitForConfirms();
  await ch.close();
  return !returned;
}

test(`durable declare/bind/delete replies hold across kill -9 (${CYCLES} cycles)`, async () => {
  dir = await mkdtemp(join(tmpdir(), "warren-crash-meta-"));
  const rand = seeded(SEED);
  let broker: WarrenProcess = await spawnWarren({ dataDir: dir });
  const violations: string[] = [];
  let replies = 0;
  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    const prefix = `m${cycle}`;
    /** Last confirmed state per entity; the op in flight at the kill is left out. */
    const state = new Map<string, { kind: Kind; exists: boolean }>();
    let inFlight: Op | undefined;
    let stopped = false;
    const conn = await within(amqp.connect(broker.url), 15_000, "connecting");
    conn.on("error", () => {});
    const ch = await conn.createChannel();
    ch.on("error", () => {});
    const load = (async () => {
      try {
        for (let j = 0; !stopped; j++) {
          for (const op of opsFor(prefix, j)) {
            inFlight = op;
            await op.run(ch);
            state.set(`${op.kind} ${op.name}`, { kind: op.kind, exists: op.exists });
            if (op.kind === "queue" && !op.exists) state.set(`binding ${prefix}.x${j - 1}>${op.name}`, { kind: "binding", exists: false });
            inFlight = undefined;
            replies++;
          }
        }
      } catch {
        // killed
      }
    })();
    await sleep(30 + Math.round(rand() * 200));
    await broker.kill9();
    stopped = true;
    await within(load, 15_000, "the client winding down");
    const uncertain = inFlight ? `${inFlight.kind} ${inFlight.name}` : "";

    broker = await spawnWarren({ dataDir: dir });
    const check = await within(amqp.connect(broker.url), 15_000, "connecting");
    check.on("error", () => {});
    violations.push(...await within(verify(check, cycle, state, uncertain), 60_000, `checking cycle ${cycle}`));
    await check.close();
  }
  await broker.kill9();
  expect(replies).toBeGreaterThan(0);
  expect(violations).toEqual([]);
});

/** Compares the restarted broker with the confirmed state; returns what differs. */
async function verify(
  check: ChannelModel,
  cycle: number,
  state: Map<string, { kind: Kind; exists: boolean }>,
  uncertain: string,
): Promise<string[]> {
  const violations: string[] = [];
  for (const [key, want] of state) {
    if (key === uncertain) continue;
    const name = key.slice(key.indexOf(" ") + 1);
    let got: boolean;
    if (want.kind === "binding") {
      const [x, q] = name.split(">") as [string, string];
      if (`exchange ${x}` === uncertain || `queue ${q}` === uncertain) continue;
      if (!(await exists(check, "exchange", x)) || !(await exists(check, "queue", q))) {
        if (want.exists) {
          violations.push(`cycle ${cycle}: ${key} bound (bind-ok received), but its exchange or queue is gone after kill -9`);
        }
        continue;
      }
      got = await routes(check, x);
    } else {
      got = await exists(check, want.kind, name);
    }
    if (got !== want.exists) {
      violations.push(
        `cycle ${cycle}: ${key} ${
          want.exists ? "declared (declare/bind-ok received) but missing" : "deleted (delete-ok received) but back"
        } after kill -9`,
      );
    }
  }
  return violations;
}
