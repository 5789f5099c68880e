// POST /api/queues/{vhost}/{name}/actions (sync, cancel_sync), as the Terraform provider and
// rabbit-hole send it: the same assertions on Warren and, when RABBITMQ_REF_HTTP is set, on the
// reference RabbitMQ (a queue without mirrors has nothing to sync: 204).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api, basic } from "../helpers/http.ts";
import { httpSides } from "../helpers/http_sides.ts";

setDefaultTimeout(30_000);

const REF_HTTP = process.env.RABBITMQ_REF_HTTP;
if (!REF_HTTP) console.warn("RABBITMQ_REF_HTTP unset: queue action tests run against Warren only");

let b: TestBroker;
beforeAll(async () => {
  b = await startTestBroker();
});
afterAll(async () => {
  await b.stop();
});

const sides = httpSides(() => b.httpUrl);
const suffix = `${process.pid}-${Date.now().toString(36)}`;

for (const side of sides) {
  describe(`${side.name}: queue actions`, () => {
    const call = (method: string, path: string, body?: unknown, auth = side.auth) => api(side.base(), method, path, body, auth);
    const Q = `actions-${suffix}`;
    const QQ = `actions-qq-${suffix}`;
    const USER = `actions-user-${suffix}`;
    beforeAll(async () => {
      expect((await call("PUT", `/api/queues/%2F/${Q}`, { durable: false })).status).toBe(201);
      expect((await call("PUT", `/api/queues/%2F/${QQ}`, { durable: true, arguments: { "x-queue-type": "quorum" } })).status).toBe(201);
    });
    afterAll(async () => {
      await call("DELETE", `/api/queues/%2F/${Q}`);
      await call("DELETE", `/api/queues/%2F/${QQ}`);
      await call("DELETE", `/api/users/${USER}`);
    });

    test("sync and cancel_sync of a queue with nothing to sync: 204", async () => {
      // (cancel_sync of a quorum queue crashes RabbitMQ 3.10 into a 500; Warren answers 204.)
      for (const [action, q] of [["sync", Q], ["cancel_sync", Q], ["sync", QQ]]) {
        expect({ action, q, status: (await call("POST", `/api/queues/%2F/${q}/actions`, { action })).status }).toEqual({
          action,
          q,
          status: 204,
        });
      }
      expect((await call("POST", `/api/queues/%2F/${Q}/actions/`, { action: "sync" })).status).toBe(204);
    });

    test("an unknown or missing action is a 400", async () => {
      expect((await call("POST", `/api/queues/%2F/${Q}/actions`, { action: "bogus" })).body).toEqual({
        error: "bad_request",
        reason: ["unknown", "bogus"],
      });
      expect((await call("POST", `/api/queues/%2F/${Q}/actions`, {})).body).toEqual({
        error: "bad_request",
        reason: "[{key_missing,action}]",
      });
    });

    test("administrators only; GET is not allowed", async () => {
      expect((await call("PUT", `/api/users/${USER}`, { password: "p", tags: "management" })).status).toBe(201);
      expect((await call("PUT", `/api/permissions/%2F/${USER}`, { configure: ".*", write: ".*", read: ".*" })).status).toBe(201);
      const r = await call("POST", `/api/queues/%2F/${Q}/actions`, { action: "sync" }, basic(USER, "p"));
      expect({ status: r.status, body: r.body }).toEqual({
        status: 401,
        body: { error: "not_authorised", reason: "Not administrator user" },
      });
      expect((await call("GET", `/api/queues/%2F/${Q}/actions`)).status).toBe(405);
    });
  });
}

test("Warren: actions on a queue that does not exist are a 404 (RabbitMQ 3.10 answers 500)", async () => {
  expect((await api(b.httpUrl, "POST", "/api/queues/%2F/no-such-queue/actions", { action: "sync" })).status).toBe(404);
});
