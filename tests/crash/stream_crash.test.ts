// Streams survive kill -9: eight streams take confirmed publishes at once (persistent and transient
// mixed: a stream keeps both) until the broker is killed; after the restart each stream holds
// every confirmed message exactly once, at consecutive offsets from 0 in publish order (commits are
// in order, so what survives is a prefix of what was published), and the next message gets the
// next offset, never one a message already had.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import amqp, { type ChannelModel } from "amqplib";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { publishUntilStopped, seeded, sleep, within } from "../helpers/crash_harness.ts";
import { killAllWarrens, spawnWarren, type WarrenProcess } from "../helpers/warren_process.ts";

setDefaultTimeout(120_000);

const SEED = Number(process.env.WARREN_CRASH_SEED ?? 22);
const STREAMS = Array.from({ length: 8 }, (_, i) => `stream-crash-${i}`);
const dirs: string[] = [];
afterAll(async () => {
  await killAllWarrens();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function connect(p: WarrenProcess): Promise<ChannelModel> {
  const conn = await within(amqp.connect(p.url), 10_000, "connecting");
  conn.on("error", () => {});
  return conn;
}

/** Reads a stream from its first offset until `count` messages came or 20 s passed: [body, offset] pairs. */
async function readAll(conn: ChannelModel, stream: string, count: number): Promise<[string, number][]> {
  const ch = await conn.createChannel();
  await ch.prefetch(1000);
  const got: [string, number][] = [];
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  await ch.consume(stream, (m) => {
    if (!m) return;
    got.push([m.content.toString(), Number(m.properties.headers!["x-stream-offset"])]);
    ch.ack(m);
    if (got.length >= count) done();
  }, { arguments: { "x-stream-offset": "first" } });
  await Promise.race([finished, sleep(20_000)]);
  await sleep(200); // anything extra (a duplicate) would arrive now
  await ch.close();
  return got;
}

test("every confirmed stream message survives kill -9 once, at consecutive offsets; offsets go on after it", async () => {
  const random = seeded(SEED);
  const dir = await mkdtemp(join(tmpdir(), "warren-stream-crash-"));
  dirs.push(dir);
  let broker = await spawnWarren({ dataDir: dir, logLevel: "info" });
  let conn = await connect(broker);
  const setup = await conn.createChannel();
  for (const s of STREAMS) await setup.assertQueue(s, { durable: true, arguments: { "x-queue-type": "stream" } });
  const confirmed = STREAMS.map(() => new Set<string>());
  const sent = STREAMS.map(() => [] as string[]);
  let stop = false;
  const publishers = STREAMS.map(async (stream, s) => {
    const ch = await conn.createConfirmChannel();
    ch.on("error", () => {});
    await publishUntilStopped(ch, (i) => {
      const id = `${stream}-m${i}`;
      sent[s]!.push(id);
      ch.sendToQueue(stream, Buffer.from(id), { persistent: i % 3 !== 0 }, (err) => {
        if (!err) confirmed[s]!.add(id);
      });
    }, () => stop);
  });
  await sleep(400 + Math.floor(random() * 1200));
  await broker.kill9();
  stop = true;
  await Promise.all(publishers.map((p) => p.catch(() => {})));
  expect(confirmed.every((c) => c.size > 0)).toBe(true);

  broker = await spawnWarren({ dataDir: dir, logLevel: "info" });
  conn = await connect(broker);
  const after = await conn.createConfirmChannel();
  for (const [s, stream] of STREAMS.entries()) {
    const count = (await after.checkQueue(stream)).messageCount;
    expect(count).toBeGreaterThanOrEqual(confirmed[s]!.size);
    const got = await readAll(conn, stream, count);
    const bodies = got.map(([b]) => b);
    // What survived is the first `count` messages published, in order, at offsets 0..count-1.
    expect(bodies).toEqual(sent[s]!.slice(0, count));
    expect(got.map(([, o]) => o)).toEqual(Array.from({ length: count }, (_, i) => i));
    const stored = new Set(bodies);
    expect([...confirmed[s]!].filter((id) => !stored.has(id))).toEqual([]);
    after.sendToQueue(stream, Buffer.from("after"));
    await after.waitForConfirms();
    const tail = await readAll(conn, stream, count + 1);
    expect(tail.at(-1)).toEqual(["after", count]);
  }
  await conn.close();
  await broker.kill9();
});
