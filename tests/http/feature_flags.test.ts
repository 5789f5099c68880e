// GET /api/feature-flags: the flags a RabbitMQ 3.10 node reports, all enabled, with state,
// stability and desc, so tools that check for a flag proceed. With RABBITMQ_REF_HTTP set, the
// list is compared with the reference RabbitMQ's.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api, basic } from "../helpers/http.ts";

const REF_HTTP = process.env.RABBITMQ_REF_HTTP;
if (!REF_HTTP) console.warn("RABBITMQ_REF_HTTP unset: the feature flag list is not compared with RabbitMQ's");

let b: TestBroker;
beforeAll(async () => {
  b = await startTestBroker();
});
afterAll(async () => {
  await b.stop();
});

test("every flag is enabled and stable, with desc, doc_url and provided_by", async () => {
  const r = await api(b.httpUrl, "GET", "/api/feature-flags");
  expect(r.status).toBe(200);
  expect(r.body.length).toBeGreaterThan(0);
  for (const flag of r.body) {
    expect(flag).toEqual({
      name: expect.any(String),
      desc: expect.any(String),
      doc_url: expect.any(String),
      state: "enabled",
      stability: "stable",
      provided_by: expect.any(String),
    });
  }
  expect(r.body.map((f: { name: string }) => f.name)).toContain("quorum_queue");
  expect((await api(b.httpUrl, "GET", "/api/feature-flags/")).body).toEqual(r.body);
});

test("enabling a flag: 204 for a known one, 400 unsupported otherwise; administrators only", async () => {
  expect((await api(b.httpUrl, "PUT", "/api/feature-flags/quorum_queue/enable", {})).status).toBe(204);
  expect((await api(b.httpUrl, "PUT", "/api/feature-flags/nope/enable", {})).body).toEqual({ error: "bad_request", reason: "unsupported" });
  expect((await api(b.httpUrl, "PUT", "/api/users/ffmon", { password: "p", tags: "monitoring" })).status).toBe(201);
  expect((await api(b.httpUrl, "GET", "/api/feature-flags", undefined, basic("ffmon", "p"))).body).toEqual({
    error: "not_authorised",
    reason: "Not administrator user",
  });
});

test.skipIf(!REF_HTTP)("the same flags, texts and states as the reference RabbitMQ", async () => {
  const ref = new URL(REF_HTTP!);
  const auth = basic(decodeURIComponent(ref.username) || "guest", decodeURIComponent(ref.password) || "guest");
  const theirs = (await api(`${ref.protocol}//${ref.host}`, "GET", "/api/feature-flags", undefined, auth)).body;
  const ours = (await api(b.httpUrl, "GET", "/api/feature-flags")).body;
  expect(ours).toEqual(theirs);
});
