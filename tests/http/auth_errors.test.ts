// Authentication, tag-based access and error shapes of the management API (app.request()).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createManagementApp, type ManagementApp } from "../../src/http/app.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api, basic } from "../helpers/http.ts";

let tb: TestBroker;
let app: ManagementApp;

beforeAll(async () => {
  tb = await startTestBroker();
  app = createManagementApp(tb.broker);
  const users = tb.broker.users;
  users.add("http-plain", "p", []);
  users.add("http-mon", "p", ["monitoring"]);
  users.add("http-mgmt", "p", ["management"]);
  users.add("http-policy", "p", ["policymaker"]);
  users.setPermission("http-mgmt", "/", { configure: "^http-mine-.*", write: ".*", read: ".*" });
  tb.broker.addVhost("http-other");
});
afterAll(() => tb.stop());

describe("authentication", () => {
  test("no credentials: 401 with the realm and an empty body", async () => {
    const r = await api(app, "GET", "/api/overview", undefined, null);
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toBe('Basic realm="RabbitMQ Management"');
    expect(r.body).toBeUndefined();
  });

  test("wrong password: 401 not_authorized Login failed", async () => {
    const r = await api(app, "GET", "/api/overview", undefined, basic("guest", "nope"));
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ error: "not_authorized", reason: "Login failed" });
  });

  test("a user without a management tag: 401 Not management user", async () => {
    const r = await api(app, "GET", "/api/overview", undefined, basic("http-plain", "p"));
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ error: "not_authorised", reason: "Not management user" });
  });

  test("whoami names the user and its tags", async () => {
    expect((await api(app, "GET", "/api/whoami", undefined, basic("http-mon", "p"))).body).toEqual({
      name: "http-mon",
      tags: ["monitoring"],
    });
  });
});

describe("tags", () => {
  test("hash_password is for administrators only, as rabbit_mgmt_wm_hash_password's is_authorized_admin", async () => {
    for (const user of ["http-mgmt", "http-policy", "http-mon"]) {
      const r = await api(app, "GET", "/api/auth/hash_password/s3cret", undefined, basic(user, "p"));
      expect({ user, status: r.status, body: r.body }).toEqual({
        user,
        status: 401,
        body: { error: "not_authorised", reason: "Not administrator user" },
      });
    }
    const ok = await api(app, "GET", "/api/auth/hash_password/s3cret");
    expect(ok.status).toBe(200);
    expect(typeof ok.body.ok).toBe("string");
  });

  test("administrator-only endpoints refuse a monitoring user", async () => {
    for (const path of ["/api/users", "/api/permissions", "/api/definitions"]) {
      const r = await api(app, "GET", path, undefined, basic("http-mon", "p"));
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ error: "not_authorised", reason: "Not administrator user" });
    }
  });

  test("nodes need monitoring: a management user is refused", async () => {
    const r = await api(app, "GET", "/api/nodes", undefined, basic("http-mgmt", "p"));
    expect(r.body).toEqual({ error: "not_authorised", reason: "Not monitor user" });
    expect((await api(app, "GET", "/api/nodes", undefined, basic("http-mon", "p"))).status).toBe(200);
  });

  test("listings show a management user only the vhosts it has permissions in; monitoring sees all", async () => {
    const mine = (await api(app, "GET", "/api/vhosts", undefined, basic("http-mgmt", "p"))).body.map((v: { name: string }) => v.name);
    expect(mine).toEqual(["/"]);
    const all = (await api(app, "GET", "/api/vhosts", undefined, basic("http-mon", "p"))).body.map((v: { name: string }) => v.name);
    expect(all).toEqual(["/", "http-other"]);
  });

  test("a vhost without permissions: 401 User not authorised to access virtual host", async () => {
    const r = await api(app, "GET", "/api/queues/http-other", undefined, basic("http-mgmt", "p"));
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ error: "not_authorised", reason: "User not authorised to access virtual host" });
  });

  test("writes follow the configure permission regex", async () => {
    const denied = await api(app, "PUT", "/api/queues/%2F/http-theirs", {}, basic("http-mgmt", "p"));
    expect(denied.status).toBe(401);
    expect(denied.body.reason).toBe("access to queue 'http-theirs' in vhost '/' refused for user 'http-mgmt'");
    expect((await api(app, "PUT", "/api/queues/%2F/http-mine-1", {}, basic("http-mgmt", "p"))).status).toBe(201);
  });
});

describe("errors", () => {
  test("a missing object: 404 Object Not Found", async () => {
    for (
      const path of [
        "/api/queues/%2F/http-missing",
        "/api/exchanges/%2F/http-missing",
        "/api/vhosts/http-missing",
        "/api/queues/http-missing",
        "/api/nope",
      ]
    ) {
      const r = await api(app, "GET", path);
      expect(r.status).toBe(404);
      expect(r.body).toEqual({ error: "Object Not Found", reason: "Not Found" });
    }
  });

  test("a body that is not JSON: 400 not_json", async () => {
    const r = await api(app, "PUT", "/api/queues/%2F/http-badjson", "{bad");
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ error: "bad_request", reason: "not_json" });
  });

  test("a field of the wrong type: 400 not_boolean", async () => {
    const r = await api(app, "PUT", "/api/queues/%2F/http-badbool", { durable: "yes" });
    expect(r.body).toEqual({ error: "bad_request", reason: ["not_boolean", "yes"] });
  });

  test("a method a path does not take: 405", async () => {
    expect((await api(app, "POST", "/api/overview")).status).toBe(405);
  });

  test("user writes need an administrator: 401 for a management user", async () => {
    await api(app, "PUT", "/api/users/http-mgmt-only", { password: "pw", tags: "management" });
    const r = await api(app, "PUT", "/api/users/http-new", { password: "x", tags: "" }, basic("http-mgmt-only", "pw"));
    expect(r.status).toBe(401);
    expect(tb.broker.users.get("http-new")).toBeUndefined();
    await api(app, "DELETE", "/api/users/http-mgmt-only");
  });
});
