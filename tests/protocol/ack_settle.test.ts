// Acks, nacks and rejects as the hot path settles them: straight from the channel's unacked
// deliveries, resuming only the queues whose consumers got credit back (all of the channel's
// when a channel-wide prefetch was freed). A round trip on the same channel (checkQueue) is the
// barrier: deliveries an ack releases are written before its reply.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { type Channel, type ConsumeMessage } from "amqplib";
import { withTimeout } from "../helpers/broker.ts";
import { brokerWithConnection } from "../helpers/broker_with_connection.ts";

setDefaultTimeout(30_000);

const shared = brokerWithConnection();

async function queueWith(ch: Channel, name: string, count: number, args: Record<string, unknown> = {}): Promise<void> {
  await ch.assertQueue(name, { durable: false, arguments: args });
  for (let i = 0; i < count; i++) ch.sendToQueue(name, Buffer.from(`${name}-${i}`));
  await ch.checkQueue(name); // the publishes are in
}

function bodies(messages: ConsumeMessage[]): string[] {
  return messages.map((m) => m.content.toString());
}

describe("settling deliveries", () => {
  test("an ack resumes only its own consumer: a consumer of another queue on the channel stays at its prefetch", async () => {
    const ch = await shared.conn.createChannel();
    await queueWith(ch, "settle-a", 3);
    await queueWith(ch, "settle-b", 3);
    await ch.prefetch(1);
    const a: ConsumeMessage[] = [];
    const b: ConsumeMessage[] = [];
    await ch.consume("settle-a", (m) => m && a.push(m));
    await ch.consume("settle-b", (m) => m && b.push(m));
    await ch.checkQueue("settle-a");
    expect(bodies(a)).toEqual(["settle-a-0"]);
    expect(bodies(b)).toEqual(["settle-b-0"]);
    ch.ack(a[0]!);
    await ch.checkQueue("settle-a");
    expect(bodies(a)).toEqual(["settle-a-0", "settle-a-1"]);
    expect(bodies(b)).toEqual(["settle-b-0"]);
    // Tags so far: a-0 1, b-0 2, a-1 3. Multiple up to a-1 covers b-0 as well: both move on.
    ch.ack(a[1]!, true);
    await ch.checkQueue("settle-a");
    expect(bodies(a)).toEqual(["settle-a-0", "settle-a-1", "settle-a-2"]);
    expect(bodies(b)).toEqual(["settle-b-0", "settle-b-1"]);
    ch.ackAll();
    await ch.checkQueue("settle-a");
    expect(bodies(b)).toEqual(["settle-b-0", "settle-b-1", "settle-b-2"]);
    ch.ackAll();
    const left = await ch.checkQueue("settle-b");
    expect(left.messageCount).toBe(0);
    await ch.deleteQueue("settle-a");
    await ch.deleteQueue("settle-b");
    await ch.close();
  });

  test("with a channel-wide prefetch, acking one queue's delivery lets another queue's consumer go on", async () => {
    const ch = await shared.conn.createChannel();
    await queueWith(ch, "settle-g1", 2);
    await queueWith(ch, "settle-g2", 2);
    await ch.prefetch(2, true); // global: shared by the channel's consumers
    const g1: ConsumeMessage[] = [];
    const g2: ConsumeMessage[] = [];
    await ch.consume("settle-g1", (m) => m && g1.push(m));
    await ch.checkQueue("settle-g1");
    expect(bodies(g1)).toEqual(["settle-g1-0", "settle-g1-1"]); // the channel is at its limit
    await ch.consume("settle-g2", (m) => m && g2.push(m));
    await ch.checkQueue("settle-g2");
    expect(g2).toEqual([]);
    ch.ack(g1[0]!);
    await ch.checkQueue("settle-g2");
    // The freed credit went to whichever queue drained first; in all, one more delivery.
    expect(g1.length + g2.length).toBe(3);
    ch.ackAll();
    await ch.checkQueue("settle-g2");
    expect(g1.length + g2.length).toBe(4);
    ch.ackAll();
    await ch.deleteQueue("settle-g1");
    await ch.deleteQueue("settle-g2");
    await ch.close();
  });

  test("an ack of a basic.get delivery under a channel-wide prefetch resumes the channel's consumer", async () => {
    const ch = await shared.conn.createChannel();
    await queueWith(ch, "settle-get", 3);
    await ch.prefetch(1, true);
    const got = await ch.get("settle-get", { noAck: false });
    expect(got && got.content.toString()).toBe("settle-get-0");
    const consumed: ConsumeMessage[] = [];
    await ch.consume("settle-get", (m) => m && consumed.push(m));
    await ch.checkQueue("settle-get");
    expect(consumed).toEqual([]); // the get holds the channel's only credit
    ch.ack(got as unknown as ConsumeMessage);
    await ch.checkQueue("settle-get");
    expect(bodies(consumed)).toEqual(["settle-get-1"]);
    ch.ackAll();
    await ch.deleteQueue("settle-get");
    await ch.close();
  });

  test("nack multiple with requeue puts deliveries back in order and redelivers them", async () => {
    const ch = await shared.conn.createChannel();
    await queueWith(ch, "settle-requeue", 4);
    await ch.prefetch(10);
    const seen: ConsumeMessage[] = [];
    await ch.consume("settle-requeue", (m) => m && seen.push(m));
    await ch.checkQueue("settle-requeue");
    expect(seen.length).toBe(4);
    ch.nack(seen[2]!, true, true); // the first three go back
    await ch.checkQueue("settle-requeue");
    expect(bodies(seen.slice(4))).toEqual(["settle-requeue-0", "settle-requeue-1", "settle-requeue-2"]);
    expect(seen.slice(4).every((m) => m.fields.redelivered)).toBe(true);
    ch.ackAll();
    const left = await ch.checkQueue("settle-requeue");
    expect(left.messageCount).toBe(0);
    await ch.deleteQueue("settle-requeue");
    await ch.close();
  });

  test("nack of everything, dead-lettered back to a queue this channel consumes, settles only what was delivered before", async () => {
    const ch = await shared.conn.createChannel();
    await ch.assertQueue("settle-dlq", { durable: false });
    await queueWith(ch, "settle-src", 3, { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "settle-dlq" });
    await ch.prefetch(0);
    const src: ConsumeMessage[] = [];
    const dlq: ConsumeMessage[] = [];
    await ch.consume("settle-dlq", (m) => m && dlq.push(m));
    await ch.consume("settle-src", (m) => m && src.push(m));
    await ch.checkQueue("settle-src");
    expect(src.length).toBe(3);
    ch.nackAll(false); // basic.nack tag 0, multiple: every outstanding delivery, dead-lettered
    await ch.checkQueue("settle-dlq");
    // Each came back once through the dead-letter queue, and is outstanding there (not nacked too).
    expect(bodies(dlq)).toEqual(["settle-src-0", "settle-src-1", "settle-src-2"]);
    expect(dlq.every((m) => m.properties.headers?.["x-death"] !== undefined)).toBe(true);
    ch.ackAll();
    const left = await ch.checkQueue("settle-dlq");
    expect(left.messageCount).toBe(0);
    await ch.deleteQueue("settle-src");
    await ch.deleteQueue("settle-dlq");
    await ch.close();
  });

  test("acking an unknown tag closes the channel with 406 naming the tag", async () => {
    const ch = await shared.conn.createChannel();
    const closed = new Promise<Error>((resolve) => ch.once("error", resolve));
    ch.ack({ fields: { deliveryTag: 42 } } as unknown as ConsumeMessage, true);
    const err = await withTimeout(closed, 5000, "channel error");
    expect(err.message).toContain("PRECONDITION_FAILED - unknown delivery tag 42");
  });
});
