// Edge → cluster (issue 25), side by side in one run: 1 KiB persistent messages, on-confirm, a
// backlog preloaded into a durable local queue and timed until the cluster's quorum queue holds
// all of it (rounds interleaved, so load on the shared machine hits both rows alike):
//   Warren → cluster     a Warren's shovel, dest-uri = the cluster's three nodes
//   RabbitMQ → cluster   the single reference RabbitMQ's own shovel, same destination
// then the time to resume after a node stop: a shovel moving a long backlog, the node it is on is
// stopped (rabbitmqctl stop_app), and the gap with no message forwarded is measured from its
// Prometheus counter (polled every 50 ms), with the failover's own down_ms (connection lost →
// connected to another node). Needs RABBITMQ_CLUSTER_URLS / RABBITMQ_CLUSTER_HTTP (the RabbitMQ row
// also RABBITMQ_REF_URL / RABBITMQ_REF_HTTP); skips with a message otherwise.
//   bun scripts/bench_cluster.ts [--messages 20000] [--rounds 3]
import { parseArgs } from "node:util";
import { type ClientChannel, connect } from "../src/client/mod.ts";
import {
  cleanCluster,
  type Cluster,
  clusterFromEnv,
  startEdge,
  startNode,
  stopNode,
  untilAllNodesRunning,
} from "../tests/cluster/cluster.ts";
import { killAllWarrens } from "../tests/helpers/warren_process.ts";

const { values: opts } = parseArgs({
  options: { messages: { type: "string", default: "20000" }, rounds: { type: "string", default: "3" } },
});
const N = Number(opts.messages);
const ROUNDS = Number(opts.rounds);
const ROUND_LIMIT_MS = 300_000;
const PREFIX = "cluster-bench-";
const QQ = `${PREFIX}qq`;
const progress = (msg: string) => console.error(`bench_cluster: ${msg}`);

const found = clusterFromEnv();
if (typeof found === "string") {
  progress(`skipped: ${found}`);
  process.exit(0);
}
const c: Cluster = found;
const refUrl = process.env.RABBITMQ_REF_URL;
const refHttp = process.env.RABBITMQ_REF_HTTP;

async function channel(uri: string | string[]): Promise<{ ch: ClientChannel; close: () => Promise<void> }> {
  const conn = await connect({ uri, tryEvery: true });
  const ch = await conn.openChannel();
  return { ch, close: () => conn.close() };
}

/** Fills `queue` with `n` persistent 1 KiB messages, confirmed. */
async function preload(uri: string, queue: string, n: number): Promise<void> {
  const { ch, close } = await channel(uri);
  await ch.declareQueue(queue, { durable: true });
  await ch.purgeQueue(queue);
  await ch.confirmSelect();
  const body = new Uint8Array(1024).fill(120);
  const done = new Promise<void>((resolve) => ch.onConfirm((seq) => seq >= n && resolve()));
  for (let i = 0; i < n; i++) {
    if (!ch.writable) await ch.whenWritable();
    ch.publish("", queue, body, { deliveryMode: 2 });
  }
  await done;
  await close();
}

async function call(base: string, auth: string, method: string, path: string, body?: unknown): Promise<void> {
  const r = await fetch(base + path, {
    method,
    headers: { authorization: auth, "content-type": "application/json" },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (r.status >= 300 && !(method === "DELETE" && r.status === 404)) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
}

/** A fresh, empty quorum queue on the cluster. */
async function freshQuorumQueue(): Promise<{ ch: ClientChannel; close: () => Promise<void> }> {
  const q = await channel(c.urls);
  await q.ch.deleteQueue(QQ).catch(() => undefined);
  await q.ch.declareQueue(QQ, { durable: true, arguments: { "x-queue-type": "quorum" } });
  return q;
}

/** One round: preload, start the shovel on `host`, wait until the quorum queue holds all; msg/s. */
async function round(host: { http: string; auth: string; amqp: string }, destUris: string[], tag: string): Promise<number> {
  const src = `${PREFIX}${tag}-src`;
  await preload(host.amqp, src, N);
  const q = await freshQuorumQueue();
  const name = `${PREFIX}${tag}`;
  const started = performance.now();
  try {
    await call(host.http, host.auth, "PUT", `/api/parameters/shovel/%2f/${name}`, {
      value: {
        "src-uri": "amqp://",
        "src-queue": src,
        "dest-uri": destUris,
        "dest-queue": QQ,
        "dest-queue-args": { "x-queue-type": "quorum" },
        "ack-mode": "on-confirm",
      },
    });
    while ((await q.ch.declareQueue(QQ, { passive: true })).messageCount < N) {
      if (performance.now() - started > ROUND_LIMIT_MS) throw new Error(`not all ${N} messages arrived within ${ROUND_LIMIT_MS / 1000} s`);
      await Bun.sleep(20);
    }
    return N / ((performance.now() - started) / 1000);
  } finally {
    await call(host.http, host.auth, "DELETE", `/api/parameters/shovel/%2f/${name}`).catch(() => undefined);
    await q.ch.deleteQueue(QQ).catch(() => undefined);
    await q.close().catch(() => undefined);
    const s = await channel(host.amqp).catch(() => undefined);
    await s?.ch.deleteQueue(src).catch(() => undefined);
    await s?.close().catch(() => undefined);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  await untilAllNodesRunning(c);
  await cleanCluster(c, PREFIX);
  const edge = await startEdge(c, `${PREFIX}edge`);
  const guest = "Basic " + btoa("guest:guest");
  const warrenHost = { http: edge.httpUrl, auth: guest, amqp: edge.url };
  const scenarios: { name: string; run: () => Promise<number> }[] = [
    { name: "Warren → cluster quorum queue (Warren's shovel)", run: () => round(warrenHost, c.urls, "warren") },
  ];
  if (refUrl && refHttp) {
    const u = new URL(refHttp);
    const auth = "Basic " + btoa(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`);
    const refHost = { http: `${u.protocol}//${u.host}`, auth, amqp: refUrl };
    scenarios.push({ name: "RabbitMQ → cluster quorum queue (RabbitMQ's shovel)", run: () => round(refHost, c.urls, "rabbitmq") });
  } else progress("RABBITMQ_REF_URL / RABBITMQ_REF_HTTP unset: only the Warren row");
  const rates = new Map<string, number[]>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of scenarios) {
      progress(`round ${r + 1}: ${s.name}`);
      try {
        const rate = await s.run();
        rates.set(s.name, [...(rates.get(s.name) ?? []), rate]);
      } catch (err) {
        progress(`${s.name} failed: ${(err as Error).message}`);
      }
    }
  }
  const resume = await resumeAfterNodeStop(edge.httpUrl, edge.metricsUrl, edge.url);
  const base = rates.get(scenarios[1]?.name ?? "");
  console.log(
    `\n## edge → cluster: ${N} × 1 KiB persistent, on-confirm, prefetch 1000, into a 3-node quorum queue (median of ${ROUNDS})\n`,
  );
  console.log("| scenario | msg/s | vs RabbitMQ's shovel |\n|---|---|---|");
  for (const [name, xs] of rates) {
    console.log(`| ${name} | ${median(xs).toFixed(0)} | ${base ? (median(xs) / median(base)).toFixed(2) : "—"} |`);
  }
  console.log(`\nresume after a node stop (Warren's shovel): ${resume}`);
  await edge.stop();
} finally {
  await killAllWarrens();
  for (let n = 1; n <= c.urls.length; n++) await startNode(c, n).catch(() => undefined);
  await cleanCluster(c, PREFIX).catch(() => undefined);
}

/** Stops the node a busy shovel is on; the gap with nothing forwarded, and the failover's down_ms. */
async function resumeAfterNodeStop(http: string, metricsUrl: string, amqp: string): Promise<string> {
  const src = `${PREFIX}resume-src`;
  const name = `${PREFIX}resume`;
  await preload(amqp, src, N * 3);
  const q = await freshQuorumQueue();
  const auth = "Basic " + btoa("guest:guest");
  await call(http, auth, "PUT", `/api/parameters/shovel/%2f/${name}`, {
    value: {
      "src-uri": "amqp://",
      "src-queue": src,
      "dest-uri": c.urls,
      "dest-queue": QQ,
      "dest-queue-args": { "x-queue-type": "quorum" },
      "reconnect-delay": 1,
    },
  });
  const forwarded = async () => {
    const text = await (await fetch(metricsUrl)).text();
    const line = text.split("\n").find((l) => l.startsWith("rabbitmq_shovel_messages_forwarded_total{") && l.includes(`shovel="${name}"`));
    return Number(line?.split(" ").at(-1) ?? 0);
  };
  // deno-lint-ignore no-explicit-any
  type Status = Record<string, any>;
  const status = async (): Promise<Status> =>
    ((await (await fetch(`${http}/api/shovels/%2f`, { headers: { authorization: auth } })).json()) as Status[]).find((s) =>
      s.name === name
    )!;
  while ((await forwarded()) < N / 4) await Bun.sleep(50);
  const port = new URL((await status()).dest_node.uri).port;
  const node = c.urls.findIndex((u) => new URL(u).port === port) + 1;
  progress(`stopping node ${node} under a running shovel`);
  let last = await forwarded();
  let lastChange = performance.now();
  let gap = 0;
  const stopping = stopNode(c, node);
  const deadline = performance.now() + 120_000;
  for (;;) {
    await Bun.sleep(50);
    const now = performance.now();
    const f = await forwarded();
    const s = await status();
    if (f !== last) {
      gap = Math.max(gap, now - lastChange);
      last = f;
      lastChange = now;
      if (s.failover_count > 0) break;
    }
    if (now > deadline) throw new Error("the shovel did not resume within 120 s");
  }
  const failover = (await status()).failovers.at(-1);
  await stopping;
  await startNode(c, node);
  await untilAllNodesRunning(c);
  await call(http, auth, "DELETE", `/api/parameters/shovel/%2f/${name}`);
  await q.ch.deleteQueue(QQ).catch(() => undefined);
  await q.close();
  return `${
    gap.toFixed(0)
  } ms with nothing forwarded; the failover's connection lost → connected: ${failover.down_ms} ms (${failover.reason})`;
}
