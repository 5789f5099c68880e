// federation-upstream(-set) values, the federation policy keys and x-federation-upstream
// declares: refused with RabbitMQ's codes and texts, the same on Warren as on the reference
// RabbitMQ where it has the plugin (texts RabbitMQ only prints from a crash are Warren's own).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import amqp from "amqplib";
import { startTestBroker, type TestBroker } from "../../helpers/broker.ts";
import { api } from "../../helpers/http.ts";
import { reference, SKIP_REFERENCE, uniqueName } from "./reference.ts";

let warren: TestBroker;
beforeAll(async () => {
  warren = await startTestBroker();
});
afterAll(async () => {
  await warren?.stop();
});

const UPSTREAM_CASES: [string, unknown][] = [
  ["no uri", {}],
  ["uri not a string or list", { uri: 5 }],
  ["uri without scheme", { uri: "foo" }],
  ["uri with another scheme", { uri: "http://x" }],
  ["a list with a non-string", { uri: ["amqp://x", 3] }],
  ["max-hops not a number", { uri: "amqp://x", "max-hops": "a" }],
  ["ack-mode unknown", { uri: "amqp://x", "ack-mode": "bad" }],
  ["trust-user-id not boolean", { uri: "amqp://x", "trust-user-id": "bad" }],
  ["exchange not a string", { uri: "amqp://x", exchange: 1 }],
  ["an unknown key", { uri: "amqp://x", bogus: 1 }],
  ["a list", [1]],
  ["heartbeat not an integer", { uri: "amqp://x?heartbeat=abc" }],
];

const SET_CASES: [string, unknown][] = [
  ["a member without upstream", [{}]],
  ["upstream not a string", [{ upstream: 1 }]],
  ["an override of the wrong type", [{ upstream: "a", "max-hops": "x" }]],
  ["uri in a member", [{ upstream: "a", uri: "x" }]],
];

const POLICY_CASES: [string, unknown][] = [
  ["upstream not a string", { "federation-upstream": 1 }],
  ["set not a string", { "federation-upstream-set": true }],
  ["both keys", { "federation-upstream": "a", "federation-upstream-set": "b" }],
];

describe("refusals with RabbitMQ's texts", () => {
  const sides = () => [
    { name: "Warren", call: (m: string, p: string, b?: unknown) => api(warren.httpUrl, m, p, b) },
    ...(SKIP_REFERENCE ? [] : [{ name: "RabbitMQ", call: reference().call }]),
  ];
  const unescape = (s: string) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">");

  for (const [what, value] of UPSTREAM_CASES) {
    test(`federation-upstream: ${what}`, async () => {
      const name = uniqueName("bad");
      const reasons: string[] = [];
      for (const side of sides()) {
        const r = await side.call("PUT", `/api/parameters/federation-upstream/%2f/${name}`, { value });
        expect(r.status).toBe(400);
        reasons.push(unescape(r.body.reason));
      }
      expect(reasons[0]).toStartWith("Validation failed\n\n");
      // RabbitMQ prints a parse failure with its parser's internals; only the start must match there.
      if (reasons[1] !== undefined && !/not a valid URI/.test(reasons[1])) expect(reasons[0]).toBe(reasons[1]);
      else if (reasons[1] !== undefined) expect(reasons[0]!.split(":")[0]).toBe(reasons[1].split(":")[0]);
    });
  }
  for (const [what, value] of SET_CASES) {
    test(`federation-upstream-set: ${what}`, async () => {
      const name = uniqueName("bad");
      const reasons: string[] = [];
      for (const side of sides()) {
        const r = await side.call("PUT", `/api/parameters/federation-upstream-set/%2f/${name}`, { value });
        expect(r.status).toBe(400);
        reasons.push(unescape(r.body.reason));
      }
      if (reasons[1] !== undefined) expect(reasons[0]).toBe(reasons[1]);
    });
  }
  for (const [what, definition] of POLICY_CASES) {
    test(`policy: ${what}`, async () => {
      const name = uniqueName("bad");
      const reasons: string[] = [];
      for (const side of sides()) {
        const r = await side.call("PUT", `/api/policies/%2f/${name}`, { pattern: `^${name}$`, definition });
        expect(r.status).toBe(400);
        reasons.push(unescape(r.body.reason));
      }
      expect(reasons[0]).toStartWith("Validation failed\n\n");
      if (reasons[1] !== undefined) expect(reasons[0]).toBe(reasons[1]);
    });
  }

  test("x-federation-upstream needs a long x-max-hops (406)", async () => {
    const urls = [warren.url, ...(SKIP_REFERENCE ? [] : [reference().url])];
    for (const url of urls) {
      const c = await amqp.connect(url);
      try {
        const outcomes: string[] = [];
        for (
          const args of [{}, { "x-max-hops": { "!": "int", value: 1 } }, { "x-max-hops": "1" }, { "x-max-hops": { "!": "long", value: 1 } }]
        ) {
          const ch = await c.createChannel();
          ch.on("error", () => {});
          const name = uniqueName("xfu");
          try {
            await ch.assertExchange(name, "x-federation-upstream", { durable: false, internal: true, autoDelete: true, arguments: args });
            await ch.deleteExchange(name);
            await ch.close();
            outcomes.push("ok");
          } catch (err) {
            outcomes.push(`${(err as { code: number }).code} ${/with message "([^"]*)"/.exec((err as Error).message)?.[1]}`);
          }
        }
        expect(outcomes).toEqual([
          "406 PRECONDITION_FAILED - Argument x-max-hops missing",
          "406 PRECONDITION_FAILED - Argument x-max-hops must be of type long",
          "406 PRECONDITION_FAILED - Argument x-max-hops must be of type long",
          "ok",
        ]);
      } finally {
        await c.close();
      }
    }
  });
});

test("a valid upstream and set are stored with what was given, and listed", async () => {
  const value = {
    uri: ["amqp://u:p@h1", "amqps://h2:5671/v?heartbeat=5"],
    "max-hops": 2,
    "ack-mode": "on-publish",
    "queue-type": "quorum",
  };
  expect((await api(warren.httpUrl, "PUT", "/api/parameters/federation-upstream/%2f/up1", { value })).status).toBe(201);
  expect(
    (await api(warren.httpUrl, "PUT", "/api/parameters/federation-upstream-set/%2f/s1", {
      value: [{ upstream: "up1", "prefetch-count": 5 }],
    })).status,
  ).toBe(201);
  const listed = (await api(warren.httpUrl, "GET", "/api/parameters/federation-upstream/%2f")).body;
  expect(listed).toEqual([{ vhost: "/", component: "federation-upstream", name: "up1", value }]);
  expect(
    (await api(warren.httpUrl, "PUT", "/api/policies/%2f/p1", { pattern: "^nothing$", definition: { "federation-upstream-set": "s1" } }))
      .status,
  ).toBe(201);
  await api(warren.httpUrl, "DELETE", "/api/policies/%2f/p1");
  await api(warren.httpUrl, "DELETE", "/api/parameters/federation-upstream-set/%2f/s1");
  await api(warren.httpUrl, "DELETE", "/api/parameters/federation-upstream/%2f/up1");
});

test("without the plugin, federation policy keys are not recognised", async () => {
  const bare = await startTestBroker({ plugins: [] });
  try {
    const r = await api(bare.httpUrl, "PUT", "/api/policies/%2f/p", { pattern: ".", definition: { "federation-upstream": "a" } });
    expect(r.status).toBe(400);
    expect(r.body.reason).toContain("are not recognised policy settings");
  } finally {
    await bare.stop();
  }
});
