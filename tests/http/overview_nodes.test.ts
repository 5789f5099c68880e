// /api/overview, /api/nodes, /api/vhosts and the health checks.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import amqp from "amqplib";
import { createManagementApp, type ManagementApp } from "../../src/http/app.ts";
import { checkPassword } from "../../src/auth/password.ts";
import { ratesFor } from "../../src/http/rates.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api } from "../helpers/http.ts";

let tb: TestBroker;
let app: ManagementApp;

beforeAll(async () => {
  tb = await startTestBroker();
  app = createManagementApp(tb.broker);
});
afterAll(() => tb.stop());

describe("overview", () => {
  test("object totals, queue totals and message stats follow the broker", async () => {
    const conn = await amqp.connect(tb.url);
    const ch = await conn.createChannel();
    await ch.assertQueue("http-oq", { durable: false });
    ch.sendToQueue("http-oq", Buffer.from("x"));
    ch.publish("amq.direct", "nowhere", Buffer.from("y"));
    await ch.get("http-oq", { noAck: true });
    await ch.get("http-oq", { noAck: true }); // empty
    const o = (await api(app, "GET", "/api/overview")).body;
    // 7 exchanges, as RabbitMQ: the default, amq.direct/fanout/topic/headers/match and amq.rabbitmq.trace.
    expect(o.object_totals).toEqual({ channels: 1, connections: 1, consumers: 0, exchanges: 7, queues: 1 });
    expect(o.queue_totals).toMatchObject({ messages: 0, messages_ready: 0, messages_unacknowledged: 0 });
    expect(o.message_stats).toMatchObject({ publish: 2, get_no_ack: 1, get_empty: 1, drop_unroutable: 1, deliver_get: 1 });
    expect(o.churn_rates).toMatchObject({ connection_created: 1, channel_created: 1, queue_declared: 1, queue_created: 1 });
    expect(o).toMatchObject({
      management_version: "3.10.8",
      rabbitmq_version: "3.10.8",
      product_name: "Warren",
      rates_mode: "basic",
      node: tb.broker.alarms.node,
    });
    const protocols = o.listeners.map((l: { protocol: string; port: number }) => `${l.protocol}:${l.port}`);
    expect(protocols).toEqual([`amqp:${tb.port}`, `http:${tb.httpPort}`, `http/prometheus:${tb.metricsPort}`]);
    await conn.close();
  });
});

describe("nodes", () => {
  test("one node with memory, disk and fd readings and the alarm flags", async () => {
    const nodes = (await api(app, "GET", "/api/nodes")).body;
    expect(nodes).toHaveLength(1);
    const n = nodes[0];
    expect(n).toMatchObject({
      name: tb.broker.alarms.node,
      running: true,
      mem_alarm: false,
      disk_free_alarm: false,
      mem_limit: tb.broker.alarms.memoryThreshold,
      disk_free_limit: 50_000_000,
    });
    expect(n.mem_used).toBeGreaterThan(0);
    expect(n.disk_free).toBeGreaterThan(0);
    expect(n.fd_used).toBeGreaterThan(0);
    expect(n.fd_total).toBeGreaterThan(0);
    expect(n.uptime).toBeGreaterThanOrEqual(0);
    expect((await api(app, "GET", `/api/nodes/${encodeURIComponent(n.name)}`)).body.name).toBe(n.name);
    expect((await api(app, "GET", "/api/nodes/rabbit@nowhere")).status).toBe(404);
  });

  test("node readings have rates from the 5 s samples", async () => {
    const sampler = ratesFor(tb.broker);
    const t0 = Date.now();
    sampler.sampleAll(t0);
    const conn = await amqp.connect(tb.url);
    sampler.sampleAll(t0 + 5000);
    const n = (await api(app, "GET", "/api/nodes")).body[0];
    expect(n.sockets_used).toBe(1);
    expect(n.sockets_used_details).toEqual({ rate: 0.2 });
    expect(typeof n.mem_used_details.rate).toBe("number");
    await conn.close();
  });

  test("an alarm shows on the node and fails the alarm health checks with 503", async () => {
    tb.broker.alarms.setDiskFreeLimit(Number.MAX_SAFE_INTEGER);
    try {
      expect((await api(app, "GET", "/api/nodes")).body[0].disk_free_alarm).toBe(true);
      const r = await api(app, "GET", "/api/health/checks/alarms");
      expect(r.status).toBe(503);
      expect(r.body).toEqual({
        status: "failed",
        reason: "There are alarms in effect in the cluster",
        alarms: [{ node: tb.broker.alarms.node, resource: "disk" }],
      });
      expect((await api(app, "GET", "/api/health/checks/local-alarms")).body.reason).toBe("There are alarms in effect on the node");
    } finally {
      tb.broker.alarms.setDiskFreeLimit(50_000_000);
    }
    expect((await api(app, "GET", "/api/health/checks/alarms")).body).toEqual({ status: "ok" });
  });
});

describe("vhosts", () => {
  test("GET lists vhosts; PUT creates one and grants its creator full permissions", async () => {
    expect((await api(app, "GET", "/api/vhosts")).body.map((v: { name: string }) => v.name)).toEqual(["/"]);
    expect((await api(app, "PUT", "/api/vhosts/http-v1", {})).status).toBe(201);
    expect((await api(app, "PUT", "/api/vhosts/http-v1", {})).status).toBe(204);
    const v = (await api(app, "GET", "/api/vhosts/http-v1")).body;
    expect(v).toMatchObject({ name: "http-v1", messages: 0, tracing: false });
    expect(tb.broker.users.permission("guest", "http-v1")).toMatchObject({ configure: ".*", write: ".*", read: ".*" });
    const conn = await amqp.connect(`${tb.url}/http-v1`); // usable over AMQP at once
    await conn.close();
  });

  test("DELETE is 405 until the broker can delete vhosts", async () => {
    const canDelete = typeof (tb.broker as unknown as { deleteVhost?: unknown }).deleteVhost === "function";
    const r = await api(app, "DELETE", "/api/vhosts/http-v1");
    expect(r.status).toBe(canDelete ? 204 : 405);
  });
});

describe("health checks", () => {
  test("virtual-hosts, port and protocol listeners, ready-to-serve-clients", async () => {
    expect((await api(app, "GET", "/api/health/checks/virtual-hosts")).body).toEqual({ status: "ok" });
    expect((await api(app, "GET", `/api/health/checks/port-listener/${tb.port}`)).body).toEqual({ status: "ok", port: tb.port });
    const missing = await api(app, "GET", "/api/health/checks/port-listener/1");
    expect(missing.status).toBe(503);
    expect(missing.body).toMatchObject({ status: "failed", reason: "No active listener", missing: 1 });
    // Found by the HTTP fuzzer; RabbitMQ's answer (binary_to_integer fails).
    expect(await api(app, "GET", "/api/health/checks/port-listener/x")).toMatchObject({
      status: 400,
      body: { error: "bad_request", reason: "Invalid port" },
    });
    expect((await api(app, "GET", "/api/health/checks/protocol-listener/amqp")).body).toEqual({ status: "ok", protocol: "amqp" });
    expect((await api(app, "GET", "/api/health/checks/protocol-listener/amqp091")).body).toEqual({ status: "ok", protocol: "amqp" });
    expect((await api(app, "GET", "/api/health/checks/protocol-listener/stomp")).status).toBe(503);
    expect((await api(app, "GET", "/api/health/checks/ready-to-serve-clients")).body).toEqual({ status: "ok" });
  });

  test("aliveness-test publishes to and reads from the aliveness-test queue", async () => {
    expect((await api(app, "GET", "/api/aliveness-test/%2F")).body).toEqual({ status: "ok" });
    expect((await api(app, "GET", "/api/queues/%2F/aliveness-test")).body.messages).toBe(0);
    expect((await api(app, "GET", "/api/aliveness-test/http-nowhere")).status).toBe(404);
  });

  test("hash_password gives a hash the broker accepts", async () => {
    const { ok } = (await api(app, "GET", "/api/auth/hash_password/s3cret")).body;
    expect(checkPassword("s3cret", ok, "rabbit_password_hashing_sha256")).toBe(true);
  });
});

describe("users and permissions (read-only)", () => {
  test("GET users and permissions from broker.users", async () => {
    const users = (await api(app, "GET", "/api/users")).body;
    expect(users).toEqual([{
      name: "guest",
      password_hash: expect.any(String),
      hashing_algorithm: "rabbit_password_hashing_sha256",
      tags: ["administrator"],
      limits: {},
    }]);
    expect((await api(app, "GET", "/api/users/guest")).body.name).toBe("guest");
    expect((await api(app, "GET", "/api/users/nobody")).status).toBe(404);
    const perms = (await api(app, "GET", "/api/permissions")).body;
    expect(perms).toContainEqual({ user: "guest", vhost: "/", configure: ".*", write: ".*", read: ".*" });
    expect((await api(app, "GET", "/api/permissions/%2F/guest")).body).toEqual({
      user: "guest",
      vhost: "/",
      configure: ".*",
      write: ".*",
      read: ".*",
    });
    expect((await api(app, "GET", "/api/users/guest/permissions")).body.length).toBeGreaterThanOrEqual(1);
  });
});
