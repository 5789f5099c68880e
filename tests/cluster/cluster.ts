// Shared by the edge-to-cluster tests (and scripts/bench_cluster.ts): the real three-node RabbitMQ
// cluster that ../shared/scripts/reference-rabbitmq-cluster starts (RABBITMQ_CLUSTER_URLS,
// RABBITMQ_CLUSTER_HTTP), taking one of its nodes down and back, Warren edges in processes of
// their own, and a TCP proxy per (edge, node) so that a test can cut an edge's uplink.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { api, type ApiResponse, basic } from "../helpers/http.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp_proxy.ts";
import { freePort, killAllWarrens, ROOT, spawnWarren, type WarrenProcess } from "../helpers/warren_process.ts";
import { afterAll, beforeAll } from "bun:test";

export interface Cluster {
  /** amqp://guest:guest@127.0.0.1:5691 … one per node, node 1 first. */
  urls: string[];
  /** The management API of node 1 (http://127.0.0.1:16691) and its credentials. */
  http: string;
  auth: string;
  script: string;
}

/** The script that starts and stops the cluster (beside the repository, as in CI). */
export const CLUSTER_SCRIPT = process.env.RABBITMQ_CLUSTER_SCRIPT ?? resolve(ROOT, "../shared/scripts/reference-rabbitmq-cluster");

/** The cluster named by RABBITMQ_CLUSTER_URLS and RABBITMQ_CLUSTER_HTTP, or why there is none. */
export function clusterFromEnv(): Cluster | string {
  const urls = process.env.RABBITMQ_CLUSTER_URLS;
  const http = process.env.RABBITMQ_CLUSTER_HTTP;
  if (!urls || !http) {
    return "RABBITMQ_CLUSTER_URLS and RABBITMQ_CLUSTER_HTTP are not set (start one with ../shared/scripts/reference-rabbitmq-cluster start)";
  }
  if (!existsSync(CLUSTER_SCRIPT)) return `${CLUSTER_SCRIPT} is missing (it takes cluster nodes down and back)`;
  const u = new URL(http);
  return {
    urls: urls.split(","),
    http: `${u.protocol}//${u.host}`,
    auth: basic(decodeURIComponent(u.username || "guest"), decodeURIComponent(u.password || "guest")),
    script: CLUSTER_SCRIPT,
  };
}

export function clusterApi(c: Cluster, method: string, path: string, body?: unknown): Promise<ApiResponse> {
  return api(c.http, method, path, body, c.auth);
}

/** The node (1, 2, 3) whose AMQP port is `port`, or undefined. */
export function nodeOfPort(c: Cluster, port: number): number | undefined {
  const i = c.urls.findIndex((u) => Number(new URL(u).port) === port);
  return i < 0 ? undefined : i + 1;
}

/**
 * Takes node `n` down (rabbitmqctl stop_app: its listeners close, its connections are closed);
 * asynchronous, so that the test's own publishers keep going meanwhile.
 */
export function stopNode(c: Cluster, n: number): Promise<void> {
  return run(c, "stop-node", n);
}

export function startNode(c: Cluster, n: number): Promise<void> {
  return run(c, "start-node", n);
}

function run(c: Cluster, what: string, n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(c.script, [what, String(n)], { timeout: 180_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${c.script} ${what} ${n} failed: ${err.message} ${stderr}`));
      else resolve();
    });
  });
}

/** Waits until every node of the cluster is running (after a start-node). */
export async function untilAllNodesRunning(c: Cluster, timeoutMs = 120_000): Promise<void> {
  await until("every cluster node running", async () => {
    const r = await clusterApi(c, "GET", "/api/nodes").catch(() => undefined);
    return r?.status === 200 && (r.body as { running: boolean }[]).filter((n) => n.running).length === c.urls.length;
  }, timeoutMs);
}

export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** A Warren edge in its own process, with a proxy in front of each cluster node (its uplink). */
export interface Edge {
  name: string;
  warren: WarrenProcess;
  /** amqp://guest:guest@127.0.0.1:<port> */
  url: string;
  httpUrl: string;
  /** http://127.0.0.1:<port>/metrics */
  metricsUrl: string;
  /** One per cluster node, in node order. */
  proxies: TcpProxy[];
  /** The cluster's URIs through this edge's proxies, node order. */
  uplinkUris: string[];
  call(method: string, path: string, body?: unknown): Promise<ApiResponse>;
  /** Cuts the uplink: live connections dropped, new ones refused, until restoreUplink(). */
  cutUplink(): void;
  restoreUplink(): void;
  /** The cluster node (1, 2, 3) behind a URI of uplinkUris (or undefined). */
  nodeOf(uri: string | undefined): number | undefined;
  stop(): Promise<void>;
}

export async function startEdge(c: Cluster, name: string, extraArgs: string[] = []): Promise<Edge> {
  const dataDir = await mkdtemp(join(tmpdir(), `warren-${name}-`));
  const [httpPort, metricsPort] = [await freePort(), await freePort()];
  const args = ["--http-port", String(httpPort), "--metrics-port", String(metricsPort), ...extraArgs];
  const warren = await spawnWarren({ dataDir, args, logLevel: "info" });
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const call = (method: string, path: string, body?: unknown) => api(httpUrl, method, path, body);
  // Distinct cluster names: federation names its upstream queue after the downstream's.
  await until(`${name}'s management API`, async () => (await call("GET", "/api/overview").catch(() => undefined))?.status === 200);
  await call("PUT", "/api/cluster-name", { name });
  const proxies = await Promise.all(c.urls.map((u) => startTcpProxy("127.0.0.1", Number(new URL(u).port))));
  const uplinkUris = c.urls.map((u, i) => {
    const url = new URL(u);
    return `amqp://${url.username}:${url.password}@127.0.0.1:${proxies[i]!.port}`;
  });
  return {
    name,
    warren,
    url: warren.url,
    httpUrl,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    proxies,
    uplinkUris,
    call,
    cutUplink() {
      for (const p of proxies) {
        p.refuse();
        p.cut();
      }
    },
    restoreUplink() {
      for (const p of proxies) p.accept();
    },
    nodeOf(uri) {
      if (uri === undefined) return undefined;
      const port = Number(/:(\d+)(?:\/|$)/.exec(uri)?.[1]);
      const i = proxies.findIndex((p) => p.port === port);
      return i < 0 ? undefined : i + 1;
    },
    async stop() {
      await warren.kill9().catch(() => {});
      await Promise.all(proxies.map((p) => p.stop()));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Deletes queues and exchanges on the cluster whose names start with `prefix`. */
export async function cleanCluster(c: Cluster, prefix: string): Promise<void> {
  for (const kind of ["queues", "exchanges"] as const) {
    const r = await clusterApi(c, "GET", `/api/${kind}/%2f`).catch(() => undefined);
    for (const item of (r?.body ?? []) as { name: string }[]) {
      if (item.name.startsWith(prefix) || item.name.startsWith(`federation: ${prefix}`)) {
        await clusterApi(c, "DELETE", `/api/${kind}/%2f/${encodeURIComponent(item.name)}`);
      }
    }
  }
}

/** What a cluster test file shares: the cluster (unless skipped), its edges, and clean-ups. */
export interface ClusterSuite {
  skip: boolean;
  cluster(): Cluster;
  edges: Edge[];
  /** Run first in afterAll (close the test's own connections). */
  cleanups: (() => Promise<void>)[];
}

/**
 * Sets up a test file against the cluster: skips (saying why) without one; before, waits for
 * every node and removes `prefix` objects; after, stops the edges, starts any node a test left
 * down and removes the objects again.
 */
export function clusterSuite(what: string, prefix: string): ClusterSuite {
  const found = clusterFromEnv();
  const skip = typeof found === "string";
  if (skip) console.log(`skipping ${what}: ${found}`);
  const suite: ClusterSuite = {
    skip,
    cluster: () => found as Cluster,
    edges: [],
    cleanups: [],
  };
  beforeAll(async () => {
    if (skip) return;
    await untilAllNodesRunning(found as Cluster);
    await cleanCluster(found as Cluster, prefix);
  });
  afterAll(async () => {
    if (skip) return;
    const c = found as Cluster;
    for (const fn of suite.cleanups) await fn().catch(() => {});
    await Promise.all(suite.edges.map((e) => e.stop()));
    await killAllWarrens();
    for (let n = 1; n <= c.urls.length; n++) await startNode(c, n); // idempotent: a node left down comes back
    await cleanCluster(c, prefix).catch(() => {});
  });
  return suite;
}
