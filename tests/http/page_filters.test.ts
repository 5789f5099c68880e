// Pages of queues and exchanges filtered by name (`page`, `name`, `use_regex`), as the web
// consoles and rabbitmqadmin ask for them: the same assertions on Warren and, when
// RABBITMQ_REF_HTTP is set, on the reference RabbitMQ. Its filter ignores case either way
// (rabbit_mgmt_util:match_value) and sees names even when `columns` leaves them out.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api } from "../helpers/http.ts";
import { httpSides } from "../helpers/http_sides.ts";

setDefaultTimeout(30_000);

if (!process.env.RABBITMQ_REF_HTTP) console.warn("RABBITMQ_REF_HTTP unset: page filter tests run against Warren only");

let b: TestBroker;
beforeAll(async () => {
  b = await startTestBroker();
});
afterAll(async () => {
  await b.stop();
});

// Names unique to this run (the reference is shared), lower case so the upper-case filters below differ.
const p = `pf${process.pid}x${Date.now().toString(36)}`;
const P = p.toUpperCase();
const QUEUES = [`${p}-AbcQ`, `${p}-abcq`, `${p}-XYZ`, `${p}-xyz-Abc`];
const EXCHANGES = [`${p}-Fan`, `${p}-fanout2`, `${p}-direct`];

for (const side of httpSides(() => b.httpUrl)) {
  describe(`${side.name}: pages filtered by name`, () => {
    const call = (method: string, path: string, body?: unknown) => api(side.base(), method, path, body, side.auth);
    const page = async (path: string, query: Record<string, string>) => {
      const got = await call("GET", `${path}?${new URLSearchParams({ page: "1", page_size: "100", ...query })}`);
      expect(got.status).toBe(200);
      return got.body as { filtered_count: number; items: Record<string, unknown>[] };
    };
    beforeAll(async () => {
      for (const q of QUEUES) expect((await call("PUT", `/api/queues/%2F/${q}`, { durable: false })).status).toBe(201);
      for (const x of EXCHANGES) {
        const type = x.endsWith("direct") ? "direct" : "fanout";
        expect((await call("PUT", `/api/exchanges/%2F/${x}`, { type, durable: false })).status).toBe(201);
      }
    });
    afterAll(async () => {
      for (const q of QUEUES) await call("DELETE", `/api/queues/%2F/${q}`);
      for (const x of EXCHANGES) await call("DELETE", `/api/exchanges/%2F/${x}`);
    });

    test("a substring ignores case", async () => {
      const got = await page("/api/queues/%2F", { name: `${P}-ABC`, columns: "name" });
      expect(got.items.map((q) => q.name)).toEqual([`${p}-AbcQ`, `${p}-abcq`]);
      expect(got.filtered_count).toBe(2);
    });

    test("a regular expression ignores case", async () => {
      const got = await page("/api/queues/%2F", { name: `^${P}-(abc|xyz)`, use_regex: "true", columns: "name" });
      expect(got.items.map((q) => q.name)).toEqual(QUEUES.toSorted());
    });

    test("the filter sees names that columns leave out, sorted by a field that needs formatting", async () => {
      const got = await page("/api/queues/%2F", { name: `${p}-xyz`, sort: "messages", columns: "durable" });
      expect(got.filtered_count).toBe(2);
      expect(got.items).toEqual([{ durable: false }, { durable: false }]);
    });

    test("exchanges: the same filter, with and without the name column", async () => {
      const named = await page("/api/exchanges/%2F", { name: `${P}-FAN`, columns: "name,type" });
      expect(named.items).toEqual([{ name: `${p}-Fan`, type: "fanout" }, { name: `${p}-fanout2`, type: "fanout" }]);
      const typed = await page("/api/exchanges/%2F", { name: `${p}-DIR`, columns: "type" });
      expect(typed.filtered_count).toBe(1);
      expect(typed.items).toEqual([{ type: "direct" }]);
    });
  });
}
