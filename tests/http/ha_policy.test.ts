// Classic mirroring (ha-*) and queue placement policy keys: validated with RabbitMQ 3.10's texts
// (the same definitions are sent to the reference RabbitMQ when RABBITMQ_REF_HTTP is set),
// stored, exported and shown, and inert on one node with one log line per policy.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api } from "../helpers/http.ts";
import { httpSides } from "../helpers/http_sides.ts";

setDefaultTimeout(30_000);

const REF_HTTP = process.env.RABBITMQ_REF_HTTP;
if (!REF_HTTP) console.warn("RABBITMQ_REF_HTTP unset: HA policy texts are checked against Warren's expectations only");

let b: TestBroker;
beforeAll(async () => {
  b = await startTestBroker();
});
afterAll(async () => {
  await b.stop();
});

const suffix = `${process.pid}-${Date.now().toString(36)}`;
const POLICY = `ha-${suffix}`;

/** Definitions and the reason RabbitMQ 3.10 gives (undefined: accepted). */
const CASES: [Record<string, unknown>, string | undefined][] = [
  [{ "ha-mode": "all" }, undefined],
  [{ "ha-mode": "exactly", "ha-params": 2, "ha-sync-mode": "automatic", "ha-sync-batch-size": 5 }, undefined],
  [{ "ha-mode": "nodes", "ha-params": ["rabbit@a", "rabbit@b"], "ha-sync-mode": "manual" }, undefined],
  [{ "ha-mode": "all", "ha-promote-on-shutdown": "when-synced", "ha-promote-on-failure": "always" }, undefined],
  [{ "queue-master-locator": "min-masters" }, undefined],
  [{ "queue-master-locator": "client-local", "message-ttl": 5 }, undefined],
  [{ "queue-leader-locator": "balanced" }, undefined],
  [{ "ha-mode": "bogus" }, '<<"bogus">> is not a valid ha-mode value'],
  [{ "ha-mode": "exactly" }, 'ha-mode="exactly" takes an integer, none given'],
  [{ "ha-mode": "exactly", "ha-params": 0 }, 'ha-mode="exactly" takes an integer, 0 given'],
  [{ "ha-mode": "exactly", "ha-params": "2" }, 'ha-mode="exactly" takes an integer, <<"2">> given'],
  [{ "ha-mode": "exactly", "ha-params": 1.5 }, 'ha-mode="exactly" takes an integer, 1.5 given'],
  [{ "ha-mode": "nodes" }, 'ha-mode="nodes" takes a list, none given'],
  [{ "ha-mode": "nodes", "ha-params": [] }, 'ha-mode="nodes" list must be non-empty'],
  [{ "ha-mode": "nodes", "ha-params": "x" }, 'ha-mode="nodes" takes a list, <<"x">> given'],
  [{ "ha-mode": "nodes", "ha-params": [1, "a", true] }, 'ha-mode="nodes" takes a list of strings, [1,true] was not a string'],
  [{ "ha-mode": "all", "ha-params": 2 }, 'ha-mode="all" does not take parameters'],
  [{ "ha-params": 2 }, "ha-mode must be specified to specify ha-params, ha-sync-mode or ha-promote-on-shutdown"],
  [{ "ha-promote-on-failure": "always" }, "ha-mode must be specified to specify ha-params, ha-sync-mode or ha-promote-on-shutdown"],
  [{ "ha-mode": "all", "ha-sync-mode": "x" }, 'ha-sync-mode must be "manual" or "automatic", got <<"x">>'],
  [{ "ha-mode": "all", "ha-sync-batch-size": 0 }, "ha-sync-batch-size takes an integer greater than 0, 0 given"],
  [{ "ha-mode": "all", "ha-promote-on-shutdown": "x" }, 'ha-promote-on-shutdown must be "always" or "when-synced", got <<"x">>'],
  [{ "ha-mode": "all", "ha-promote-on-failure": "x" }, 'ha-promote-on-failure must be "always" or "when-synced", got <<"x">>'],
  [{ "queue-master-locator": "x" }, '<<"x">> invalid queue-master-locator value'],
  [{ "queue-master-locator": 1 }, "1 invalid queue-master-locator value"],
  [{ "queue-leader-locator": "min-masters" }, '<<"min-masters">> is not a valid queue leader locator value'],
];

const sides = httpSides(() => b.httpUrl);

/** RabbitMQ's management plugin HTML-escapes error reasons; Warren sends them plain. */
const unescape = (s: string) => s.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&quot;", '"').replaceAll("&amp;", "&");

for (const side of sides) {
  describe(`${side.name}: HA policy keys`, () => {
    const call = (method: string, path: string, body?: unknown) => api(side.base(), method, path, body, side.auth);
    afterAll(async () => {
      await call("DELETE", `/api/policies/%2F/${POLICY}`);
    });

    test("accepted and refused as RabbitMQ 3.10 validates them", async () => {
      for (const [definition, reason] of CASES) {
        const r = await call("PUT", `/api/policies/%2F/${POLICY}`, { pattern: `^${POLICY}`, definition, "apply-to": "queues" });
        const got = r.status === 400 ? unescape(r.body.reason) : r.status;
        expect({ definition, got }).toEqual({ definition, got: reason === undefined ? 201 : `Validation failed\n\n${reason}\n` });
        if (r.status !== 400) expect((await call("DELETE", `/api/policies/%2F/${POLICY}`)).status).toBe(204);
      }
    });

    test("operator policies refuse them", async () => {
      const r = await call("PUT", `/api/operator-policies/%2F/${POLICY}`, { pattern: "^x", definition: { "ha-mode": "all" } });
      expect(r.status).toBe(400);
      expect(r.body.reason).toContain("are not recognised policy settings");
    });
  });
}

describe("Warren: HA policy keys are stored, shown and inert", () => {
  test("stored, exported, in effective_policy_definition, one log line per policy", async () => {
    const lines: string[] = [];
    const info = b.broker.log.info;
    b.broker.log.info = (m: string) => void lines.push(m);
    const definition = { "ha-mode": "exactly", "ha-params": 2, "ha-sync-mode": "automatic", "message-ttl": 60000 };
    try {
      expect((await api(b.httpUrl, "PUT", `/api/policies/%2F/${POLICY}`, { pattern: `^${POLICY}`, definition })).status).toBe(201);
    } finally {
      b.broker.log.info = info;
    }
    expect(lines.filter((l) => l.includes(POLICY))).toEqual([
      `Policy '${POLICY}' in vhost '/': ha-mode, ha-params, ha-sync-mode accepted but inert: this is a single node (no mirroring, no placement)`,
    ]);
    expect((await api(b.httpUrl, "GET", `/api/policies/%2F/${POLICY}`)).body.definition).toEqual(definition);
    const q = `${POLICY}-q`;
    expect((await api(b.httpUrl, "PUT", `/api/queues/%2F/${q}`, { durable: true })).status).toBe(201);
    const queue = (await api(b.httpUrl, "GET", `/api/queues/%2F/${q}`)).body;
    expect(queue).toMatchObject({ policy: POLICY, effective_policy_definition: definition, slave_nodes: [], synchronised_slave_nodes: [] });
    const defs = (await api(b.httpUrl, "GET", "/api/definitions")).body;
    expect(defs.policies.find((p: { name: string }) => p.name === POLICY)).toMatchObject({ definition });
    // A definitions import of the same file is accepted (what Terraform-made exports hold).
    expect((await api(b.httpUrl, "POST", "/api/definitions", defs)).status).toBeLessThan(300);
    // The queue still works as a plain queue: the policy's ttl applies, mirroring does nothing.
    expect((await api(b.httpUrl, "GET", `/api/queues/%2F/${q}`)).body.effective_policy_definition["message-ttl"]).toBe(60000);
    await api(b.httpUrl, "DELETE", `/api/queues/%2F/${q}`);
    await api(b.httpUrl, "DELETE", `/api/policies/%2F/${POLICY}`);
  });

  test("a stored HA policy survives a restart", async () => {
    const other = await startTestBroker();
    try {
      const definition = { "ha-mode": "all", "queue-master-locator": "min-masters" };
      expect((await api(other.httpUrl, "PUT", "/api/policies/%2F/keep", { pattern: "^k", definition })).status).toBe(201);
      const { startBroker } = await import("../../mod.ts");
      await other.broker.stop();
      const again = await startBroker({
        port: 0,
        httpPort: 0,
        metricsPort: 0,
        bind: "127.0.0.1",
        dataDir: other.dataDir,
        logLevel: "none",
      });
      try {
        expect((await api(`http://127.0.0.1:${again.httpPort}`, "GET", "/api/policies/%2F/keep")).body.definition).toEqual(definition);
      } finally {
        await again.stop();
      }
    } finally {
      await other.stop();
    }
  });
});
