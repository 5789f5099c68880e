// The delayed-message plugin's parts without a network: the x-delay header rules, the in-memory
// heap's due order under removals, the durable table's counts staying equal to its rows across a
// crash (they are written in one transaction), and a broker without a durable store holding and
// releasing in memory.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AmqpError } from "../../../src/amqp/errors.ts";
import { encodeProperties } from "../../../src/amqp/spec/properties.gen.ts";
import type { FieldTable } from "../../../src/amqp/table.ts";
import { Writer } from "../../../src/amqp/writer.ts";
import { Broker } from "../../../src/broker/broker.ts";
import { Message } from "../../../src/broker/message.ts";
import { publish, Published } from "../../../src/broker/publish.ts";
import { DEFAULTS } from "../../../src/config.ts";
import { createLogger } from "../../../src/log.ts";
import { SqliteStore } from "../../../storage/sqlite_store.ts";
import { DEFAULT_MAX_DELAY_MS, releasedProperties, requestedDelay } from "../../../plugins/delayed_message/delay_header.ts";
import { DurableHeld } from "../../../plugins/delayed_message/durable_held.ts";
import type { HeldMessage } from "../../../plugins/delayed_message/held_message.ts";
import { HeldMessages } from "../../../plugins/delayed_message/held_messages.ts";
import { MemoryHeld } from "../../../plugins/delayed_message/memory_held.ts";
import { MIGRATIONS } from "../../../plugins/delayed_message/migrations.ts";
import { delayedExchangeType } from "../../../plugins/delayed_message/exchange_type.ts";

const log = createLogger("none");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function props(headers?: FieldTable, deliveryMode?: number): Uint8Array {
  const w = new Writer(64);
  encodeProperties(w, { ...(headers ? { headers } : {}), ...(deliveryMode ? { deliveryMode } : {}) });
  return w.written().slice();
}

const message = (headers?: FieldTable, deliveryMode?: number) =>
  new Message("x", "k", props(headers, deliveryMode), new Uint8Array([1, 2, 3]));

function row(id: number, due: number, exchange = "x"): HeldMessage {
  return {
    id,
    vhost: "/",
    exchange,
    due,
    delay: 10,
    publishedAt: 0,
    routingKey: "k",
    properties: props(),
    body: new Uint8Array([id & 255]),
    durable: true,
  };
}

describe("x-delay header", () => {
  const delay = (value: FieldTable[string] | undefined) =>
    requestedDelay(message(value === undefined ? undefined : { "x-delay": value }), DEFAULT_MAX_DELAY_MS);

  test("integers, floats (truncated) and numeric strings are delays; ≤ 0 and absent route at once", () => {
    expect(delay(undefined)).toBeUndefined();
    expect(delay(1500)).toBe(1500);
    expect(delay(12.9)).toBe(12);
    expect(delay("250")).toBe(250);
    expect(delay(10_000_000_000)).toBe(10_000_000_000);
    expect(delay(0)).toBeUndefined();
    expect(delay(-300)).toBeUndefined();
    expect(delay("-1")).toBeUndefined();
  });

  test("anything else is 406 naming the value; above the maximum is 406", () => {
    const text = (value: FieldTable[string], max = DEFAULT_MAX_DELAY_MS) => {
      try {
        requestedDelay(message({ "x-delay": value }), max);
        return "ok";
      } catch (err) {
        return err instanceof AmqpError ? `${err.code} ${err.message}` : String(err);
      }
    };
    expect(text("1.5s")).toBe("406 invalid x-delay header '1.5s': it must be an integer number of milliseconds");
    expect(text(true)).toBe("406 invalid x-delay header of type boolean: it must be an integer number of milliseconds");
    expect(text(null)).toContain("of type void");
    expect(text(1001, 1000)).toBe("406 x-delay header 1001 exceeds the maximum delay of 1000 ms of this exchange");
  });

  test("release writes minus the delay (a long beyond 32 bits)", () => {
    const m = message({ "x-delay": 500, other: "kept" });
    const released = new Message("x", "k", releasedProperties(m, 500), m.body);
    expect(released.props.headers).toEqual({ "x-delay": -500, other: "kept" });
    const big = new Message("x", "k", releasedProperties(m, 5_000_000_000), m.body);
    expect(big.props.headers!["x-delay"]).toBe(-5_000_000_000);
  });
});

test("the memory heap gives messages in due order, skipping removed ones", () => {
  const heap = new MemoryHeld();
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const rows = Array.from({ length: 3000 }, (_, i) => row(i + 1, Math.floor(rand() * 500)));
  for (const r of rows) heap.add(r);
  const removed = new Set(rows.filter((_, i) => i % 3 === 0).map((r) => r.id));
  for (const id of removed) expect(heap.remove(id)).toBe(true);
  expect(heap.count("/", "x")).toBe(2000);
  const out = heap.takeDue(250, 10_000);
  const expected = rows.filter((r) => !removed.has(r.id) && r.due <= 250).sort((a, b) => a.due - b.due || a.id - b.id);
  expect(out.map((r) => r.id)).toEqual(expected.map((r) => r.id));
  expect(heap.earliestDue()).toBeGreaterThan(250);
  expect(heap.count("/", "x")).toBe(2000 - expected.length);
  expect(heap.purge("/", "x")).toBe(2000 - expected.length);
  expect(heap.earliestDue()).toBeUndefined();
});

test("the durable table's counts equal its rows after a crash; boot reads counts and the earliest due only", () => {
  const dir = mkdtempSync(join(tmpdir(), "warren-delayed-unit-"));
  dirs.push(dir);
  let store = SqliteStore.open(dir, { fsync: false, log });
  let held = new DurableHeld(store.pluginTables("rabbitmq_delayed_message_exchange", MIGRATIONS));
  for (let i = 1; i <= 100; i++) held.add(row(i, 1000 - i, i % 2 ? "odd" : "even"));
  store.commit();
  held.remove(1, "/", "odd");
  held.remove(2, "/", "even");
  store.commit();
  for (let i = 101; i <= 150; i++) held.add(row(i, 5, "odd")); // never committed
  expect(held.count("/", "odd")).toBe(99);
  store.abandon();

  store = SqliteStore.open(dir, { fsync: false, log });
  held = new DurableHeld(store.pluginTables("rabbitmq_delayed_message_exchange", MIGRATIONS));
  expect(held.count("/", "odd")).toBe(49);
  expect(held.count("/", "even")).toBe(49);
  expect(held.nextMessageId()).toBe(101);
  expect(held.earliestDue()).toBe(900);
  expect(held.page("/", "odd", 0, 3).map((r) => r.id)).toEqual([99, 97, 95]);
  expect(held.due(905, 10).map((r) => r.id)).toEqual([100, 99, 98, 97, 96, 95]);
  // Dropped and declared again in one commit: the old rows lose their name, the new row is fresh.
  const oldId = held.dropExchange("/", "odd")!;
  held.add(row(200, 1, "odd"));
  store.commit();
  expect(held.count("/", "odd")).toBe(1);
  expect(held.due(1, 10).map((r) => r.row?.exchange)).toEqual(["odd"]);
  expect(held.idsOf(oldId, 1000).length).toBe(49);
  expect(held.due(905, 10).filter((r) => r.row === undefined).map((r) => r.id)).toEqual([99, 97, 95]);
  store.close();
});

test("without a durable store messages are held in memory and released through the publish pipeline", async () => {
  const broker = new Broker({ ...DEFAULTS }, log, null);
  broker.addVhost("/");
  const held = new HeldMessages(broker, undefined, log);
  const type = delayedExchangeType(broker, held);
  broker.exchangeTypes.register(type, "test");
  held.start();
  const vhost = broker.vhosts.get("/")!;
  const exchange = vhost.declareExchange("dx", "x-delayed-message", true, false, false, { "x-delayed-type": "fanout" });
  const queue = vhost.declareQueue({ name: "dq", durable: true, exclusive: false, autoDelete: false, args: {} }, {});
  vhost.bind(exchange, queue, "", {});
  const ctx = { scope: vhost, confirm: true, queues: new Set<never>() };
  const persistent = new Message("dx", "k", props({ "x-delay": 30 }, 2), new Uint8Array([9]));
  expect(publish(ctx, exchange, persistent, false)).toBe(Published.memory); // nothing to wait for
  expect(held.count("/", "dx")).toBe(1);
  expect(queue.messageCount).toBe(0);
  await Bun.sleep(100);
  expect(queue.messageCount).toBe(1);
  expect(held.count("/", "dx")).toBe(0);
  held.stop();
});
