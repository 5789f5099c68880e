// Differential tests for the connection layer: every scenario in connection_scenarios.ts runs
// over a raw socket against Warren and, when RABBITMQ_REF_URL is set, against RabbitMQ. Both are
// held to the same recorded outcome (reply code and class/method ids of connection.close, a
// protocol-header answer, a silent socket close, or the awaited method), so a difference between
// the two brokers fails one side; `warren` overrides in the table are deliberate differences.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { referenceBroker, startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { describeOutcome, expectServing, observe, type Outcome } from "../helpers/observe.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { comparable, type Scenario, scenarios } from "./connection_scenarios.ts";

// bunfig.toml's [test] timeout is not applied by this Bun; set it here.
setDefaultTimeout(30_000);

const REF = referenceBroker();
if (!REF) console.warn("RABBITMQ_REF_URL unset: skipping differential tests against RabbitMQ");

interface Target {
  host: string;
  port: number;
  user: string;
  pass: string;
}

/** Runs one scenario on a fresh socket; returns what the client saw. */
async function run(s: Scenario, t: Target): Promise<{ outcome: Outcome; client: RawClient }> {
  const c = await RawClient.connect(t.port, t.host);
  try {
    if (s.setup !== "socket") {
      const opts = typeof s.setup === "object" ? s.setup : {};
      const result = await c.handshake({ user: t.user, pass: t.pass, ...opts });
      if (result.close && typeof s.setup !== "object") throw new Error(`handshake refused: ${result.close.replyText}`);
      if (s.setup === "channel") await c.openChannel(1);
    }
    await s.act(c);
    const outcome = await observe(c, { ...(s.until !== undefined ? { until: s.until } : {}), timeoutMs: s.timeoutMs ?? 6000 });
    return { outcome, client: c };
  } catch (err) {
    c.destroy();
    throw err;
  }
}

async function check(s: Scenario, t: Target, which: "rabbitmq" | "warren") {
  const expected = which === "warren" && s.warren ? s.warren.expected : s.rabbitmq;
  const { outcome, client } = await run(s, t);
  try {
    const seen = comparable(outcome, expected);
    if (JSON.stringify(seen) !== JSON.stringify(expected)) {
      console.warn(`[${which}] ${s.name}: saw ${describeOutcome(outcome)}; received ${client.describe()}`);
    }
    expect(seen).toEqual(expected);
    if (outcome.kind === "close") {
      // We answered close-ok: the server must now close the socket.
      expect(await client.closedWithin(5000)).toBe(true);
    }
  } finally {
    client.destroy();
  }
}

/** Room for the observation, the close that follows it and the serving check. */
const testTimeout = (s: Scenario) => (s.timeoutMs ?? 6000) + 15_000;

const titled = (s: Scenario) => (s.warren ? `${s.name} [deliberate difference: ${s.warren.reason}]` : s.name);

describe.concurrent("connection errors: Warren matches RabbitMQ 3.10.8", () => {
  let b: TestBroker;
  beforeAll(async () => {
    // RabbitMQ's handshake timeout is 10 s; a shorter one keeps this run fast, same outcome.
    b = await startTestBroker({ handshakeTimeoutMs: 1000 });
  });
  afterAll(async () => {
    await b.stop();
  });

  for (const s of scenarios) {
    test(titled(s), async () => {
      await check(s, { host: "127.0.0.1", port: b.port, user: "guest", pass: "guest" }, "warren");
      await expectServing(b.port);
    }, testTimeout(s));
  }
});

describe.concurrent.skipIf(!REF)("connection errors: RabbitMQ reference behaves as recorded", () => {
  for (const s of scenarios) {
    test(s.name, async () => {
      await check(s, REF!, "rabbitmq");
    }, testTimeout(s));
  }
});
