// GET /api/queues?page=… sorted by name or vhost pages the queues before formatting them (so a
// page of 10,000 queues is cheap); sorted by another field it formats them a slice per turn and
// pages them itself. Either way it must answer exactly what paging the formatted list answers.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api } from "../helpers/http.ts";

let tb: TestBroker;

beforeAll(async () => {
  tb = await startTestBroker();
  await api(tb.httpUrl, "PUT", "/api/vhosts/pages-vh", {});
  for (let i = 0; i < 23; i++) {
    const vhost = i % 2 ? "%2F" : "pages-vh";
    const name = `pq-${String((i * 7) % 23).padStart(2, "0")}`;
    await api(tb.httpUrl, "PUT", `/api/queues/${vhost}/${name}`, {});
    // Message counts that tie and differ, so a sort by messages has something to order.
    for (let m = 0; m < i % 4; m++) {
      const message = { properties: {}, routing_key: name, payload: "x", payload_encoding: "string" };
      await api(tb.httpUrl, "POST", `/api/exchanges/${vhost}/amq.default/publish`, message);
    }
  }
});
afterAll(async () => {
  await tb.stop();
});

/** What paging the whole formatted list gives (the middleware's path). */
async function expected(query: Record<string, string>) {
  const all = (await api(
    tb.httpUrl,
    "GET",
    `/api/queues?${new URLSearchParams({
      ...(query.sort ? { sort: query.sort } : {}),
      ...(query.sort_reverse ? { sort_reverse: query.sort_reverse } : {}),
      columns: "name,vhost,messages",
    })}`,
  )).body as { name: string; vhost: string; messages: number }[];
  const re = query.use_regex === "true" ? new RegExp(query.name ?? "") : undefined;
  const filtered = query.name ? all.filter((q) => (re ? re.test(q.name) : q.name.includes(query.name!))) : all;
  const page = Number(query.page), size = Number(query.page_size ?? 100);
  const items = filtered.slice((page - 1) * size, page * size);
  return {
    filtered_count: filtered.length,
    item_count: items.length,
    items,
    page,
    page_count: Math.max(1, Math.ceil(filtered.length / size)),
    page_size: size,
    total_count: all.length,
  };
}

for (
  const query of [
    { page: "1", page_size: "5" },
    { page: "3", page_size: "5", sort: "name" },
    { page: "2", page_size: "4", sort: "name", sort_reverse: "true" },
    { page: "1", page_size: "100", sort: "vhost" },
    { page: "1", page_size: "3", sort_reverse: "true" },
    { page: "1", page_size: "10", name: "pq-1" },
    { page: "1", page_size: "10", name: "^pq-(0|2)[0-4]$", use_regex: "true", sort: "name", sort_reverse: "true" },
    { page: "9", page_size: "10" },
    { page: "1", page_size: "7", sort: "messages" },
    { page: "2", page_size: "7", sort: "messages", sort_reverse: "true" },
    { page: "1", page_size: "5", sort: "messages", name: "pq-1" },
    { page: "1", page_size: "100", sort: "consumers", sort_reverse: "true", name: "[13]$", use_regex: "true" },
  ]
) {
  test(`a queue page before formatting equals paging the formatted list: ${new URLSearchParams(query)}`, async () => {
    const got = await api(tb.httpUrl, "GET", `/api/queues?${new URLSearchParams({ ...query, columns: "name,vhost,messages" })}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(await expected(query));
  });
}

test("the name filter sees names when columns leave them out (RabbitMQ pages queues before picking columns)", async () => {
  const got = await api(tb.httpUrl, "GET", "/api/queues?page=1&page_size=5&sort=messages&name=pq-2&columns=messages");
  expect(got.status).toBe(200);
  expect(got.body.filtered_count).toBe(3); // pq-20, pq-21, pq-22
  expect(Object.keys(got.body.items[0])).toEqual(["messages"]);
});

test("a bad regular expression in the name filter is a 400 naming it", async () => {
  const got = await api(tb.httpUrl, "GET", "/api/queues?page=1&name=(&use_regex=true");
  expect(got.status).toBe(400);
  expect(got.body.reason).toContain("name is not a valid regular expression");
});

test("bad page parameters are a 400 naming them, also where every queue would be formatted first", async () => {
  for (
    const [query, reason] of [
      ["page=0&sort=messages", "page must be a positive integer"],
      ["page=1&page_size=501&sort=messages", "page_size must be an integer from 1 to 500"],
      ["page=1&sort=messages&name=(&use_regex=true", "name is not a valid regular expression"],
      ["page=x", "page must be a positive integer"],
    ]
  ) {
    const got = await api(tb.httpUrl, "GET", `/api/queues?${query}`);
    expect({ query, status: got.status }).toEqual({ query, status: 400 });
    expect(got.body.reason).toContain(reason);
  }
  const exchanges = await api(tb.httpUrl, "GET", "/api/exchanges?page=-1");
  expect(exchanges.status).toBe(400);
});
