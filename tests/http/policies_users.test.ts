// /api/policies, /api/operator-policies, and the write side of /api/users, /api/permissions,
// /api/topic-permissions and /api/vhosts, through app.request() and real AMQP clients.
import { afterAll, beforeAll, expect, test } from "bun:test";
import amqp from "amqplib";
import { createManagementApp, type ManagementApp } from "../../src/http/app.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api, basic } from "../helpers/http.ts";

let tb: TestBroker;
let app: ManagementApp;

beforeAll(async () => {
  tb = await startTestBroker();
  app = createManagementApp(tb.broker);
});
afterAll(() => tb.stop());

test("PUT /api/policies applies to existing queues at once and shows in the queue object", async () => {
  const conn = await amqp.connect(tb.url);
  const ch = await conn.createChannel();
  await ch.assertQueue("pol-q");
  for (let i = 1; i <= 5; i++) ch.sendToQueue("pol-q", Buffer.from(`m${i}`));
  await ch.checkQueue("pol-q");
  const put = await api(app, "PUT", "/api/policies/%2F/cap", { pattern: "^pol-", definition: { "max-length": 2 }, "apply-to": "queues" });
  expect(put.status).toBe(201);
  expect(
    (await api(app, "PUT", "/api/policies/%2F/cap", { pattern: "^pol-", definition: { "max-length": 2 }, "apply-to": "queues" })).status,
  ).toBe(204);
  expect((await ch.checkQueue("pol-q")).messageCount).toBe(2);
  const q = await api(app, "GET", "/api/queues/%2F/pol-q");
  expect(q.body.policy).toBe("cap");
  expect(q.body.effective_policy_definition).toEqual({ "max-length": 2 });
  const got = await api(app, "GET", "/api/policies/%2F/cap");
  expect(got.body).toEqual({
    vhost: "/",
    name: "cap",
    pattern: "^pol-",
    "apply-to": "queues",
    definition: { "max-length": 2 },
    priority: 0,
  });
  expect((await api(app, "GET", "/api/policies")).body.map((p: { name: string }) => p.name)).toEqual(["cap"]);
  expect((await api(app, "DELETE", "/api/policies/%2F/cap")).status).toBe(204);
  expect((await api(app, "DELETE", "/api/policies/%2F/cap")).status).toBe(404);
  expect((await api(app, "GET", "/api/queues/%2F/pol-q")).body.policy).toBeNull();
  await conn.close();
});

test("an invalid policy is 400 naming what is wrong; operator policies need an administrator", async () => {
  const bad = await api(app, "PUT", "/api/policies/%2F/bad", { pattern: ".*", definition: { "message-ttl": -1 } });
  expect(bad.status).toBe(400);
  expect(bad.body).toEqual({ error: "bad_request", reason: "Validation failed\n\n-1 is not a valid message TTL\n" });
  expect((await api(app, "PUT", "/api/policies/nowhere/p", { pattern: ".*", definition: { "max-length": 1 } })).status).toBe(404);
  await api(app, "PUT", "/api/users/pol-maker", { password: "pw", tags: "policymaker" });
  await api(app, "PUT", "/api/permissions/%2F/pol-maker", { configure: ".*", write: ".*", read: ".*" });
  const asMaker = basic("pol-maker", "pw");
  expect((await api(app, "PUT", "/api/policies/%2F/mine", { pattern: "^x$", definition: { expires: 1000 } }, asMaker)).status).toBe(201);
  expect((await api(app, "PUT", "/api/operator-policies/%2F/op", { pattern: ".*", definition: { "max-length": 9 } }, asMaker)).status).toBe(
    401,
  );
  expect((await api(app, "PUT", "/api/operator-policies/%2F/op", { pattern: ".*", definition: { "max-length": 9 } })).status).toBe(201);
  expect((await api(app, "GET", "/api/operator-policies/%2F")).body.map((p: { name: string }) => p.name)).toEqual(["op"]);
  await api(app, "DELETE", "/api/operator-policies/%2F/op");
  await api(app, "DELETE", "/api/policies/%2F/mine");
});

test("users, permissions and topic permissions created over HTTP log in and are enforced over AMQP", async () => {
  expect((await api(app, "PUT", "/api/users/http-bob", {})).status).toBe(400);
  expect((await api(app, "PUT", "/api/users/http-bob", { password: "secret", tags: ["management"] })).status).toBe(201);
  expect((await api(app, "GET", "/api/users/http-bob")).body.tags).toEqual(["management"]);
  const url = tb.url.replace("guest:guest", "http-bob:secret");
  await expect(amqp.connect(url)).rejects.toThrow(); // no permissions on "/" yet
  expect((await api(app, "PUT", "/api/permissions/%2F/http-bob", { configure: "^bob-", write: ".*", read: ".*" })).status).toBe(201);
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  await ch.assertQueue("bob-q");
  const refused = new Promise<Error>((resolve) => ch.on("error", resolve));
  await expect(ch.assertQueue("alice-q")).rejects.toThrow();
  expect((await refused).message).toContain("ACCESS_REFUSED - access to queue 'alice-q' in vhost '/' refused for user 'http-bob'");
  expect((await api(app, "PUT", "/api/topic-permissions/%2F/http-bob", { exchange: "amq.topic", write: "^ok\\.", read: ".*" })).status)
    .toBe(201);
  expect((await api(app, "GET", "/api/topic-permissions/%2F/http-bob")).body).toEqual([
    { user: "http-bob", vhost: "/", exchange: "amq.topic", write: "^ok\\.", read: ".*" },
  ]);
  expect((await api(app, "DELETE", "/api/permissions/%2F/http-bob")).status).toBe(204);
  expect((await api(app, "DELETE", "/api/users/http-bob")).status).toBe(204);
  expect((await api(app, "GET", "/api/users/http-bob")).status).toBe(404);
  await conn.close().catch(() => {}); // the broker closed it with 320 when the user went
});

test("PUT and DELETE /api/vhosts keep description and tags, and delete the vhost with its queues", async () => {
  expect((await api(app, "PUT", "/api/vhosts/http-tmp", { description: "scratch", tags: "a,b" })).status).toBe(201);
  const v = await api(app, "GET", "/api/vhosts/http-tmp");
  expect([v.body.description, v.body.tags]).toEqual(["scratch", ["a", "b"]]);
  const conn = await amqp.connect(`${tb.url}/http-tmp`);
  const ch = await conn.createChannel();
  await ch.assertQueue("doomed");
  conn.on("error", () => {});
  expect((await api(app, "DELETE", "/api/vhosts/http-tmp")).status).toBe(204);
  expect((await api(app, "GET", "/api/vhosts/http-tmp")).status).toBe(404);
  expect((await api(app, "DELETE", "/api/vhosts/http-tmp")).status).toBe(404);
});

test("definitions carry policies and topic permissions both ways; a bad policy changes nothing", async () => {
  const defs = {
    users: [{ name: "http-def", password_hash: "", hashing_algorithm: "rabbit_password_hashing_sha256", tags: "" }],
    vhosts: [{ name: "/" }],
    permissions: [{ user: "http-def", vhost: "/", configure: ".*", write: ".*", read: ".*" }],
    topic_permissions: [{ user: "http-def", vhost: "/", exchange: "amq.topic", write: "^a", read: "^b" }],
    policies: [{ vhost: "/", name: "def-ttl", pattern: "^def-", "apply-to": "queues", definition: { "message-ttl": 1000 }, priority: 3 }],
    queues: [{ name: "def-q", vhost: "/", durable: true, auto_delete: false, arguments: {} }],
  };
  const bad = await api(app, "POST", "/api/definitions", {
    ...defs,
    queues: [],
    policies: [{ ...defs.policies[0], definition: { overflow: "sideways" } }],
  });
  expect(bad.status).toBe(400);
  expect(tb.broker.users.get("http-def")).toBeUndefined();
  expect((await api(app, "POST", "/api/definitions", defs)).status).toBe(204);
  expect(tb.broker.vhosts.get("/")!.queues.get("def-q")!.messageTtl).toBe(1000);
  const out = await api(app, "GET", "/api/definitions");
  expect(out.body.policies).toEqual(defs.policies);
  expect(out.body.topic_permissions).toEqual(defs.topic_permissions);
  await api(app, "DELETE", "/api/policies/%2F/def-ttl");
  await api(app, "DELETE", "/api/users/http-def");
});
