// Purging or deleting a durable queue with a large backlog (storage/dropped_ranges.ts): the reply
// comes as soon as the drop's first commit is durable, the rest of the rows go a chunk per commit
// while the broker serves everyone else, and a restart finds nothing of them. amqplib and
// @cloudamqp/amqp-client over TCP, two queues of 30,000 persistent messages each.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { AMQPClient } from "@cloudamqp/amqp-client";
import type { SqliteStore } from "../../storage/sqlite_store.ts";
import { DROP_CHUNK_ROWS } from "../../storage/dropped_ranges.ts";
import { cleanupRestartBrokers, connect, start, stop, tempDir } from "../helpers/restart_brokers.ts";
import { until } from "../helpers/until.ts";

setDefaultTimeout(120_000);
afterAll(cleanupRestartBrokers);

const MESSAGES = 30_000; // several chunks' worth
const body = Buffer.alloc(200, 7);

test("a purge and a queue delete of 30,000 messages answer at once, the rows go in the background, and a restart finds none", async () => {
  expect(MESSAGES).toBeGreaterThan(3 * DROP_CHUNK_ROWS);
  const dir = await tempDir();
  const first = await start(dir);
  const store = first.broker.store as SqliteStore;
  const count = (sql: string, ...params: number[]) => store.db.prepare(sql).get<{ n: number }>(...params)!.n;
  const rangesLeft = () => count("SELECT COUNT(*) AS n FROM dropped_ranges");
  const rowsOf = (queueId: number) => count("SELECT COUNT(*) AS n FROM queue_messages WHERE queue_id = ?", queueId);

  const conn = await connect(first.url);
  const ch = await conn.createConfirmChannel();
  for (const q of ["purged", "deleted", "other"]) await ch.assertQueue(q, { durable: true });
  for (let i = 0; i < MESSAGES; i++) {
    ch.sendToQueue("purged", body, { persistent: true });
    ch.sendToQueue("deleted", body, { persistent: true });
  }
  await ch.waitForConfirms();
  const vhost = first.broker.vhosts.get("/")!;
  const purgedId = vhost.queues.get("purged")!.storeId;
  const deletedId = vhost.queues.get("deleted")!.storeId;
  expect(rowsOf(purgedId)).toBe(MESSAGES);

  // amqplib purges; the reply comes before the rows are gone.
  expect((await ch.purgeQueue("purged")).messageCount).toBe(MESSAGES);
  expect(rangesLeft()).toBe(1);
  expect(rowsOf(purgedId)).toBeGreaterThan(0);
  // @cloudamqp/amqp-client deletes the other queue meanwhile, and publishes with a confirm.
  const client = new AMQPClient(first.url);
  const other = await client.connect();
  const och = await other.channel();
  expect((await och.queueDelete("deleted")).messageCount).toBe(MESSAGES);
  await och.confirmSelect();
  await och.basicPublish("", "other", "still served", { deliveryMode: 2 });
  await until("the dropped rows deleted", () => rangesLeft() === 0);
  expect(rowsOf(purgedId)).toBe(0);
  expect(rowsOf(deletedId)).toBe(0);
  // Published after the purge, into the purged queue: kept.
  ch.sendToQueue("purged", Buffer.from("after the purge"), { persistent: true });
  await ch.waitForConfirms();
  await other.close();
  await conn.close();
  await stop(first.broker);

  const second = await start(dir);
  const conn2 = await connect(second.url);
  const ch2 = await conn2.createChannel();
  expect((await ch2.checkQueue("purged")).messageCount).toBe(1);
  expect((await ch2.get("purged", { noAck: true }) || undefined)?.content.toString()).toBe("after the purge");
  expect((await ch2.checkQueue("other")).messageCount).toBe(1);
  await expect(ch2.checkQueue("deleted")).rejects.toThrow(/NOT_FOUND/);
  await conn2.close().catch(() => {});
  const store2 = second.broker.store as SqliteStore;
  expect(store2.db.prepare("SELECT COUNT(*) AS n FROM messages").get<{ n: number }>()!.n).toBe(1);
  await stop(second.broker);
});
