// columns, sort, sort_reverse and pagination on management API listings.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createManagementApp, type ManagementApp } from "../../src/http/app.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api } from "../helpers/http.ts";

let tb: TestBroker;
let app: ManagementApp;

beforeAll(async () => {
  tb = await startTestBroker();
  app = createManagementApp(tb.broker);
  for (const name of ["http-c", "http-a", "http-b"]) await api(app, "PUT", `/api/queues/%2F/${name}`, { durable: name !== "http-b" });
});
afterAll(() => tb.stop());

test("columns keeps the named fields, dotted names reach into objects", async () => {
  const r = await api(app, "GET", "/api/queues/%2F?columns=name,durable,message_stats.publish");
  expect(r.body).toEqual([{ name: "http-a", durable: true }, { name: "http-b", durable: false }, { name: "http-c", durable: true }]);
  expect((await api(app, "GET", "/api/overview?columns=object_totals.queues")).body).toEqual({ object_totals: { queues: 3 } });
});

test("sort and sort_reverse order a list by a field", async () => {
  const r = await api(app, "GET", "/api/queues/%2F?columns=name&sort=name&sort_reverse=true");
  expect(r.body.map((q: { name: string }) => q.name)).toEqual(["http-c", "http-b", "http-a"]);
});

test("page and page_size give RabbitMQ's page object; name filters", async () => {
  const r = await api(app, "GET", "/api/queues/%2F?page=2&page_size=2&columns=name");
  expect(r.body).toEqual({
    filtered_count: 3,
    item_count: 1,
    items: [{ name: "http-c" }],
    page: 2,
    page_count: 2,
    page_size: 2,
    total_count: 3,
  });
  const f = await api(app, "GET", "/api/queues/%2F?page=1&name=http-b&columns=name");
  expect(f.body.items).toEqual([{ name: "http-b" }]);
  expect((await api(app, "GET", "/api/queues/%2F?page=0")).status).toBe(400);
});
