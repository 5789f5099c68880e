// The shovel plugin on Warren, over real sockets: dynamic shovels as runtime parameters, each ack
// mode, queue and exchange sources, status and restart, src-delete-after, a destination that
// never answers, deletion, definitions, restart survival and metrics.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { api } from "../helpers/http.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { startTcpProxy } from "../helpers/tcp_proxy.ts";
import {
  deleteShovel,
  drain,
  messageCount,
  open,
  publishConfirmed,
  putShovel,
  range,
  shovelStatus,
  until,
  untilState,
} from "./shovel_helpers.ts";

setDefaultTimeout(60_000);

let a: TestBroker; // the shovels run here
let b: TestBroker; // a second Warren, reached over TCP
beforeAll(async () => {
  [a, b] = await Promise.all([startTestBroker({ clusterName: "warren-a" }), startTestBroker({ clusterName: "warren-b" })]);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

describe("dynamic shovels between queues", () => {
  for (const ackMode of ["on-confirm", "on-publish", "no-ack"] as const) {
    test(`${ackMode}: a local queue to a remote Warren queue, every message once, in order`, async () => {
      const name = `sh-${ackMode}`;
      const local = await open(a.url);
      await local.ch.declareQueue(`${name}-src`, { durable: true });
      await publishConfirmed(local.ch, "", `${name}-src`, range(500));
      await putShovel(a.httpUrl, name, {
        "src-uri": "amqp://",
        "src-queue": `${name}-src`,
        "dest-uri": `${b.url}`,
        "dest-queue": `${name}-dst`,
        "ack-mode": ackMode,
      });
      const remote = await open(b.url);
      const got = await drain(remote.ch, `${name}-dst`, 500);
      expect(got).toEqual(range(500));
      await until("the source is empty", async () => (await messageCount(local.ch, `${name}-src`)) === 0);
      const status = await untilState(a.httpUrl, name, "running");
      expect(status).toMatchObject({
        name,
        vhost: "/",
        type: "dynamic",
        state: "running",
        src_uri: "amqp://",
        dest_uri: `amqp://127.0.0.1:${b.port}`,
        src_protocol: "amqp091",
        dest_protocol: "amqp091",
        src_queue: `${name}-src`,
        dest_queue: `${name}-dst`,
      });
      expect(status.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      expect(status.node).toBe(a.broker.alarms.node);
      expect(await deleteShovel(a.httpUrl, name)).toBe(204);
      expect(await shovelStatus(a.httpUrl, name)).toBeUndefined();
      await Promise.all([local.conn.close(), remote.conn.close()]);
    });
  }

  test("the link's connections are named 'Shovel <name>'", async () => {
    await putShovel(a.httpUrl, "sh-named", {
      "src-uri": "amqp://",
      "src-queue": "sh-named-src",
      "dest-uri": b.url,
      "dest-queue": "sh-named-dst",
    });
    await untilState(a.httpUrl, "sh-named", "running");
    const names = (c: TestBroker) => [...c.broker.connections].map((x) => x.clientProperties["connection_name"]);
    expect(names(a)).toContain("Shovel sh-named");
    expect(names(b)).toContain("Shovel sh-named");
    await deleteShovel(a.httpUrl, "sh-named");
    await until("the links closed", () => !names(a).includes("Shovel sh-named") && !names(b).includes("Shovel sh-named"));
  });
});

describe("exchange sources and destinations", () => {
  test("src-exchange with a key binds a private queue; dest-exchange and key re-route, forward headers added", async () => {
    const local = await open(a.url);
    const remote = await open(b.url);
    await remote.ch.declareExchange("sh-x-dst", "direct", { durable: true });
    await remote.ch.declareQueue("sh-x-q", { durable: true });
    await remote.ch.bindQueue("sh-x-q", "sh-x-dst", "routed");
    await putShovel(a.httpUrl, "sh-x", {
      "src-uri": "amqp://",
      "src-exchange": "amq.topic",
      "src-exchange-key": "sensors.#",
      "dest-uri": b.url,
      "dest-exchange": "sh-x-dst",
      "dest-exchange-key": "routed",
      "dest-add-forward-headers": true,
      "dest-add-timestamp-header": true,
      "dest-publish-properties": { app_id: "shovel-test" },
    });
    const status = await untilState(a.httpUrl, "sh-x", "running");
    expect(status).toMatchObject({
      src_exchange: "amq.topic",
      src_exchange_key: "sensors.#",
      dest_exchange: "sh-x-dst",
      dest_exchange_key: "routed",
    });
    expect(status.src_queue).toBeUndefined();
    await publishConfirmed(local.ch, "amq.topic", "sensors.t1", ["hot", "cold"]);
    await publishConfirmed(local.ch, "amq.topic", "other.t1", ["ignored"]);
    const got: { body: string; props: Uint8Array }[] = [];
    await remote.ch.consume("sh-x-q", (d) => {
      got.push({ body: new TextDecoder().decode(d.body), props: d.properties });
      remote.ch.ack(d.deliveryTag);
    });
    await until("two forwarded", () => got.length === 2);
    expect(got.map((g) => g.body)).toEqual(["hot", "cold"]);
    const { decodeProperties } = await import("../../src/client/mod.ts");
    const { Reader } = await import("../../src/amqp/reader.ts");
    const props = decodeProperties(new Reader(got[0]!.props));
    expect(props.appId).toBe("shovel-test");
    expect(props.messageId).toBe("hot");
    const shovelled = props.headers?.["x-shovelled"] as Record<string, unknown>[];
    expect(shovelled[0]).toMatchObject({
      "shovelled-by": "warren-a",
      "shovel-type": "dynamic",
      "shovel-name": "sh-x",
      "shovel-vhost": "/",
      "src-exchange": "amq.topic",
      "src-exchange-key": "sensors.#",
      "dest-exchange": "sh-x-dst",
      "dest-exchange-key": "routed",
      "dest-uri": `amqp://127.0.0.1:${b.port}`,
    });
    expect(props.headers?.["x-shovelled-timestamp"]).toBeInstanceOf(Date);
    await deleteShovel(a.httpUrl, "sh-x");
    await Promise.all([local.conn.close(), remote.conn.close()]);
  });
});

describe("src-delete-after", () => {
  test("queue-length moves exactly the length counted at start, though more arrive, then deletes itself", async () => {
    const local = await open(a.url);
    await local.ch.declareQueue("sh-dal-src", { durable: true });
    await publishConfirmed(local.ch, "", "sh-dal-src", range(300, "first-"));
    const dst = b.url;
    // The destination is held up so that the later messages are in the queue while it runs.
    const proxy = await startTcpProxy("127.0.0.1", b.port);
    proxy.hold("to-target");
    await putShovel(a.httpUrl, "sh-dal", {
      "src-uri": "amqp://",
      "src-queue": "sh-dal-src",
      "src-delete-after": "queue-length",
      "dest-uri": `amqp://guest:guest@127.0.0.1:${proxy.port}`,
      "dest-queue": "sh-dal-dst",
      "src-prefetch-count": 50,
    });
    await until("the link connected through the proxy", () => proxy.live > 0);
    await publishConfirmed(local.ch, "", "sh-dal-src", range(200, "later-"));
    proxy.release();
    await until("the shovel deleted itself", async () => (await api(a.httpUrl, "GET", "/api/parameters/shovel/%2f/sh-dal")).status === 404);
    expect(await shovelStatus(a.httpUrl, "sh-dal")).toBeUndefined();
    const remote = await open(dst);
    const got = await drain(remote.ch, "sh-dal-dst", 300);
    expect(got).toEqual(range(300, "first-"));
    expect(await messageCount(local.ch, "sh-dal-src")).toBe(200);
    await proxy.stop();
    await Promise.all([local.conn.close(), remote.conn.close()]);
  });

  test("a number moves that many; an empty queue with queue-length deletes the shovel at once", async () => {
    const local = await open(a.url);
    await local.ch.declareQueue("sh-dan-src", { durable: true });
    await publishConfirmed(local.ch, "", "sh-dan-src", range(20));
    await putShovel(a.httpUrl, "sh-dan", {
      "src-uri": "amqp://",
      "src-queue": "sh-dan-src",
      "src-delete-after": 7,
      "dest-uri": "amqp://",
      "dest-queue": "sh-dan-dst",
    });
    await until("sh-dan deleted", async () => (await api(a.httpUrl, "GET", "/api/parameters/shovel/%2f/sh-dan")).status === 404);
    expect(await messageCount(local.ch, "sh-dan-dst")).toBe(7);
    expect(await messageCount(local.ch, "sh-dan-src")).toBe(13);
    await local.ch.declareQueue("sh-empty-src", { durable: true });
    await putShovel(a.httpUrl, "sh-empty", {
      "src-uri": "amqp://",
      "src-queue": "sh-empty-src",
      "src-delete-after": "queue-length",
      "dest-uri": "amqp://",
      "dest-queue": "sh-empty-dst",
    });
    await until("sh-empty deleted", async () => (await api(a.httpUrl, "GET", "/api/parameters/shovel/%2f/sh-empty")).status === 404);
    await local.conn.close();
  });
});

describe("a destination that never answers", () => {
  test("shows terminated with the reason, keeps retrying, and logs the failure once; deleting stops it", async () => {
    const proxy = await startTcpProxy("127.0.0.1", b.port);
    proxy.refuse();
    await putShovel(a.httpUrl, "sh-down", {
      "src-uri": "amqp://",
      "src-queue": "sh-down-src",
      "dest-uri": `amqp://guest:guest@127.0.0.1:${proxy.port}`,
      "dest-queue": "sh-down-dst",
      "reconnect-delay": 0.2,
    });
    const status = await untilState(a.httpUrl, "sh-down", "terminated");
    expect(status.reason).toContain("destination");
    expect(status.src_uri).toBeUndefined();
    await until("several attempts", () => proxy.refused >= 3);
    proxy.accept();
    await untilState(a.httpUrl, "sh-down", "running", "/", 30_000);
    expect(await deleteShovel(a.httpUrl, "sh-down")).toBe(204);
    const before = proxy.accepted;
    await until("the link is closed", () => proxy.live === 0);
    await new Promise((r) => setTimeout(r, 500));
    expect(proxy.accepted).toBe(before);
    await proxy.stop();
  });

  test("the restart endpoint reconnects a shovel at once; an unknown one is 404", async () => {
    await putShovel(a.httpUrl, "sh-restart", {
      "src-uri": "amqp://",
      "src-queue": "sh-restart-src",
      "dest-uri": "amqp://",
      "dest-queue": "sh-restart-dst",
    });
    await untilState(a.httpUrl, "sh-restart", "running");
    const before = [...a.broker.connections].filter((c) => c.clientProperties["connection_name"] === "Shovel sh-restart");
    expect(before.length).toBe(2);
    expect((await api(a.httpUrl, "DELETE", "/api/shovels/vhost/%2f/sh-restart/restart")).status).toBe(204);
    await until("new connections", () => {
      const now = [...a.broker.connections].filter((c) => c.clientProperties["connection_name"] === "Shovel sh-restart");
      return now.length === 2 && now.every((c) => !before.includes(c));
    });
    await untilState(a.httpUrl, "sh-restart", "running");
    expect((await api(a.httpUrl, "DELETE", "/api/shovels/vhost/%2f/sh-nope/restart")).status).toBe(404);
    expect((await api(a.httpUrl, "GET", "/api/shovels/no-such-vhost")).status).toBe(404);
    await deleteShovel(a.httpUrl, "sh-restart");
  });
});

describe("definitions, restarts and metrics", () => {
  test("definitions export and import carry shovels; an imported one runs", async () => {
    const value = {
      "src-uri": "amqp://",
      "src-queue": "sh-def-src",
      "dest-uri": "amqp://",
      "dest-queue": "sh-def-dst",
      "ack-mode": "on-publish",
    };
    await putShovel(a.httpUrl, "sh-def", value);
    const defs = (await api(a.httpUrl, "GET", "/api/definitions")).body;
    expect(defs.parameters).toContainEqual({ vhost: "/", component: "shovel", name: "sh-def", value });
    const r = await api(b.httpUrl, "POST", "/api/definitions", {
      parameters: defs.parameters.filter((p: { name: string }) => p.name === "sh-def"),
    });
    expect(r.status).toBeLessThan(300);
    await untilState(b.httpUrl, "sh-def", "running");
    await Promise.all([deleteShovel(a.httpUrl, "sh-def"), deleteShovel(b.httpUrl, "sh-def")]);
  });

  test("a shovel survives a broker restart and moves what was left", async () => {
    const c = await startTestBroker();
    const dataDir = c.dataDir;
    try {
      await putShovel(c.httpUrl, "sh-survive", {
        "src-uri": "amqp://",
        "src-queue": "sh-surv-src",
        "dest-uri": b.url,
        "dest-queue": "sh-surv-dst",
      });
      await untilState(c.httpUrl, "sh-survive", "running");
      await c.broker.stop();
      const { startBroker } = await import("../../mod.ts");
      const again = await startBroker({ port: 0, httpPort: 0, metricsPort: 0, bind: "127.0.0.1", dataDir, logLevel: "none" });
      try {
        const url = `http://127.0.0.1:${again.httpPort}`;
        await untilState(url, "sh-survive", "running");
        const local = await open(`amqp://guest:guest@127.0.0.1:${again.port}`);
        await publishConfirmed(local.ch, "", "sh-surv-src", range(50));
        const remote = await open(b.url);
        expect(await drain(remote.ch, "sh-surv-dst", 50)).toEqual(range(50));
        await Promise.all([local.conn.close(), remote.conn.close()]);
      } finally {
        await again.stop();
      }
    } finally {
      await c.stop().catch(() => undefined);
    }
  });

  test("Prometheus metrics count forwarded messages and show each link's state", async () => {
    const local = await open(a.url);
    await local.ch.declareQueue("sh-m-src", { durable: true });
    await publishConfirmed(local.ch, "", "sh-m-src", range(25));
    await putShovel(a.httpUrl, "sh-m", { "src-uri": "amqp://", "src-queue": "sh-m-src", "dest-uri": "amqp://", "dest-queue": "sh-m-dst" });
    // The PUT is answered once the parameter is stored; the link (and its queue) starts after.
    await untilState(a.httpUrl, "sh-m", "running");
    await until("all moved", async () => (await messageCount(local.ch, "sh-m-dst")) === 25);
    const text = await (await fetch(`http://127.0.0.1:${a.metricsPort}/metrics`)).text();
    expect(text).toContain('rabbitmq_shovel_messages_forwarded_total{vhost="/",shovel="sh-m",type="dynamic"} 25');
    expect(text).toContain('rabbitmq_shovel_state{vhost="/",shovel="sh-m",type="dynamic",state="running"} 1');
    await deleteShovel(a.httpUrl, "sh-m");
    await local.conn.close();
  });
});
