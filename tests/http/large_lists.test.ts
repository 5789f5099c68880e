// Answers about many queues are built a slice per turn of the event loop (GET /api/queues,
// /metrics/per-object), so other connections are served meanwhile; the text is what building it in
// one go gives: every queue once, each metric family's HELP and TYPE once, in order.
import { afterAll, beforeAll, expect, test } from "bun:test";
import amqp from "amqplib";
import { jsonInSlices } from "../../src/http/json_slices.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { TurnCounter } from "../helpers/turns.ts";

const QUEUES = 2_500; // five slices of the list, three of the metrics

let tb: TestBroker;
let conn: amqp.ChannelModel;
const names = Array.from({ length: QUEUES }, (_, i) => `many-${String(i).padStart(5, "0")}`);

beforeAll(async () => {
  tb = await startTestBroker();
  conn = await amqp.connect(tb.url);
  const ch = await conn.createChannel();
  await Promise.all(names.map((q) => ch.assertQueue(q, { durable: false })));
  await ch.close();
});
afterAll(async () => {
  await conn.close().catch(() => {});
  await tb.stop();
});

test("jsonInSlices gives JSON.stringify's text, a slice per turn", async () => {
  const items = Array.from({ length: 2_000 }, (_, i) => i);
  const format = (i: number) => ({ n: i, name: `q${i}`, gone: undefined, nested: { a: [i, null] } });
  const turns = new TurnCounter();
  const text = await jsonInSlices(items, format);
  turns.stop();
  expect(text).toBe(JSON.stringify(items.map(format)));
  expect(turns.turns).toBeGreaterThanOrEqual(3); // 4 slices: 3 waits
  expect(await jsonInSlices([], format)).toBe("[]");
});

test(`GET /api/queues lists ${QUEUES} queues once each, in order`, async () => {
  const res = await fetch(`${tb.httpUrl}/api/queues/%2F`, { headers: { authorization: `Basic ${btoa("guest:guest")}` } });
  expect(res.headers.get("content-type")).toContain("application/json");
  const text = await res.text();
  const listed = (JSON.parse(text) as { name: string }[]).map((q) => q.name).filter((n) => n.startsWith("many-"));
  expect(listed).toEqual(names);
  expect(text).toBe(JSON.stringify(JSON.parse(text)));
  // The list parameters still apply to it.
  const sorted = await fetch(`${tb.httpUrl}/api/queues/%2F?sort=name&sort_reverse=true&columns=name`, {
    headers: { authorization: `Basic ${btoa("guest:guest")}` },
  });
  const reversed = (await sorted.json() as { name: string }[]).map((q) => q.name).filter((n) => n.startsWith("many-"));
  expect(reversed).toEqual([...names].reverse());
});

test(`/metrics/per-object has each family once and a sample per queue for ${QUEUES} queues`, async () => {
  const text = await (await fetch(`http://127.0.0.1:${tb.metricsPort}/metrics/per-object`)).text();
  const types = text.split("\n").filter((l) => l.startsWith("# TYPE "));
  expect(new Set(types).size).toBe(types.length);
  for (const family of ["rabbitmq_queue_messages_ready", "rabbitmq_queue_messages_bytes", "rabbitmq_queue_consumers"]) {
    const lines = text.split("\n").filter((l) => l.startsWith(`${family}{`));
    const queues = lines.map((l) => /queue="([^"]*)"/.exec(l)![1]!).filter((n) => n.startsWith("many-"));
    expect(queues).toEqual(names);
    // The family's samples are together, right after its TYPE and HELP lines.
    const all = text.split("\n");
    const first = all.indexOf(`# TYPE ${family} gauge`);
    expect(all.slice(first + 2, first + 2 + lines.length).every((l) => l.startsWith(`${family}{`))).toBe(true);
  }
});
