// RabbitMQ's consumer_timeout: a channel holding a delivery unacknowledged for longer than the
// timeout is closed with 406 and RabbitMQ's text; the message goes back to its queue. The
// broker runs with a short timeout; the tests wait for the close, never for a time.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import amqplib from "amqplib";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";

setDefaultTimeout(30_000);

const TIMEOUT = 300;
let b: TestBroker;
beforeAll(async () => {
  b = await startTestBroker({ consumerTimeoutMs: TIMEOUT });
});
afterAll(async () => {
  await b.stop();
});

const closeText = (channel: number) =>
  `PRECONDITION_FAILED - delivery acknowledgement on channel ${channel} timed out. Timeout value used: ${TIMEOUT} ms. ` +
  "This timeout value can be configured, see consumers doc guide to learn more";

describe("consumer_timeout", () => {
  test("an unacknowledged consumer delivery closes the channel with 406; the message is ready again", async () => {
    const conn = await amqplib.connect(b.url);
    try {
      const ch = await conn.createChannel();
      const closed = new Promise<Error & { code?: number }>((resolve) => ch.on("error", resolve));
      const { queue } = await ch.assertQueue("", { exclusive: true });
      ch.sendToQueue(queue, Buffer.from("slow"));
      await ch.consume(queue, () => {}, { noAck: false });
      const err = await closed;
      expect(err.code).toBe(406);
      expect(err.message).toContain(closeText(1));
      const other = await conn.createChannel();
      const again = await other.get(queue, { noAck: true });
      expect(again && again.fields.redelivered).toBe(true);
      expect(again && again.content.toString()).toBe("slow");
    } finally {
      await conn.close().catch(() => {});
    }
  });

  test("an unacknowledged basic.get delivery counts too; acked deliveries never time out", async () => {
    const conn = await amqplib.connect(b.url);
    try {
      const acking = await conn.createChannel();
      const { queue } = await acking.assertQueue("", { exclusive: true });
      for (let i = 0; i < 3; i++) acking.sendToQueue(queue, Buffer.from(`m${i}`));
      const first = await acking.get(queue);
      if (!first) throw new Error("no message");
      acking.ack(first);
      const holding = await conn.createChannel();
      const closed = new Promise<Error & { code?: number }>((resolve) => holding.on("error", resolve));
      await holding.get(queue);
      const err = await closed;
      expect(err.message).toContain(closeText(2));
      // The acking channel is still open.
      expect((await acking.checkQueue(queue)).messageCount).toBe(2);
    } finally {
      await conn.close().catch(() => {});
    }
  });
});

test("consumer_timeout in warren.conf sets the timeout", async () => {
  const { applySettings } = await import("../../src/config_keys.ts");
  const { parseConfig } = await import("../../src/config_file.ts");
  expect(applySettings(parseConfig("consumer_timeout = 900000\n", "w.conf"), "w.conf").options).toEqual({ consumerTimeoutMs: 900000 });
});
