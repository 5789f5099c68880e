// Policies are stored as runtime parameters: after a restart they apply to recovered queues.
import { expect, test } from "bun:test";
import amqp from "amqplib";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBroker } from "../../mod.ts";

test("policies and operator policies survive a restart and apply to recovered queues", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "warren-policy-"));
  const opts = { port: 0, httpPort: 0, metricsPort: 0, bind: "127.0.0.1", dataDir, logLevel: "none" as const };
  try {
    const first = await startBroker(opts);
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${first.port}`);
    const ch = await conn.createChannel();
    await ch.assertQueue("limited", { durable: true });
    await conn.close();
    const vhost = first.vhosts.get("/")!;
    vhost.setPolicy("policy", "cap", { pattern: "^limited$", definition: { "max-length": 10, "message-ttl": 60000 } });
    vhost.setPolicy("operator_policy", "op-cap", { pattern: ".*", definition: { "max-length": 4 } });
    vhost.setPolicy("policy", "gone", { pattern: "^x$", definition: { "max-length": 1 } });
    vhost.clearPolicy("policy", "gone");
    await first.stop();

    const second = await startBroker(opts);
    try {
      const v = second.vhosts.get("/")!;
      expect([...v.policies.keys()]).toEqual(["cap"]);
      expect([...v.operatorPolicies.keys()]).toEqual(["op-cap"]);
      const queue = v.queues.get("limited")!;
      expect(queue.policy?.name).toBe("cap");
      expect(queue.operatorPolicy?.name).toBe("op-cap");
      expect(queue.maxLength).toBe(4);
      expect(queue.messageTtl).toBe(60000);
    } finally {
      await second.stop();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
