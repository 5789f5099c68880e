import { expect, test } from "bun:test";
import { effectiveDefinition, matchPolicy, parsePolicy, PolicyError } from "../../../src/broker/policy.ts";

const p = (name: string, body: Parameters<typeof parsePolicy>[3], kind: "policy" | "operator_policy" = "policy") =>
  parsePolicy(kind, "/", name, body);

test("a policy definition with RabbitMQ's invalid values is refused with its text", () => {
  expect(() => p("a", { pattern: ".*", definition: { "message-ttl": -1 } })).toThrow("-1 is not a valid message TTL");
  expect(() => p("a", { pattern: ".*", definition: { expires: 0 } })).toThrow("0 is not a valid queue expiry");
  expect(() => p("a", { pattern: ".*", definition: { overflow: "drop-tail" } })).toThrow('"drop-tail" is not a valid overflow value');
  expect(() => p("a", { pattern: ".*", definition: { "max-priority": 5 } })).toThrow('["max-priority"] are not recognised policy settings');
  expect(() => p("a", { pattern: ".*", definition: {} })).toThrow("no policy provided");
  expect(() => p("a", { pattern: "(", definition: { "max-length": 1 } })).toThrow(PolicyError);
  expect(() => p("a", { pattern: ".*", definition: { "max-length": 1 }, "apply-to": "bogus" })).toThrow("apply-to");
});

test("operator policies accept only the keys RabbitMQ lets operators cap", () => {
  expect(() => p("op", { pattern: ".*", definition: { "dead-letter-exchange": "x" } }, "operator_policy")).toThrow("not recognised");
  expect(p("op", { pattern: ".*", definition: { "max-length": 5 } }, "operator_policy").definition).toEqual({ "max-length": 5 });
});

test("the highest priority matching policy wins; apply-to filters by kind and queue type", () => {
  const policies = [
    p("low", { pattern: "^q", definition: { "max-length": 1 }, priority: 1 }),
    p("high", { pattern: "^q", definition: { "max-length": 2 }, priority: 9, "apply-to": "queues" }),
    p("quorum", { pattern: "^q", definition: { "max-length": 3 }, priority: 20, "apply-to": "quorum_queues" }),
  ];
  expect(matchPolicy(policies, { kind: "queue", name: "q1", queueType: "classic" })?.name).toBe("high");
  expect(matchPolicy(policies, { kind: "queue", name: "q1", queueType: "quorum" })?.name).toBe("quorum");
  expect(matchPolicy(policies, { kind: "exchange", name: "q1" })?.name).toBe("low");
  expect(matchPolicy(policies, { kind: "queue", name: "x" })).toBeUndefined();
});

test("an operator policy caps numeric settings and adds its own", () => {
  const policy = p("a", { pattern: ".*", definition: { "max-length": 10, "message-ttl": 100, "dead-letter-exchange": "dlx" } });
  const op = p("op", { pattern: ".*", definition: { "max-length": 3, expires: 5000 } }, "operator_policy");
  expect(effectiveDefinition(policy, op)).toEqual({ "max-length": 3, "message-ttl": 100, "dead-letter-exchange": "dlx", expires: 5000 });
  expect(effectiveDefinition(undefined, undefined)).toEqual({});
});
