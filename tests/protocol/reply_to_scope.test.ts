// Direct reply-to names belong to one broker: two brokers in one process (tests, embedders) do
// not see each other's reply consumers.
import { afterAll, beforeAll, expect, test } from "bun:test";
import amqp from "amqplib";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";

let a: TestBroker;
let b: TestBroker;

beforeAll(async () => {
  a = await startTestBroker();
  b = await startTestBroker();
});
afterAll(async () => {
  await a.stop();
  await b.stop();
});

test("a reply-to name from one broker is unknown to another in the same process", async () => {
  const ca = await amqp.connect(a.url);
  const cb = await amqp.connect(b.url);
  try {
    const cha = await ca.createChannel();
    await cha.consume("amq.rabbitmq.reply-to", () => {}, { noAck: true });
    const requests = await cha.assertQueue("", { exclusive: true });
    // Learn this channel's reply-to name from a request it publishes to itself.
    const requestSeen = new Promise<string>((resolve) => {
      void cha.consume(requests.queue, (m) => m && resolve(m.properties.replyTo), { noAck: true });
    });
    cha.sendToQueue(requests.queue, Buffer.from("req"), { replyTo: "amq.rabbitmq.reply-to" });
    const replyTo = await requestSeen;
    expect(replyTo).toStartWith("amq.rabbitmq.reply-to.");

    expect((await cha.checkQueue(replyTo)).queue).toBe(replyTo);
    const chb = await cb.createChannel();
    chb.on("error", () => {});
    const onB = await chb.checkQueue(replyTo).then(() => "exists", (err: Error) => err.message);
    expect(onB).toContain("404");
  } finally {
    await ca.close();
    await cb.close().catch(() => {});
  }
});
