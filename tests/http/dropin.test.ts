// Management API behaviour tools rely on, checked on Warren and, when RABBITMQ_REF_HTTP is set,
// with the same assertions on the reference RabbitMQ: trailing slashes, the two endpoints the
// web UI loads, queue fields by type, `"arguments": []`, and the node and cluster names.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { hostname } from "node:os";
import { MethodId } from "../../src/amqp/spec/methods.gen.ts";
import { optionsFromEnv, qualifiedNodeName } from "../../src/config.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api } from "../helpers/http.ts";
import { httpSides } from "../helpers/http_sides.ts";
import { RawClient } from "../helpers/raw_client.ts";

setDefaultTimeout(30_000);

const REF_HTTP = process.env.RABBITMQ_REF_HTTP;
if (!REF_HTTP) console.warn("RABBITMQ_REF_HTTP unset: management drop-in tests run against Warren only");

let b: TestBroker;
beforeAll(async () => {
  b = await startTestBroker();
});
afterAll(async () => {
  await b.stop();
});

const sides = httpSides(() => b.httpUrl);

const suffix = `${process.pid}-${Date.now().toString(36)}`;

for (const side of sides) {
  const call = (method: string, path: string, body?: unknown, auth: string | null = side.auth) =>
    api(side.base(), method, path, body, auth);
  /** The queue once its stats show `field` (RabbitMQ emits them on an interval; Warren at once). */
  const queueWith = async (path: string, field: string) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const got = (await call("GET", path)).body;
      if (got?.[field] !== undefined || Date.now() > deadline) return got;
      await Bun.sleep(200);
    }
  };

  describe(`${side.name}: management API paths`, () => {
    test("a trailing slash names the same resource (GET, PUT, DELETE)", async () => {
      for (const path of ["/api/queues/", "/api/connections/", "/api/overview/", "/api/vhosts/%2F/", "/api/exchanges/%2F/"]) {
        expect({ path, status: (await call("GET", path)).status }).toEqual({ path, status: 200 });
      }
      const q = `slash-${suffix}`;
      expect((await call("PUT", `/api/queues/%2F/${q}/`, { durable: false })).status).toBe(201);
      expect((await call("GET", `/api/queues/%2F/${q}/`)).body).toMatchObject({ name: q });
      expect((await call("DELETE", `/api/queues/%2F/${q}/`)).status).toBe(204);
      expect((await call("GET", "/api/queues/%2F/no-such-queue/")).status).toBe(404);
    });

    test("GET /api/auth answers without credentials; GET /api/extensions is a list", async () => {
      const auth = await call("GET", "/api/auth", undefined, null);
      expect(auth.status).toBe(200);
      expect(auth.body).toMatchObject({ enable_uaa: false });
      expect((await call("GET", "/api/extensions", undefined, null)).status).toBe(401);
      const ext = await call("GET", "/api/extensions");
      expect(ext.status).toBe(200);
      expect(Array.isArray(ext.body)).toBe(true);
    });
  });

  describe(`${side.name}: queues`, () => {
    test("a classic queue has backing_queue_status with len and mode", async () => {
      const q = `bqs-${suffix}`;
      await call("PUT", `/api/queues/%2F/${q}`, { durable: false });
      try {
        await call("POST", "/api/exchanges/%2F/amq.default/publish", {
          properties: {},
          routing_key: q,
          payload: "x",
          payload_encoding: "string",
        });
        const got = await queueWith(`/api/queues/%2F/${q}`, "backing_queue_status");
        expect(got.type).toBe("classic");
        expect(got.backing_queue_status).toMatchObject({ mode: "default", version: 1, q1: 0 });
        expect(typeof got.backing_queue_status.len).toBe("number");
        expect(typeof got.backing_queue_status.avg_ingress_rate).toBe("number");
        const listed = (await call("GET", "/api/queues/%2F")).body.find((x: { name: string }) => x.name === q);
        expect(listed.backing_queue_status).toMatchObject({ mode: "default" });
      } finally {
        await call("DELETE", `/api/queues/%2F/${q}`);
      }
    });

    test("a quorum queue shows type quorum, its leader, members and online, and no classic-only fields", async () => {
      const q = `quorum-${suffix}`;
      await call("PUT", `/api/queues/%2F/${q}`, { durable: true, arguments: { "x-queue-type": "quorum" } });
      try {
        const node = (await call("GET", "/api/overview")).body.node;
        const got = await queueWith(`/api/queues/%2F/${q}`, "consumers");
        expect(got.type).toBe("quorum");
        expect(got.leader).toBe(node);
        expect(got.members).toEqual([node]);
        expect(got.online).toEqual([node]);
        expect(got.backing_queue_status).toBeUndefined();
        expect(got.exclusive_consumer_tag).toBeUndefined();
        expect(got).toHaveProperty("single_active_consumer_ctag", null);
      } finally {
        await call("DELETE", `/api/queues/%2F/${q}`);
      }
    });

    test('"arguments": [] is an empty table for queues, exchanges and bindings', async () => {
      const q = `argslist-q-${suffix}`;
      const x = `argslist-x-${suffix}`;
      try {
        expect((await call("PUT", `/api/queues/%2F/${q}`, { durable: false, arguments: [] })).status).toBe(201);
        expect((await call("PUT", `/api/exchanges/%2F/${x}`, { type: "direct", arguments: [] })).status).toBe(201);
        expect((await call("POST", `/api/bindings/%2F/e/${x}/q/${q}`, { routing_key: "k", arguments: [] })).status).toBe(201);
        const bindings = (await call("GET", `/api/bindings/%2F/e/${x}/q/${q}`)).body;
        expect(
          bindings.map((
            x: { routing_key: string; arguments: unknown; properties_key: string },
          ) => [x.routing_key, x.arguments, x.properties_key]),
        )
          .toEqual([["k", {}, "k"]]);
        expect((await call("GET", `/api/queues/%2F/${q}`)).body.arguments).toEqual({});
      } finally {
        await call("DELETE", `/api/queues/%2F/${q}`);
        await call("DELETE", `/api/exchanges/%2F/${x}`);
      }
    });
  });
}

describe("node and cluster names", () => {
  test("the node is rabbit@<short hostname> by default, in overview, nodes and queues", async () => {
    const node = `rabbit@${hostname().split(".")[0]}`;
    const call = (path: string) => api(b.httpUrl, "GET", path);
    expect((await call("/api/overview")).body).toMatchObject({ node, cluster_name: node });
    expect((await call("/api/nodes")).body[0]).toMatchObject({ name: node });
  });

  test("RABBITMQ_NODENAME names the node; a name without a host gets this host's short name", () => {
    expect(optionsFromEnv({ RABBITMQ_NODENAME: "rabbit@edge-7" })).toEqual({ nodeName: "rabbit@edge-7" });
    expect(optionsFromEnv({ RABBITMQ_NODENAME: "hare" })).toEqual({ nodeName: `hare@${hostname().split(".")[0]}` });
    expect(qualifiedNodeName("hare", "box")).toBe("hare@box");
  });

  test("a node name and cluster_name given to the broker show in overview, nodes and connection.start", async () => {
    const named = await startTestBroker({ nodeName: "rabbit@site-a", clusterName: "edge-cluster" });
    try {
      const overview = (await api(named.httpUrl, "GET", "/api/overview")).body;
      expect(overview).toMatchObject({ node: "rabbit@site-a", cluster_name: "edge-cluster" });
      expect((await api(named.httpUrl, "GET", "/api/nodes")).body[0]).toMatchObject({ name: "rabbit@site-a" });
      const c = await RawClient.connect(named.port);
      try {
        c.sendProtocolHeader();
        const start = await c.waitForMethod(MethodId.ConnectionStart);
        expect(start.serverProperties.cluster_name?.toString()).toBe("edge-cluster");
      } finally {
        c.destroy();
      }
      // A name set over the API wins over the configured one, as in RabbitMQ.
      expect((await api(named.httpUrl, "PUT", "/api/cluster-name", { name: "renamed" })).status).toBe(204);
      expect((await api(named.httpUrl, "GET", "/api/overview")).body.cluster_name).toBe("renamed");
    } finally {
      await named.stop();
    }
  });
});
