// Definitions round trip with the reference RabbitMQ: build a topology there, export it, import
// the export into Warren, export from Warren, and compare (modulo ordering). Runs against the
// built executable when WARREN_BIN is set (CI), else in-process.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { api, basic } from "../helpers/http.ts";
import { type BrokerUnderTest, startBrokerUnderTest } from "../helpers/broker_under_test.ts";

const REF_HTTP = process.env.RABBITMQ_REF_HTTP;
if (!REF_HTTP) console.warn("definitions round-trip test skipped: set RABBITMQ_REF_HTTP to a reference RabbitMQ's management API");

const suffix = Date.now().toString(36);
const VHOST = `rt-${suffix}`;
const USER = `rt-user-${suffix}`;
const V = encodeURIComponent(VHOST);

let warren: BrokerUnderTest;
let ref: { base: string; auth: string };

beforeAll(async () => {
  if (!REF_HTTP) return;
  const url = new URL(REF_HTTP);
  ref = { base: `${url.protocol}//${url.host}`, auth: basic(decodeURIComponent(url.username), decodeURIComponent(url.password)) };
  warren = await startBrokerUnderTest();
});
afterAll(async () => {
  if (!REF_HTTP) return;
  await warren?.stop();
  await refCall("DELETE", `/api/vhosts/${V}`).catch(() => {});
  await refCall("DELETE", `/api/users/${USER}`).catch(() => {});
});

async function refCall(method: string, path: string, body?: unknown) {
  const r = await api(ref.base, method, path, body, ref.auth);
  if (r.status >= 300) throw new Error(`reference ${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** The topology, built through RabbitMQ's management API as an operator would. */
async function buildOnReference(): Promise<void> {
  await refCall("PUT", `/api/vhosts/${V}`, {});
  await refCall("PUT", `/api/users/${USER}`, { password: "rt-pw", tags: "monitoring,policymaker" });
  await refCall("PUT", `/api/user-limits/${USER}/max-channels`, { value: 20 });
  await refCall("PUT", `/api/permissions/${V}/${USER}`, { configure: "^rt-", write: ".*", read: "^(rt-|amq\\.)" });
  await refCall("PUT", `/api/topic-permissions/${V}/${USER}`, { exchange: "rt-topic", write: "^{username}\\.", read: ".*" });
  await refCall("PUT", `/api/vhost-limits/${V}/max-queues`, { value: 100 });
  await refCall("PUT", `/api/vhost-limits/${V}/max-connections`, { value: -1 });
  await refCall("PUT", `/api/policies/${V}/rt-limits`, {
    pattern: "^rt-q",
    "apply-to": "queues",
    priority: 3,
    definition: { "max-length": 1000, "message-ttl": 60000, "dead-letter-exchange": "rt-dlx" },
  });
  await refCall("PUT", `/api/operator-policies/${V}/rt-cap`, {
    pattern: "^rt-q",
    "apply-to": "queues",
    priority: 2,
    definition: { "max-length": 5000, "message-ttl": 120000 },
  });
  await refCall("PUT", `/api/policies/${V}/rt-ae`, {
    pattern: "^rt-topic$",
    "apply-to": "exchanges",
    definition: { "alternate-exchange": "rt-dlx" },
  });
  await refCall("PUT", `/api/exchanges/${V}/rt-topic`, { type: "topic", durable: true });
  await refCall("PUT", `/api/exchanges/${V}/rt-dlx`, { type: "fanout", durable: true, internal: true });
  await refCall("PUT", `/api/exchanges/${V}/rt-headers`, {
    type: "headers",
    durable: true,
    auto_delete: false,
    arguments: { "alternate-exchange": "rt-topic" },
  });
  await refCall("PUT", `/api/queues/${V}/rt-q-classic`, {
    durable: true,
    arguments: { "x-max-length": 10, "x-overflow": "reject-publish", "x-max-priority": 5 },
  });
  await refCall("PUT", `/api/queues/${V}/rt-q-quorum`, { durable: true, arguments: { "x-queue-type": "quorum", "x-delivery-limit": 3 } });
  await refCall("PUT", `/api/queues/${V}/rt-dead`, { durable: true, arguments: { "x-queue-type": "classic" } });
  await refCall("POST", `/api/bindings/${V}/e/rt-topic/q/rt-q-classic`, { routing_key: "a.*.c", arguments: {} });
  await refCall("POST", `/api/bindings/${V}/e/rt-topic/q/rt-q-quorum`, { routing_key: "#", arguments: { "x-note": "all", n: 1 } });
  await refCall("POST", `/api/bindings/${V}/e/rt-dlx/q/rt-dead`, { routing_key: "", arguments: {} });
  await refCall("POST", `/api/bindings/${V}/e/rt-headers/e/rt-topic`, { routing_key: "", arguments: { "x-match": "any", kind: "order" } });
}

const SECTIONS = [
  "users",
  "vhosts",
  "permissions",
  "topic_permissions",
  "parameters",
  "global_parameters",
  "policies",
  "queues",
  "exchanges",
  "bindings",
] as const;
type Defs = Record<string, unknown[]>;

/** This test's entries of a full export (the reference holds other tests' objects too). */
function ours(defs: Defs): Defs {
  const out: Defs = {};
  for (const section of SECTIONS) {
    const entries = (defs[section] ?? []) as Record<string, unknown>[];
    out[section] = entries.filter((e) => {
      if (section === "users") return e.name === USER;
      if (section === "vhosts") return e.name === VHOST;
      if (section === "global_parameters") return true;
      return e.vhost === VHOST;
    });
  }
  return out;
}

/** Order-insensitive form: every section sorted by its entries' JSON (with sorted keys). */
function normalised(defs: Defs): Record<string, string[]> {
  const sortedJson = (v: unknown): string =>
    JSON.stringify(
      v,
      (_k, x) =>
        x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x,
    );
  return Object.fromEntries(SECTIONS.map((s) => [s, (defs[s] ?? []).map(sortedJson).sort()]));
}

test.skipIf(!REF_HTTP)("a RabbitMQ export imports into Warren and re-exports equal, modulo ordering", async () => {
  await buildOnReference();
  const fromRabbit = ours(await refCall("GET", "/api/definitions"));
  // Every kind of entry is present, so the comparison below covers each section.
  for (const section of SECTIONS) expect({ section, n: fromRabbit[section]!.length > 0 }).toEqual({ section, n: true });

  const imported = await api(warren.httpUrl, "POST", "/api/definitions", { rabbit_version: "3.10.8", ...fromRabbit });
  expect({ status: imported.status, body: imported.body }).toEqual({ status: 204, body: undefined });
  const fromWarren = ours((await api(warren.httpUrl, "GET", "/api/definitions")).body);
  expect(normalised(fromWarren)).toEqual(normalised(fromRabbit));

  // The imported user logs in with its RabbitMQ password hash (over the management API: monitoring tag).
  const whoami = await api(warren.httpUrl, "GET", "/api/whoami", undefined, basic(USER, "rt-pw"));
  expect(whoami.body).toMatchObject({ name: USER });

  // Importing the same file again changes nothing.
  expect((await api(warren.httpUrl, "POST", "/api/definitions", { rabbit_version: "3.10.8", ...fromRabbit })).status).toBe(204);
  expect(normalised(ours((await api(warren.httpUrl, "GET", "/api/definitions")).body))).toEqual(normalised(fromRabbit));
});
