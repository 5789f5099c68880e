// A policy change re-evaluates only the queues and exchanges it can move (those the old policy
// was applied to, and those the new one takes in). After every one of many random changes (new,
// replaced and cleared policies and operator policies, tied priorities, every apply-to), each
// queue's and exchange's policy must be what matching against all policies gives.
import { afterAll, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Broker, startBroker } from "../../../mod.ts";
import { effectiveDefinition, matchPolicy } from "../../../src/broker/policy.ts";

let broker: Broker | undefined;
let dir: string | undefined;
afterAll(async () => {
  await broker?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A small deterministic generator (the same run every time). */
function random(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
}

test("after each of 400 random policy changes, every queue and exchange has the policy matching gives", async () => {
  dir = await mkdtemp(join(tmpdir(), "warren-policies-"));
  broker = await startBroker({
    port: 0,
    httpPort: null,
    metricsPort: null,
    bind: "127.0.0.1",
    dataDir: dir,
    logLevel: "none",
    pluginSettings: { "mqtt.listeners.tcp.default": "none", "web_mqtt.ws_path": "none" },
  });
  const vhost = broker.vhosts.get("/")!;
  const next = random(7);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const letters = ["a", "b", "c"];
  const word = () => Array.from({ length: 1 + Math.floor(next() * 3) }, () => pick(letters)).join("");
  for (let i = 0; i < 300; i++) {
    const args = i % 3 === 0 ? { "x-queue-type": "quorum" } : {};
    vhost.declareQueue({ name: `${word()}-q${i}`, durable: true, autoDelete: false, exclusive: false, args }, broker);
  }
  for (let i = 0; i < 100; i++) vhost.declareExchange(`${word()}-x${i}`, "direct", true, false, false, {});
  const patterns = ["^a", "^b", "b", "^ab", "c-", "q1", ".*", "^c.*x", "a$", "^(a|b)b"];
  const applyTo = ["all", "queues", "exchanges", "classic_queues", "quorum_queues"];
  const definitions = [{ "max-length": 5 }, { "message-ttl": 60000 }, { "max-length-bytes": 1000 }, { expires: 600000 }];
  let changes = 0;
  for (let step = 0; step < 400; step++) {
    const operator = next() < 0.25;
    const kind = operator ? "operator_policy" : "policy";
    const name = `${operator ? "op" : "p"}${Math.floor(next() * 12)}`;
    if (next() < 0.3) {
      if (vhost.clearPolicy(kind, name)) changes++;
    } else {
      vhost.setPolicy(kind, name, {
        pattern: pick(patterns),
        definition: pick(definitions),
        priority: Math.floor(next() * 3),
        "apply-to": operator ? "queues" : pick(applyTo),
      });
      changes++;
    }
    for (const queue of vhost.queues.values()) {
      const target = { kind: "queue", name: queue.name, queueType: queue.type } as const;
      const policy = matchPolicy(vhost.policies.values(), target);
      const operatorPolicy = matchPolicy(vhost.operatorPolicies.values(), target);
      expect(queue.policy?.name).toBe(policy?.name);
      expect(queue.policy).toBe(policy);
      expect(queue.operatorPolicy).toBe(operatorPolicy);
      expect(queue.effectivePolicy).toEqual(effectiveDefinition(policy, operatorPolicy));
    }
    for (const exchange of vhost.exchanges.values()) {
      if (exchange.name === "") continue;
      expect(exchange.policy).toBe(matchPolicy(vhost.policies.values(), { kind: "exchange", name: exchange.name }));
    }
  }
  expect(changes).toBeGreaterThan(250);
  // The run moved queues between policies, and left some with none.
  const names = new Set([...vhost.queues.values()].map((q) => q.policy?.name ?? "none"));
  expect(names.size).toBeGreaterThan(3);
});
