// Cluster → edges, federation (issue 25): a federated exchange on each of two Warren edges (each a
// process of its own) with the real three-node RabbitMQ cluster as upstream, all three node URIs
// in the upstream's `uri` list, on-confirm, and `queue-type: quorum` so that the upstream queue
// survives the loss of a node. Messages published with confirms on every cluster node reach the
// consumers on both edges; stopping the node a link is connected to moves the link to another
// node (status and Prometheus show the failover) and loses nothing the cluster confirmed.
// Duplicates (at-least-once) are counted and printed. Needs RABBITMQ_CLUSTER_URLS (skips without).
import { expect, test } from "bun:test";
import amqp from "amqplib";
import { clusterSuite, type Edge, nodeOfPort, startEdge, startNode, stopNode, until, untilAllNodesRunning } from "./cluster.ts";

const PREFIX = "cluster-fed-";
const suite = clusterSuite("the cluster → edges federation test", PREFIX);
const { skip, edges } = suite;

/** Messages per cluster node in each of the three rounds. */
const PER_NODE = Number(process.env.WARREN_CLUSTER_FEDERATION_MESSAGES ?? 2000);
const EXCHANGE = `${PREFIX}x`;
const QUEUE = `${PREFIX}in`;

// deno-lint-ignore no-explicit-any
type Link = Record<string, any>;

async function linkOf(edge: Edge): Promise<Link | undefined> {
  return ((await edge.call("GET", "/api/federation-links/%2f")).body as Link[]).find((l) => l.exchange === EXCHANGE);
}

/** The cluster node a running link is connected to. */
const nodeOfLink = (l: Link | undefined) =>
  l?.status === "running" ? nodeOfPort(suite.cluster(), Number(new URL(l.upstream_node.uri).port)) : undefined;

/** Publishes `count` persistent messages `${tag}:${i}` on cluster node `n` with confirms; returns their ids. */
async function publishOn(n: number, tag: string, count: number): Promise<string[]> {
  const conn = await amqp.connect(suite.cluster().urls[n - 1]!);
  try {
    const ch = await conn.createConfirmChannel();
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const id = `${tag}:n${n}:${i}`;
      if (!ch.publish(EXCHANGE, "k", Buffer.from(id), { persistent: true, messageId: id })) await new Promise((r) => ch.once("drain", r));
      ids.push(id);
      if (i % 1000 === 999) await ch.waitForConfirms();
    }
    await ch.waitForConfirms();
    return ids;
  } finally {
    await conn.close().catch(() => {});
  }
}

test.skipIf(skip)(
  "messages published on any cluster node reach both edges; stopping the node a link uses moves it and loses nothing confirmed",
  async () => {
    const c = suite.cluster();
    const received: Map<string, number>[] = [];
    for (const name of ["edge-a", "edge-b"]) {
      const e = await startEdge(c, `${PREFIX}${name}`);
      edges.push(e);
      const conn = await amqp.connect(e.url);
      suite.cleanups.push(() => conn.close());
      const ch = await conn.createChannel();
      await ch.assertExchange(EXCHANGE, "fanout", { durable: true });
      await ch.assertQueue(QUEUE, { durable: true });
      await ch.bindQueue(QUEUE, EXCHANGE, "");
      const seen = new Map<string, number>();
      received.push(seen);
      await ch.prefetch(1000);
      await ch.consume(QUEUE, (m) => {
        if (!m) return;
        const id = String(m.properties.messageId);
        seen.set(id, (seen.get(id) ?? 0) + 1);
        ch.ack(m);
      });
      const up = await e.call("PUT", "/api/parameters/federation-upstream/%2f/cluster", {
        value: { uri: c.urls, "ack-mode": "on-confirm", "queue-type": "quorum", "reconnect-delay": 1 },
      });
      expect(up.status).toBeLessThan(300);
      const pol = await e.call("PUT", "/api/policies/%2f/cluster-fed", {
        pattern: `^${EXCHANGE}$`,
        "apply-to": "exchanges",
        definition: { "federation-upstream": "cluster" },
      });
      expect(pol.status).toBeLessThan(300);
    }
    await until("both links running", async () => (await Promise.all(edges.map(linkOf))).every((l) => l?.status === "running"));
    const sent: string[] = [];
    const nodes = c.urls.map((_, i) => i + 1);
    const arrived = (what: string) =>
      until(`${what}: every confirmed message on both edges`, () => received.every((seen) => sent.every((id) => seen.has(id))), 300_000);

    // Round 1: every node publishes; both edges get everything.
    for (const ids of await Promise.all(nodes.map((n) => publishOn(n, "r1", PER_NODE)))) sent.push(...ids);
    await arrived("round 1");

    // Round 2: the node each link is on goes down (one after the other when they differ); the
    // other nodes publish meanwhile; the link moves to a node still up.
    const stopped = new Set<number>();
    for (const e of edges) {
      const node = nodeOfLink(await linkOf(e));
      expect(node).toBeDefined();
      if (stopped.has(node!)) continue;
      stopped.add(node!);
      const stopping = stopNode(c, node!);
      const others = nodes.filter((n) => n !== node);
      for (const ids of await Promise.all(others.map((n) => publishOn(n, `r2-${node}`, PER_NODE)))) sent.push(...ids);
      await until(`${e.name}'s link on another node`, async () => {
        const n = nodeOfLink(await linkOf(e));
        return n !== undefined && n !== node;
      }, 120_000);
      const failover = (await linkOf(e))!.failovers.at(-1);
      console.log(`${e.name}: link moved from node ${node}: ${JSON.stringify(failover)}`);
      await stopping;
      await startNode(c, node!);
      await untilAllNodesRunning(c);
    }
    await arrived("round 2");

    // Round 3: all nodes back; every node publishes again.
    for (const ids of await Promise.all(nodes.map((n) => publishOn(n, "r3", PER_NODE)))) sent.push(...ids);
    await arrived("round 3");
    await new Promise((r) => setTimeout(r, 1000)); // late duplicates show up too

    for (const [i, e] of edges.entries()) {
      const seen = received[i]!;
      const missing = sent.filter((id) => !seen.has(id));
      const duplicates = [...seen.values()].reduce((n, k) => n + k - 1, 0);
      console.log(
        `${e.name}: ${sent.length} confirmed on the cluster, ${seen.size} distinct received, ${missing.length} missing, ${duplicates} duplicates`,
      );
      expect(missing).toEqual([]);
      // Every link was on a node that was stopped (its own, or the one it shared with edge A).
      const link = (await linkOf(e))!;
      expect(link.failover_count).toBeGreaterThanOrEqual(1);
      expect(link.failovers.at(-1).timestamp).toMatch(/^\d{4}-\d\d-\d\d \d+:\d\d:\d\d$/);
      expect(link.failovers.at(-1).down_ms).toBeGreaterThanOrEqual(0);
      const metrics = await (await fetch(e.metricsUrl)).text();
      const line = metrics.split("\n").find((l) =>
        l.startsWith("warren_federation_link_failovers_total{") && l.includes(`name="${EXCHANGE}"`)
      );
      expect(Number(line?.split(" ").at(-1))).toBe(link.failover_count);
    }
  },
  600_000,
);
