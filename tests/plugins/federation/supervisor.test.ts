// Which links run, decided at once from policies, upstreams and sets as they change (no
// upstream needs to answer: the links here point at a closed port and stay in error).
import { afterAll, beforeAll, expect, test } from "bun:test";
import amqp from "amqplib";
import { startTestBroker, type TestBroker } from "../../helpers/broker.ts";
import { api } from "../../helpers/http.ts";
import { freePort } from "../../helpers/warren_process.ts";
import { upstreamsFor } from "../../../plugins/federation/upstreams.ts";
import { shouldForward } from "../../../plugins/federation/headers.ts";
import { withDefaultVhost } from "../../../plugins/federation/uri.ts";
import { upstreamQueueName } from "../../../plugins/federation/exchange_link.ts";

let b: TestBroker;
let dead = "";
beforeAll(async () => {
  b = await startTestBroker();
  dead = `amqp://127.0.0.1:${await freePort()}`;
  const c = await amqp.connect(b.url);
  const ch = await c.createChannel();
  for (const x of ["fx1", "fx2", "other"]) await ch.assertExchange(x, "topic", { durable: true });
  await ch.assertExchange("fx-internal", "topic", { durable: true, internal: true });
  await ch.assertQueue("fq1", { durable: true });
  await c.close();
});
afterAll(async () => {
  await b?.stop();
});

const put = (path: string, body: unknown) => api(b.httpUrl, "PUT", path, body);
const del = (path: string) => api(b.httpUrl, "DELETE", path);
/** The links right now (no waiting: changes must apply at once), as "kind:name<-upstream". */
const links = async () =>
  ((await api(b.httpUrl, "GET", "/api/federation-links")).body as Record<string, string>[])
    .map((l) => `${l.type}:${l.exchange ?? l.queue}<-${l.upstream}`).sort();

test("links follow policies, upstreams and sets at once", async () => {
  await put("/api/parameters/federation-upstream/%2f/u1", { value: { uri: dead, "reconnect-delay": 60 } });
  await put("/api/parameters/federation-upstream/%2f/u2", { value: { uri: dead, "reconnect-delay": 60 } });
  expect(await links()).toEqual([]);
  await put("/api/policies/%2f/p", { pattern: "^fx", "apply-to": "exchanges", definition: { "federation-upstream": "u1" } });
  expect(await links()).toEqual(["exchange:fx1<-u1", "exchange:fx2<-u1"]); // not the internal one
  await put("/api/policies/%2f/p", { pattern: "^fx", "apply-to": "exchanges", definition: { "federation-upstream-set": "all" } });
  expect(await links()).toEqual(["exchange:fx1<-u1", "exchange:fx1<-u2", "exchange:fx2<-u1", "exchange:fx2<-u2"]);
  await del("/api/parameters/federation-upstream/%2f/u2");
  expect(await links()).toEqual(["exchange:fx1<-u1", "exchange:fx2<-u1"]);
  await put("/api/parameters/federation-upstream-set/%2f/s", { value: [{ upstream: "u1" }, { upstream: "missing" }] });
  await put("/api/policies/%2f/p", { pattern: "^fx1$|^fq1$", definition: { "federation-upstream-set": "s" } });
  expect(await links()).toEqual(["exchange:fx1<-u1", "queue:fq1<-u1"]);
  await put("/api/parameters/federation-upstream/%2f/missing", { value: { uri: dead } });
  expect(await links()).toEqual(["exchange:fx1<-missing", "exchange:fx1<-u1", "queue:fq1<-missing", "queue:fq1<-u1"]);
  await put("/api/policies/%2f/p", { pattern: "^fx1$", definition: { "federation-upstream-pattern": "^u" } });
  expect(await links()).toEqual(["exchange:fx1<-u1"]);
  // A new exchange under the policy gets its link; a deleted one loses it.
  const c = await amqp.connect(b.url);
  const ch = await c.createChannel();
  await put("/api/policies/%2f/p", { pattern: "^fx", definition: { "federation-upstream": "u1" } });
  await ch.assertExchange("fx3", "fanout", { durable: false });
  expect(await links()).toContain("exchange:fx3<-u1");
  await ch.deleteExchange("fx3");
  expect(await links()).not.toContain("exchange:fx3<-u1");
  await c.close();
  // An upstream's new value restarts its links (same id), the URI shown without credentials.
  const before = (await api(b.httpUrl, "GET", "/api/federation-links")).body as Record<string, string>[];
  await put("/api/parameters/federation-upstream/%2f/u1", {
    value: { uri: dead.replace("amqp://", "amqp://x:secret@"), "reconnect-delay": 60 },
  });
  const after = (await api(b.httpUrl, "GET", "/api/federation-links")).body as Record<string, string>[];
  expect(after.map((l) => l.id).sort()).toEqual(before.map((l) => l.id).sort());
  expect(JSON.stringify(after)).not.toContain("secret");
  await del("/api/policies/%2f/p");
  expect(await links()).toEqual([]);
});

test("disabling the plugin stops every link; enabling it starts them again", async () => {
  await put("/api/parameters/federation-upstream/%2f/u3", { value: { uri: dead, "reconnect-delay": 60 } });
  await put("/api/policies/%2f/p3", { pattern: "^other$", definition: { "federation-upstream": "u3" } });
  expect(await links()).toEqual(["exchange:other<-u3"]);
  expect((await put("/api/plugins/rabbitmq_federation", { enabled: false })).status).toBeLessThan(300);
  expect((await api(b.httpUrl, "GET", "/api/federation-links")).status).toBe(404);
  expect((await put("/api/plugins/rabbitmq_federation", { enabled: true })).status).toBeLessThan(300);
  expect(await links()).toEqual(["exchange:other<-u3"]);
  await del("/api/policies/%2f/p3");
});

test("upstream defaults and overrides as RabbitMQ resolves them", () => {
  const values = new Map<string, Map<string, unknown>>([
    ["federation-upstream", new Map<string, unknown>([["a", { uri: "amqp://h", "max-hops": 3 }]])],
    ["federation-upstream-set", new Map<string, unknown>([["s", [{ upstream: "a", exchange: "elsewhere", "prefetch-count": 10 }]]])],
  ]);
  const lookup = (component: string) => values.get(component) as never;
  const [plain] = upstreamsFor(lookup, "/", { "federation-upstream": "a" }, "local");
  expect(plain).toEqual({
    name: "a",
    uris: ["amqp://h"],
    exchange: "local",
    queue: "local",
    consumerTag: "federation-link-a",
    prefetchCount: 1000,
    reconnectDelay: 5,
    maxHops: 3,
    expires: undefined,
    messageTtl: undefined,
    trustUserId: false,
    ackMode: "on-confirm",
    queueType: "classic",
    bindNowait: false,
    resourceCleanupMode: "default",
  });
  const [fromSet] = upstreamsFor(lookup, "/", { "federation-upstream-set": "s" }, "local");
  expect(fromSet).toMatchObject({ exchange: "elsewhere", prefetchCount: 10, maxHops: 3 });
});

test("hop and cycle checks, upstream queue names, default vhosts", () => {
  const seen = { "x-received-from": [{ "cluster-name": "c1", vhost: "/" }] };
  expect(shouldForward(undefined, 1, "c2", "/")).toBe(true);
  expect(shouldForward(seen, 1, "c2", "/")).toBe(false); // one hop made, max 1
  expect(shouldForward(seen, 2, "c2", "/")).toBe(true);
  expect(shouldForward(seen, 2, "c1", "/")).toBe(false); // been there
  expect(shouldForward(seen, 2, "c1", "v2")).toBe(true); // same cluster, other vhost
  expect(upstreamQueueName("x", "/", "x", "/", "c")).toBe("federation: x -> c");
  expect(upstreamQueueName("x", "/", "y", "/", "c")).toBe("federation: x -> c:y");
  expect(upstreamQueueName("x", "/", "y", "v", "c")).toBe("federation: x -> c:v:y");
  expect(withDefaultVhost("amqp://u:p@h:5672", "v/1")).toBe("amqp://u:p@h:5672/v%2F1");
  expect(withDefaultVhost("amqp://h?heartbeat=5", "/")).toBe("amqp://h/%2F?heartbeat=5");
  expect(withDefaultVhost("amqp://h/", "v")).toBe("amqp://h/");
  expect(withDefaultVhost("amqp:///other", "v")).toBe("amqp:///other");
});

test("definitions carry upstreams and federation policies both ways", async () => {
  const defs = {
    parameters: [{ vhost: "/", component: "federation-upstream", name: "d1", value: { uri: dead, "reconnect-delay": 60 } }],
    policies: [{
      vhost: "/",
      name: "dp",
      pattern: "^fx2$",
      "apply-to": "exchanges",
      priority: 0,
      definition: { "federation-upstream": "d1" },
    }],
  };
  expect((await api(b.httpUrl, "POST", "/api/definitions", defs)).status).toBeLessThan(300);
  expect(await links()).toEqual(["exchange:fx2<-d1"]);
  const exported = (await api(b.httpUrl, "GET", "/api/definitions")).body;
  expect(exported.parameters).toContainEqual(defs.parameters[0]);
  expect(exported.policies).toContainEqual(defs.policies[0]);
  const bad = {
    policies: [{ ...defs.policies[0], name: "bad", definition: { "federation-upstream": "d1", "federation-upstream-set": "all" } }],
  };
  const refused = await api(b.httpUrl, "POST", "/api/definitions", bad);
  expect(refused.status).toBe(400);
  expect(JSON.stringify(refused.body)).toContain(
    "cannot specify federation-upstream, federation-upstream-set or federation-upstream-pattern together",
  );
  await del("/api/policies/%2f/dp");
  await del("/api/parameters/federation-upstream/%2f/d1");
});
