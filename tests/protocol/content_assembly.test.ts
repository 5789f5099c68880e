// Content assembly reuses one record per channel and hands basic.publish the same Content object
// each time (nothing allocated per message): these check that no message ever sees another's
// bytes — held in a transaction, interleaved across channels, split over frames, after a large
// message grew (and gave back) the connection's buffers, and after a publish that failed.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { type ConsumeMessage } from "amqplib";
import { withTimeout } from "../helpers/broker.ts";
import { MethodId } from "../../src/amqp/spec/methods.gen.ts";
import { brokerWithConnection } from "../helpers/broker_with_connection.ts";
import { openRawConnection } from "../helpers/raw_client.ts";

setDefaultTimeout(30_000);

const shared = brokerWithConnection();

/** Consumes `count` messages from `queue` (auto-ack) and cancels. */
async function take(queue: string, count: number): Promise<ConsumeMessage[]> {
  const ch = await shared.conn.createChannel();
  const got: ConsumeMessage[] = [];
  const done = new Promise<void>((resolve) => {
    void ch.consume(queue, (m) => {
      if (m) got.push(m);
      if (got.length === count) resolve();
    }, { noAck: true });
  });
  await withTimeout(done, 10_000, `${count} messages from ${queue}`);
  await ch.close();
  return got;
}

describe("content assembly", () => {
  test("messages held in a transaction keep their own bodies until commit", async () => {
    const ch = await shared.conn.createChannel();
    await ch.assertQueue("content-tx", { durable: false });
    // amqplib's promise API has no tx.select: a raw connection drives the transaction.
    const raw = await openRawConnection(shared.tb.port);
    await raw.openChannel(1);
    raw.sendMethod(1, { id: MethodId.TxSelect });
    await raw.waitForFrame((f) => f.method?.id === MethodId.TxSelectOk);
    const bodies = [0, 1, 2, 3, 4].map((i) => `message-${i}-${"x".repeat(i)}`);
    for (const body of bodies) {
      raw.sendMethod(1, {
        id: MethodId.BasicPublish,
        ticket: 0,
        exchange: "",
        routingKey: "content-tx",
        mandatory: false,
        immediate: false,
      });
      raw.sendContentHeader(1, body.length);
      raw.sendBody(1, new TextEncoder().encode(body));
    }
    raw.sendMethod(1, { id: MethodId.TxCommit });
    await raw.waitForFrame((f) => f.method?.id === MethodId.TxCommitOk);
    const got = await take("content-tx", 5);
    expect(got.map((m) => m.content.toString())).toEqual(bodies);
    raw.destroy();
    await ch.deleteQueue("content-tx");
    await ch.close();
  });

  test("contents interleaved on two channels of one connection each arrive whole", async () => {
    const ch = await shared.conn.createChannel();
    await ch.assertQueue("content-c1", { durable: false });
    await ch.assertQueue("content-c2", { durable: false });
    const raw = await openRawConnection(shared.tb.port);
    await raw.openChannel(1);
    await raw.openChannel(2);
    const publish = (channel: number, queue: string) =>
      raw.sendMethod(channel, {
        id: MethodId.BasicPublish,
        ticket: 0,
        exchange: "",
        routingKey: queue,
        mandatory: false,
        immediate: false,
      });
    publish(1, "content-c1");
    raw.sendContentHeader(1, 12);
    raw.sendBody(1, new TextEncoder().encode("one-"));
    publish(2, "content-c2");
    raw.sendContentHeader(2, 5);
    raw.sendBody(2, new TextEncoder().encode("two-2"));
    raw.sendBody(1, new TextEncoder().encode("part-two"));
    const [c1] = await take("content-c1", 1);
    const [c2] = await take("content-c2", 1);
    expect(c1!.content.toString()).toBe("one-part-two");
    expect(c2!.content.toString()).toBe("two-2");
    raw.destroy();
    await ch.deleteQueue("content-c1");
    await ch.deleteQueue("content-c2");
    await ch.close();
  });

  test("a 3 MiB message over many frames, then small ones, all arrive intact", async () => {
    const ch = await shared.conn.createChannel();
    await ch.assertQueue("content-big", { durable: false });
    const big = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    ch.sendToQueue("content-big", big, { messageId: "big", headers: { n: 0 } });
    for (let i = 1; i <= 3; i++) ch.sendToQueue("content-big", Buffer.from(`small-${i}`), { messageId: `m${i}`, headers: { n: i } });
    const got = await take("content-big", 4);
    expect(got[0]!.content.equals(big)).toBe(true);
    expect(got.map((m) => m.properties.messageId)).toEqual(["big", "m1", "m2", "m3"]);
    expect(got.slice(1).map((m) => m.content.toString())).toEqual(["small-1", "small-2", "small-3"]);
    expect(got.map((m) => m.properties.headers?.["n"])).toEqual([0, 1, 2, 3]);
    await ch.deleteQueue("content-big");
    await ch.close();
  });

  test("after a publish refused with 404 the next channel's publishes carry their own content", async () => {
    const bad = await shared.conn.createChannel();
    bad.on("error", () => {});
    const closed = new Promise<void>((resolve) => bad.once("close", () => resolve()));
    bad.publish("content-no-such-exchange", "k", Buffer.from("lost"));
    await withTimeout(closed, 5000, "channel closed by 404");
    const ch = await shared.conn.createChannel();
    await ch.assertQueue("content-after", { durable: false });
    ch.sendToQueue("content-after", Buffer.from("kept"), { contentType: "text/plain" });
    const [m] = await take("content-after", 1);
    expect(m!.content.toString()).toBe("kept");
    expect(m!.properties.contentType).toBe("text/plain");
    await ch.deleteQueue("content-after");
    await ch.close();
  });
});
