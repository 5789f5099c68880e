// Queue types beyond the differential suite: quorum queues come back after a restart as quorum
// queues (streams: streams.test.ts).
import { afterEach, expect, test } from "bun:test";
import amqp from "amqplib";
import { BROKER_IS_PROCESS, startTestBroker, type TestBroker } from "../helpers/broker.ts";

let broker: TestBroker | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

test.skipIf(BROKER_IS_PROCESS)("a quorum queue keeps its type and delivery limit across a restart", async () => {
  broker = await startTestBroker();
  const { dataDir, broker: first } = broker;
  let conn = await amqp.connect(broker.url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue("qq", { durable: true, arguments: { "x-queue-type": "quorum", "x-delivery-limit": 0 } });
  ch.sendToQueue("qq", Buffer.from("m1"), { persistent: true });
  await ch.waitForConfirms();
  await conn.close();
  await first.stop();
  const { startBroker } = await import("../../mod.ts");
  const second = await startBroker({ port: 0, httpPort: 0, metricsPort: 0, bind: "127.0.0.1", dataDir, logLevel: "none" });
  try {
    const queue = second.vhosts.get("/")!.queues.get("qq")!;
    expect(queue.type).toBe("quorum");
    expect(queue.deliveryLimit).toBe(0);
    conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${second.port}`);
    const plain = await conn.createChannel();
    const m = await plain.get("qq");
    expect(m && m.properties.headers?.["x-delivery-count"]).toBe(0);
    if (m) plain.nack(m, false, true); // one return is past a limit of 0: dropped
    expect((await plain.checkQueue("qq")).messageCount).toBe(0);
    await conn.close();
  } finally {
    await second.stop();
  }
});
