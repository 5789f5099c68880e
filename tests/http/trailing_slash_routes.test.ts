// Every GET list path of the management app, core and plugin routes alike, answers the same with
// and without a trailing slash (`/api/users/` as `/api/users`), as RabbitMQ's cowboy routes do:
// the test walks the app's route table rather than a hand-kept list, so new routes are covered.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createManagementApp, type ManagementApp } from "../../src/http/app.ts";
import type { PluginManager, PluginRouteSource } from "../../src/plugins/manager.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api } from "../helpers/http.ts";

let tb: TestBroker;
let app: ManagementApp;

/** A plugin with list routes of its own, mounted as plugins' routes are. */
const FAKE_PLUGIN: PluginRouteSource = {
  name: "trailing_slash_test_plugin",
  running: () => true,
  mount: (routes) => {
    routes.get("/api/slash-test-things", (c) => c.json([{ name: "a" }, { name: "b" }]));
    routes.get("/api/slash-test-things/:vhost", (c) => c.json([{ name: "a", vhost: c.req.param("vhost") }]));
  },
};

beforeAll(async () => {
  tb = await startTestBroker();
  const plugins = (tb.broker.plugins as PluginManager | undefined)?.httpRoutes?.() ?? [];
  app = createManagementApp(tb.broker, [...plugins, FAKE_PLUGIN]);
  // Something in the lists: a queue, a binding, a policy, a topic permission.
  expect((await api(app, "PUT", "/api/queues/%2F/slash-q", { durable: false })).status).toBe(201);
  expect((await api(app, "POST", "/api/bindings/%2F/e/amq.direct/q/slash-q", { routing_key: "k" })).status).toBe(201);
  expect((await api(app, "PUT", "/api/policies/%2F/slash-p", { pattern: "^slash", definition: { "message-ttl": 1000 } })).status).toBe(201);
  expect((await api(app, "PUT", "/api/topic-permissions/%2F/guest", { exchange: "amq.topic", write: ".*", read: ".*" })).status).toBe(201);
});
afterAll(async () => {
  await tb.stop();
});

/** Values for path parameters that name things that exist. */
function fill(path: string): string | undefined {
  const values: Record<string, string> = {
    vhost: "%2F",
    user: "guest",
    name: "slash-q",
    queue: "slash-q",
    exchange: "amq.direct",
    node: tb.broker.alarms.node,
    component: "vhost-limits",
    source: "amq.direct",
    destination: "slash-q",
  };
  let unknown = false;
  const filled = path.replace(/:([A-Za-z_]+)/g, (_, p: string) => values[p] ?? ((unknown = true), ""));
  return unknown ? undefined : filled;
}

/** A list's stable part: its objects' identifying fields, in order. */
const identities = (body: unknown[]) =>
  body.map((o) => {
    const x = o as Record<string, unknown>;
    return [x.name, x.vhost, x.user, x.source, x.destination, x.routing_key, x.exchange, x.component].map((
      v,
    ) => (v === undefined ? "" : String(v))).join("|");
  });

test("every GET list path answers the same with a trailing slash, plugin routes included", async () => {
  // /api/live is an endless event stream, not a list (tests/http/live.test.ts covers it).
  const paths = [
    ...new Set(
      app.routes.filter((r) => r.method === "GET" && r.path.startsWith("/api/") && !r.path.includes("*") && r.path !== "/api/live").map((
        r,
      ) => r.path),
    ),
  ];
  const lists: string[] = [];
  for (const route of paths) {
    const path = fill(route);
    if (path === undefined) continue;
    const plain = await api(app, "GET", path);
    if (plain.status !== 200 || !Array.isArray(plain.body)) continue;
    lists.push(route);
    const slashed = await api(app, "GET", `${path}/`);
    expect({ path, status: slashed.status }).toEqual({ path, status: 200 });
    expect({ path, list: Array.isArray(slashed.body) ? identities(slashed.body) : slashed.body }).toEqual({
      path,
      list: identities(plain.body),
    });
  }
  // The walk found the lists tools page through, and the plugin's.
  for (
    const expected of [
      "/api/users",
      "/api/bindings",
      "/api/permissions",
      "/api/topic-permissions",
      "/api/queues",
      "/api/queues/:vhost",
      "/api/exchanges",
      "/api/vhosts",
      "/api/policies",
      "/api/global-parameters",
      "/api/feature-flags",
      "/api/slash-test-things",
      "/api/slash-test-things/:vhost",
    ]
  ) {
    expect(lists).toContain(expected);
  }
});
