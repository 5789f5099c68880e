// Edge → cluster, store and forward (issue 25): two Warren edges, each in a process of its own,
// shovel a durable local queue into one quorum queue on a real three-node RabbitMQ cluster,
// on-confirm, with the cluster's three URIs (through a TCP proxy per node: the edge's uplink).
// While the messages flow: the cluster node the shovels are connected to is stopped and brought
// back (each edge's node, if they differ), then every edge's uplink is cut for 30 s. Every message
// an edge confirmed to its publisher must be in the quorum queue; duplicates (at-least-once) are
// counted and printed. Needs RABBITMQ_CLUSTER_URLS / RABBITMQ_CLUSTER_HTTP (skips without).
// WARREN_CLUSTER_MESSAGES sets the messages per edge (default 100000, the number).
import { expect, test } from "bun:test";
import amqp, { type ChannelModel } from "amqplib";
import {
  type Cluster,
  clusterApi,
  clusterSuite,
  type Edge,
  startEdge,
  startNode,
  stopNode,
  until,
  untilAllNodesRunning,
} from "./cluster.ts";

const PREFIX = "cluster-shovel-";
const suite = clusterSuite("the edge → cluster shovel test", PREFIX);
const { skip, edges } = suite;

const PER_EDGE = Number(process.env.WARREN_CLUSTER_MESSAGES ?? 100_000);
const CUT_MS = Number(process.env.WARREN_CLUSTER_CUT_MS ?? 30_000);
const QQ = `${PREFIX}inbox`;
const OUTBOX = `${PREFIX}outbox`;

// deno-lint-ignore no-explicit-any
type Status = Record<string, any>;

async function shovelOf(edge: Edge): Promise<Status | undefined> {
  const r = await edge.call("GET", "/api/shovels/%2f");
  return (r.body as Status[]).find((s) => s.name === `${PREFIX}uplink`);
}

/** Publishes `${edge}:${i}` for i in [from, to) persistently with confirms; resolves when all are confirmed. */
async function publish(conn: ChannelModel, edge: string, from: number, to: number): Promise<void> {
  const ch = await conn.createConfirmChannel();
  const body = Buffer.alloc(200, 0x2e);
  for (let i = from; i < to; i++) {
    const id = `${edge}:${i}`;
    body.write(id.padEnd(24, " "), 0);
    if (!ch.publish("", OUTBOX, Buffer.from(body), { persistent: true, messageId: id })) await new Promise((r) => ch.once("drain", r));
    if ((i - from) % 2000 === 1999) await ch.waitForConfirms();
  }
  await ch.waitForConfirms();
  await ch.close();
}

async function untilRunning(what: string, timeoutMs = 120_000): Promise<void> {
  await until(what, async () => (await Promise.all(edges.map(shovelOf))).every((s) => s?.state === "running"), timeoutMs);
}

test.skipIf(skip)(
  `two edges shovel ${PER_EDGE} persistent messages each into a quorum queue through a node stop and 30 s uplink cuts; nothing confirmed is lost`,
  async () => {
    const c = suite.cluster();
    const started = Date.now();
    for (const name of ["edge-a", "edge-b"]) edges.push(await startEdge(c, `${PREFIX}${name}`));
    const publishers: ChannelModel[] = [];
    for (const e of edges) {
      const conn = await amqp.connect(e.url);
      publishers.push(conn);
      const ch = await conn.createChannel();
      await ch.assertQueue(OUTBOX, { durable: true });
      await ch.close();
      const put = await e.call("PUT", `/api/parameters/shovel/%2f/${PREFIX}uplink`, {
        value: {
          "src-uri": "amqp://",
          "src-queue": OUTBOX,
          "dest-uri": e.uplinkUris,
          "dest-queue": QQ,
          "dest-queue-args": { "x-queue-type": "quorum" },
          "ack-mode": "on-confirm",
          "reconnect-delay": 1,
        },
      });
      expect(put.status).toBeLessThan(300);
    }
    await untilRunning("both shovels running");
    const names = edges.map((e) => e.name);
    const quarter = Math.ceil(PER_EDGE / 4);
    const phase = (k: number) =>
      Promise.all(edges.map((_, i) => publish(publishers[i]!, names[i]!, k * quarter, Math.min((k + 1) * quarter, PER_EDGE))));
    const timeline: string[] = [];
    const mark = (what: string) => timeline.push(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);

    // 1. A quarter flows; then the node each edge's shovel uses goes down (one after the other
    //    when they differ) while the next quarter is published.
    await phase(0);
    mark("first quarter confirmed at the edges");
    const publishing = phase(1);
    const stopped = new Set<number>();
    for (const e of edges) {
      const node = e.nodeOf((await shovelOf(e))?.dest_node?.uri);
      expect(node).toBeDefined();
      if (stopped.has(node!)) continue;
      stopped.add(node!);
      const stopping = stopNode(c, node!);
      mark(`stopping node ${node} (${e.name}'s shovel is on it)`);
      await until(`${e.name}'s shovel on another node`, async () => {
        const s = await shovelOf(e);
        return s?.state === "running" && e.nodeOf(s.dest_node?.uri) !== node;
      }, 120_000);
      const failover = (await shovelOf(e))!.failovers.at(-1);
      mark(`${e.name}'s shovel running on another node, ${failover.down_ms} ms after its connection closed`);
      await stopping;
      mark(`node ${node} stopped`);
      await startNode(c, node!);
      await untilAllNodesRunning(c);
      mark(`node ${node} back`);
    }
    await publishing;
    mark("second quarter confirmed at the edges");

    // 2. Both uplinks cut for CUT_MS while the third quarter is published (stored at the edges).
    for (const e of edges) e.cutUplink();
    mark(`uplinks cut for ${CUT_MS} ms`);
    await Promise.all([phase(2), new Promise((r) => setTimeout(r, CUT_MS))]);
    for (const e of edges) e.restoreUplink();
    mark("uplinks restored");
    await phase(3);
    mark("last quarter confirmed at the edges");
    await Promise.all(publishers.map((p) => p.close()));

    // 3. The edges drain; then every confirmed message must be in the quorum queue.
    await until("both outboxes empty", async () => {
      const counts = await Promise.all(edges.map(async (e) => (await e.call("GET", `/api/queues/%2f/${OUTBOX}`)).body));
      return counts.every((q) => q.messages === 0);
    }, 600_000);
    mark("edge outboxes drained");
    const received = await drainQuorumQueue(c, PER_EDGE * edges.length);
    mark(`quorum queue drained (${received.length} messages)`);
    let duplicates = 0;
    for (const name of names) {
      const seen = new Map<number, number>();
      for (const id of received) {
        if (!id.startsWith(`${name}:`)) continue;
        const i = Number(id.slice(name.length + 1));
        seen.set(i, (seen.get(i) ?? 0) + 1);
      }
      const missing: number[] = [];
      for (let i = 0; i < PER_EDGE; i++) if (!seen.has(i)) missing.push(i);
      const dups = [...seen.values()].reduce((n, k) => n + k - 1, 0);
      duplicates += dups;
      console.log(
        `${name}: ${PER_EDGE} confirmed at the edge, ${seen.size} distinct in the quorum queue, ${missing.length} missing, ${dups} duplicates`,
      );
      expect(missing.slice(0, 10)).toEqual([]);
    }

    // 4. Observability: the failovers the node stops caused are in status and in Prometheus.
    for (const e of edges) {
      const s = (await shovelOf(e))!;
      console.log(`${e.name}: dest_node ${JSON.stringify(s.dest_node)}, failovers ${JSON.stringify(s.failovers)}`);
      expect(s.failover_count).toBeGreaterThanOrEqual(1);
      expect(s.failovers.at(-1).side).toBe("destination");
      expect(s.failovers.at(-1).timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      const metrics = await (await fetch(e.metricsUrl)).text();
      const line = metrics.split("\n").find((l) => l.startsWith(`warren_shovel_failovers_total{`) && l.includes('side="destination"'));
      expect(Number(line?.split(" ").at(-1))).toBe(s.failovers.filter((f: Status) => f.side === "destination").length);
    }
    console.log(`edge → cluster timeline:\n  ${timeline.join("\n  ")}\n  duplicates in all: ${duplicates}`);
  },
  900_000,
);

/** Consumes the quorum queue until it is empty and at least `expected` arrived; returns the ids. */
async function drainQuorumQueue(c: Cluster, expected: number): Promise<string[]> {
  const conn = await amqp.connect(c.urls[0]!);
  const ch = await conn.createChannel();
  await ch.prefetch(2000);
  const ids: string[] = [];
  await ch.consume(QQ, (m) => {
    if (!m) return;
    ids.push(String(m.properties.messageId));
    ch.ack(m);
  }, { arguments: {} });
  await until(`${expected} messages from the quorum queue (have ${ids.length})`, () => ids.length >= expected, 600_000);
  // Whatever is left (duplicates) arrives too: wait until the queue reports nothing ready.
  await until("the quorum queue empty", async () => {
    const q = (await clusterApi(c, "GET", `/api/queues/%2f/${encodeURIComponent(QQ)}`)).body;
    return q.messages === 0;
  }, 120_000);
  await conn.close();
  return ids;
}
