// Topic permissions as rabbit-hole (Terraform, the topology operator) manages them: one entry per
// exchange, DELETE /api/topic-permissions/{vhost}/{user}/{exchange} removes just that one. The
// same assertions run on Warren and, when RABBITMQ_REF_HTTP is set, on the reference RabbitMQ.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api } from "../helpers/http.ts";
import { httpSides } from "../helpers/http_sides.ts";

setDefaultTimeout(30_000);

const REF_HTTP = process.env.RABBITMQ_REF_HTTP;
if (!REF_HTTP) console.warn("RABBITMQ_REF_HTTP unset: topic permission tests run against Warren only");

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
  describe(`${side.name}: topic permissions per exchange`, () => {
    const USER = `tp-${suffix}`;
    const call = (method: string, path: string, body?: unknown) => api(side.base(), method, path, body, side.auth);
    const exchanges = async () => {
      const r = await call("GET", `/api/topic-permissions/%2F/${USER}`);
      return r.status === 404 ? [] : (r.body as { exchange: string }[]).map((p) => p.exchange).sort();
    };
    const put = (exchange: string) => call("PUT", `/api/topic-permissions/%2F/${USER}`, { exchange, write: ".*", read: "^a" });
    beforeAll(async () => {
      expect((await call("PUT", `/api/users/${USER}`, { password: "p", tags: "" })).status).toBe(201);
    });
    afterAll(async () => {
      await call("DELETE", `/api/users/${USER}`);
    });

    test("rabbit-hole's DeleteTopicPermissionsIn removes one exchange's entry and leaves the others", async () => {
      expect((await put("amq.topic")).status).toBe(201);
      expect((await put("amq.direct")).status).toBe(204); // the user's topic permissions in the vhost exist already
      expect(await exchanges()).toEqual(["amq.direct", "amq.topic"]);
      expect((await call("DELETE", `/api/topic-permissions/%2F/${USER}/amq.topic`)).status).toBe(204);
      expect(await exchanges()).toEqual(["amq.direct"]);
      // An exchange without an entry: 204, nothing changes.
      expect((await call("DELETE", `/api/topic-permissions/%2F/${USER}/no-such-exchange`)).status).toBe(204);
      expect(await exchanges()).toEqual(["amq.direct"]);
      // With a trailing slash too.
      expect((await put("amq.headers")).status).toBe(204);
      expect((await call("DELETE", `/api/topic-permissions/%2F/${USER}/amq.headers/`)).status).toBe(204);
      expect(await exchanges()).toEqual(["amq.direct"]);
    });

    test("the path with an exchange lists and sets as the one without", async () => {
      expect((await put("amq.topic")).status).toBe(204);
      const listed = await call("GET", `/api/topic-permissions/%2F/${USER}/amq.topic`);
      expect(listed.status).toBe(200);
      expect((listed.body as { exchange: string }[]).map((p) => p.exchange).sort()).toEqual(["amq.direct", "amq.topic"]);
      expect((await call("PUT", `/api/topic-permissions/%2F/${USER}/amq.topic`, { exchange: "amq.match", write: ".*", read: ".*" })).status)
        .toBe(204);
      expect(await exchanges()).toEqual(["amq.direct", "amq.match", "amq.topic"]);
    });

    test("clearing the user's topic permissions removes every entry; then the paths are 404", async () => {
      expect((await call("DELETE", `/api/topic-permissions/%2F/${USER}`)).status).toBe(204);
      expect(await exchanges()).toEqual([]);
      expect((await call("DELETE", `/api/topic-permissions/%2F/${USER}/amq.topic`)).status).toBe(404);
      expect((await call("DELETE", `/api/topic-permissions/%2F/no-such-user-${suffix}/amq.topic`)).status).toBe(404);
      expect((await call("DELETE", `/api/topic-permissions/no-such-vhost-${suffix}/${USER}/amq.topic`)).status).toBe(404);
    });
  });
}
