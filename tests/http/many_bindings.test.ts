// Many bindings, exchanges, connections and channels at once through the management API. One
// object's bindings are found through each exchange's index, not by listing the vhost's; they must
// be exactly what filtering the whole list gives, in the same order. The long lists are serialised a
// slice per turn; their text must be what JSON.stringify gives in one go. A big definitions import
// is declared a slice per turn too: other requests are answered while it runs.
import { afterAll, beforeAll, expect, test } from "bun:test";
import amqp from "amqplib";
import { jsonObjectInSlices } from "../../src/http/json_slices.ts";
import type { Json } from "../../src/http/json.ts";
import { columnPaths, pick, sortBy } from "../../src/http/list_params.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { TurnCounter } from "../helpers/turns.ts";

const QUEUES = 600;
const EXCHANGES = 120;
const CONNECTIONS = 40;
const auth = { authorization: `Basic ${btoa("guest:guest")}` };

interface Binding {
  source: string;
  destination: string;
  destination_type: string;
  routing_key: string;
  arguments: Record<string, unknown>;
  properties_key: string;
}

let tb: TestBroker;
let conn: amqp.ChannelModel;
const clients: amqp.ChannelModel[] = [];
const get = async (path: string) => {
  const res = await fetch(`${tb.httpUrl}/api/${path}`, { headers: auth });
  expect(res.status).toBe(200);
  return res.text();
};

beforeAll(async () => {
  tb = await startTestBroker();
  conn = await amqp.connect(tb.url);
  const ch = await conn.createChannel();
  const types = ["direct", "topic", "headers", "fanout"];
  const pending: Promise<unknown>[] = [];
  for (let x = 0; x < EXCHANGES; x++) pending.push(ch.assertExchange(`bx-${x}`, types[x % 4]!, { durable: x % 2 === 0 }));
  for (let q = 0; q < QUEUES; q++) pending.push(ch.assertQueue(`bq-${q}`, { durable: q % 2 === 0 }));
  await Promise.all(pending);
  pending.length = 0;
  for (let q = 0; q < QUEUES; q++) {
    // Each queue: two keys on amq.direct (bound out of their listed order), and three exchanges of
    // the test, one with arguments.
    pending.push(ch.bindQueue(`bq-${q}`, "amq.direct", `z${q}`), ch.bindQueue(`bq-${q}`, "amq.direct", `k${q % 50}`));
    for (const x of [q % EXCHANGES, (q * 7) % EXCHANGES, (q * 13 + 5) % EXCHANGES]) {
      pending.push(ch.bindQueue(`bq-${q}`, `bx-${x}`, `r.${q % 9}`, x % 4 === 2 ? { "x-match": "any", n: q % 3 } : {}));
    }
  }
  // Exchange to exchange, both ways between some pairs.
  for (let x = 0; x < EXCHANGES; x++) pending.push(ch.bindExchange(`bx-${(x * 11 + 3) % EXCHANGES}`, `bx-${x}`, `e.${x % 5}`));
  await Promise.all(pending);
  for (let i = 0; i < CONNECTIONS; i++) {
    const client = await amqp.connect(tb.url);
    clients.push(client);
    const c1 = await client.createChannel();
    await client.createChannel();
    await c1.consume(`bq-${i}`, () => {});
  }
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await conn.close().catch(() => {});
  await tb.stop();
});

test(`one queue's and one exchange's bindings are the whole list filtered, in order (${QUEUES} queues, ${EXCHANGES} exchanges)`, async () => {
  const all = JSON.parse(await get("bindings/%2F")) as Binding[];
  expect(all.length).toBeGreaterThan(QUEUES * 6);
  for (let q = 0; q < QUEUES; q += 37) {
    const expected = all.filter((b) => b.destination_type === "queue" && b.destination === `bq-${q}`);
    expect(expected.length).toBeGreaterThanOrEqual(4); // the default exchange's, amq.direct's two, the test's
    expect(JSON.parse(await get(`queues/%2F/bq-${q}/bindings`))).toEqual(expected);
  }
  for (let x = 0; x < EXCHANGES; x += 13) {
    const expected = all.filter((b) => b.destination_type === "exchange" && b.destination === `bx-${x}`);
    expect(expected.length).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(await get(`exchanges/%2F/bx-${x}/bindings/destination`))).toEqual(expected);
  }
});

test("the bindings between an exchange and a destination are the whole list filtered", async () => {
  const all = JSON.parse(await get("bindings/%2F")) as Binding[];
  const pairs: [string, string, string][] = [["amq.default", "q", "bq-3"], ["amq.direct", "q", "bq-3"], ["amq.direct", "q", "bq-4"]];
  for (let q = 0; q < QUEUES; q += 53) pairs.push([`bx-${q % EXCHANGES}`, "q", `bq-${q}`], [`bx-${(q + 1) % EXCHANGES}`, "q", `bq-${q}`]);
  for (let x = 0; x < EXCHANGES; x += 17) pairs.push([`bx-${x}`, "e", `bx-${(x * 11 + 3) % EXCHANGES}`], [`bx-${x}`, "e", `bx-${x}`]);
  let found = 0;
  for (const [source, kind, destination] of pairs) {
    const expected = all.filter((b) =>
      b.source === (source === "amq.default" ? "" : source) && b.destination === destination &&
      b.destination_type === (kind === "q" ? "queue" : "exchange")
    );
    found += expected.length;
    const listed = JSON.parse(await get(`bindings/%2F/e/${source}/${kind}/${destination}`)) as Binding[];
    expect(listed).toEqual(expected);
    for (const b of listed) {
      const one = await get(`bindings/%2F/e/${source}/${kind}/${destination}/${encodeURIComponent(b.properties_key)}`);
      expect(JSON.parse(one)).toEqual(b);
    }
  }
  expect(found).toBeGreaterThan(pairs.length / 2); // most pairs are bound
});

test("the long lists are JSON.stringify's text and hold every object once", async () => {
  const canonical = (text: string) => expect(text).toBe(JSON.stringify(JSON.parse(text)));
  const names = (text: string) => (JSON.parse(text) as { name: string }[]).map((x) => x.name);
  const exchanges = await get("exchanges/%2F");
  canonical(exchanges);
  expect(names(exchanges).filter((n) => n.startsWith("bx-")).length).toBe(EXCHANGES);
  expect(names(exchanges)).toEqual([...names(exchanges)].sort());
  canonical(await get("bindings"));
  const definitions = await get("definitions");
  canonical(definitions);
  const parsed = JSON.parse(definitions) as { queues: unknown[]; bindings: unknown[]; users: unknown[] };
  expect(parsed.queues.length).toBeGreaterThanOrEqual(QUEUES);
  expect(parsed.bindings.length).toBeGreaterThan(QUEUES * 5);
  expect(parsed.users.length).toBeGreaterThanOrEqual(1);
  canonical(await get("definitions/%2F"));
  const connections = await get("connections");
  canonical(connections);
  expect(names(connections).length).toBeGreaterThanOrEqual(CONNECTIONS + 1);
  expect(names(connections)).toEqual([...names(connections)].sort());
  const channels = await get("channels");
  canonical(channels);
  expect(names(channels).length).toBeGreaterThanOrEqual(CONNECTIONS * 2);
  expect(names(channels)).toEqual([...names(channels)].sort());
  const consumers = JSON.parse(await get("consumers")) as { queue: { name: string } }[];
  expect(consumers.map((c) => c.queue.name).filter((n) => n.startsWith("bq-")).sort()).toEqual(
    Array.from({ length: CONNECTIONS }, (_, i) => `bq-${i}`).sort(),
  );
  // The list parameters still apply.
  const paged = JSON.parse(await get("exchanges/%2F?page=2&page_size=10&columns=name")) as { items: { name: string }[] };
  expect(paged.items.map((x) => x.name)).toEqual(names(exchanges).slice(10, 20));
});

test("jsonObjectInSlices gives JSON.stringify's text, its arrays a slice per turn", async () => {
  const object = {
    version: "1",
    skipped: undefined,
    queues: Array.from({ length: 1_600 }, (_, i) => ({ name: `q${i}`, args: {}, gone: undefined })),
    empty: [],
    nested: { a: [1, 2] },
  };
  const turns = new TurnCounter();
  const text = await jsonObjectInSlices(object);
  turns.stop();
  expect(text).toBe(JSON.stringify(object));
  expect(turns.turns).toBeGreaterThanOrEqual(3); // 4 slices: 3 waits
});

test("a definitions import of 10,000 queues and bindings is declared over many turns, and all of it lands", async () => {
  const IMPORTED = 10_000;
  const vhost = "imported";
  const definitions = {
    vhosts: [{ name: vhost }],
    permissions: [{ user: "guest", vhost, configure: ".*", write: ".*", read: ".*" }],
    exchanges: [{ name: "imp-x", vhost, type: "direct", durable: true, auto_delete: false, internal: false, arguments: {} }],
    queues: Array.from({ length: IMPORTED }, (_, i) => ({ name: `imp-${i}`, vhost, durable: true, auto_delete: false, arguments: {} })),
    bindings: Array.from({ length: IMPORTED }, (_, i) => ({
      source: "imp-x",
      vhost,
      destination: `imp-${i}`,
      destination_type: "queue",
      routing_key: `k${i}`,
      arguments: {},
    })),
  };
  const totals = async () => {
    const overview = JSON.parse(await get("overview")) as { object_totals: { queues: number } };
    return overview.object_totals.queues;
  };
  const before = await totals();
  let done = false;
  const importing = fetch(`${tb.httpUrl}/api/definitions`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify(definitions),
  }).finally(() => (done = true));
  // Overviews answered while the import runs see its queues appear a slice at a time.
  const seen: number[] = [];
  while (!done) seen.push(await totals());
  expect((await importing).status).toBe(204);
  expect(seen.some((n) => n > before && n < before + IMPORTED)).toBe(true);
  expect(await totals()).toBe(before + IMPORTED);
  const bindings = JSON.parse(await get(`bindings/${vhost}`)) as Binding[];
  expect(bindings.filter((b) => b.source === "imp-x").length).toBe(IMPORTED);
  // A second import of the same changes nothing and still succeeds.
  const again = await fetch(`${tb.httpUrl}/api/definitions`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify(definitions),
  });
  expect(again.status).toBe(204);
  expect(await totals()).toBe(before + IMPORTED);
});

test("sort, sort_reverse and columns on the long lists give what the middleware gives over the whole list", async () => {
  const cases: [string, string][] = [
    ["queues", "columns=name,messages"],
    ["queues", "sort=name&sort_reverse=true&columns=name,vhost"],
    ["queues", "sort=durable&columns=name,durable,arguments.x-queue-type"],
    ["exchanges/%2F", "sort=type&columns=name,type"],
    ["exchanges", "sort_reverse=true"],
    ["bindings/%2F", "sort=routing_key&columns=source,destination,routing_key"],
    ["connections", "sort=name&sort_reverse=true&columns=name,channels"],
    ["channels", "columns=name,consumer_count"],
    ["consumers", "sort=consumer_tag&columns=consumer_tag,queue.name"],
  ];
  for (const [path, query] of cases) {
    const whole = JSON.parse(await get(path)) as Json[];
    const q = new URLSearchParams(query);
    let expected: Json[] = whole;
    if (q.get("sort") !== null) expected = sortBy(expected, q.get("sort")!, q.get("sort_reverse") === "true");
    else if (q.get("sort_reverse") === "true") expected = [...expected].reverse();
    const columns = columnPaths(q.get("columns") ?? undefined);
    if (columns) expected = expected.map((item) => pick(item, columns));
    const text = await get(`${path}?${query}`);
    expect(text).toBe(JSON.stringify(JSON.parse(text)));
    expect(JSON.parse(text)).toEqual(expected);
  }
});
