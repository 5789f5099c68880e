// AMQP 0-9-1 over WebSocket on the management port (web_amqp091.ws_path, /ws/amqp): the browser
// client of @cloudamqp/amqp-client and, through a TCP-to-WebSocket tunnel, amqplib and the raw
// client, many connections at once; the management API naming them; deliveries held back while
// the WebSocket cannot send (a reader that stopped), and a blocked publisher that ignores
// connection.blocked closed, since a WebSocket cannot stop reading.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { AMQPWebSocketClient } from "@cloudamqp/amqp-client";
import amqp from "amqplib";
import { startTestBroker, type TestBroker, withTimeout } from "../helpers/broker.ts";
import { api } from "../helpers/http.ts";
import { openRawConnection, RawClient } from "../helpers/raw_client.ts";
import { until } from "../helpers/until.ts";
import { openWsTunnel, type WsTunnel } from "../helpers/ws_tunnel.ts";
import { MethodId } from "../../src/amqp/spec/methods.gen.ts";
import { FRAME_METHOD, ReplyCode } from "../../src/amqp/spec/constants.gen.ts";

setDefaultTimeout(60_000);

describe("AMQP 0-9-1 over WebSocket", () => {
  let b: TestBroker;
  let tunnel: WsTunnel;
  const wsUrl = () => `ws://127.0.0.1:${b.httpPort}/ws/amqp`;
  beforeAll(async () => {
    b = await startTestBroker();
    tunnel = await openWsTunnel("127.0.0.1", b.httpPort, "/ws/amqp");
  });
  afterAll(async () => {
    await tunnel.close();
    await b.stop();
  });

  test("amqp-client's WebSocket client: 20 at once publish with confirms, consume, and show as Web AMQP 0-9-1", async () => {
    const clients = await Promise.all(
      Array.from(
        { length: 20 },
        (_, i) => withTimeout(new AMQPWebSocketClient({ url: wsUrl(), name: `ws-${i}` }).connect(), 10_000, "ws connect"),
      ),
    );
    const listed = await api(b.httpUrl, "GET", "/api/connections");
    const web = listed.body.filter((c: { protocol: string }) => c.protocol === "Web AMQP 0-9-1");
    expect(web.length).toBe(20);
    expect(web.every((c: { peer_host: string; user: string }) => c.peer_host === "127.0.0.1" && c.user === "guest")).toBe(true);

    // Each publishes 100 confirmed messages to its own queue; a TCP consumer reads them all.
    await Promise.all(clients.map(async (client, i) => {
      const ch = await client.channel();
      await ch.confirmSelect();
      await ch.queueDeclare(`ws-q-${i}`, { durable: true });
      await Promise.all(Array.from({ length: 100 }, (_, n) => ch.basicPublish("", `ws-q-${i}`, `m-${i}-${n}`, { deliveryMode: 2 })));
    }));
    const tcp = await amqp.connect(b.url);
    const tch = await tcp.createChannel();
    for (let i = 0; i < 20; i++) {
      expect((await tch.checkQueue(`ws-q-${i}`)).messageCount).toBe(100);
    }
    // A WebSocket consumer gets what TCP publishes, in order.
    const ch = await clients[0]!.channel();
    await ch.queueDeclare("ws-from-tcp");
    const got: string[] = [];
    const all = new Promise<void>((resolve) => {
      void ch.basicConsume("ws-from-tcp", { noAck: false }, async (msg) => {
        got.push(msg.bodyToString()!);
        await msg.ack();
        if (got.length === 500) resolve();
      });
    });
    for (let n = 0; n < 500; n++) tch.sendToQueue("ws-from-tcp", Buffer.from(`t-${n}`));
    await withTimeout(all, 10_000, "500 deliveries over WebSocket");
    expect(got).toEqual(Array.from({ length: 500 }, (_, n) => `t-${n}`));
    for (let i = 0; i < 20; i++) await tch.deleteQueue(`ws-q-${i}`);
    await tch.deleteQueue("ws-from-tcp");
    await tcp.close();
    await Promise.all(clients.map((c) => c.close()));
    await until("the WebSocket connections to be gone", async () => (await api(b.httpUrl, "GET", "/api/connections")).body.length === 0);
  });

  test("amqplib through a WebSocket tunnel: 10 connections publish and get back the same bodies", async () => {
    const conns = await Promise.all(Array.from({ length: 10 }, () => amqp.connect(`amqp://guest:guest@127.0.0.1:${tunnel.port}`)));
    await Promise.all(conns.map(async (conn, i) => {
      const ch = await conn.createConfirmChannel();
      const q = `tunnel-${i}`;
      await ch.assertQueue(q, { exclusive: true });
      const body = Buffer.alloc(300_000, i); // larger than a frame: split over body frames and WebSocket messages
      for (let n = 0; n < 5; n++) ch.sendToQueue(q, body);
      await ch.waitForConfirms();
      for (let n = 0; n < 5; n++) {
        const m = await ch.get(q, { noAck: true });
        expect(m && Buffer.compare(m.content, body)).toBe(0);
      }
      await conn.close();
    }));
  });

  test("deliveries wait while the WebSocket cannot send, and all arrive once the reader reads again", async () => {
    const COUNT = 4000;
    const body = Buffer.alloc(16 * 1024, 7);
    const tcp = await amqp.connect(b.url);
    const pub = await tcp.createConfirmChannel();
    await pub.assertQueue("ws-slow");
    for (let n = 0; n < COUNT; n++) pub.sendToQueue("ws-slow", body);
    await pub.waitForConfirms();

    const raw = await openRawConnection(tunnel.port, { tune: { frameMax: 131072 } });
    await raw.openChannel(1);
    raw.sendMethod(1, {
      id: MethodId.BasicConsume,
      ticket: 0,
      queue: "ws-slow",
      consumerTag: "slow",
      noLocal: false,
      noAck: true,
      exclusive: false,
      nowait: false,
      arguments: {},
    });
    await raw.waitForMethod(MethodId.BasicConsumeOk);
    tunnel.pauseAll();
    // 64 MiB to deliver; the sockets between hold a few MiB. Without flow control the broker would
    // push them all into the WebSocket's buffer (auto-ack: the queue empties at once).
    await new Promise((r) => setTimeout(r, 1500));
    const ready = async () => (await api(b.httpUrl, "GET", "/api/queues/%2F/ws-slow")).body.messages_ready as number;
    const held = await ready();
    expect(held).toBeGreaterThan(COUNT / 4);
    await new Promise((r) => setTimeout(r, 500));
    expect(await ready()).toBe(held); // stopped, not just slow
    tunnel.resumeAll();
    const deliveries = () => raw.frames.filter((f) => f.type === FRAME_METHOD && f.method?.id === MethodId.BasicDeliver).length;
    await until(`${COUNT} deliveries (have ${deliveries()})`, () => deliveries() === COUNT, 30_000);
    expect(await ready()).toBe(0);
    raw.destroy();
    await pub.deleteQueue("ws-slow");
    await tcp.close();
  });

  test("a publisher that goes on while blocked by an alarm is closed at 16 MiB: a WebSocket cannot stop reading", async () => {
    const node = (await api(b.httpUrl, "GET", "/api/overview")).body.node as string;
    const limit = (await api(b.httpUrl, "GET", `/api/nodes/${encodeURIComponent(node)}`)).body.mem_limit as number;
    const raw = await openRawConnection(tunnel.port, {
      tune: { frameMax: 131072 },
      clientProperties: { capabilities: { "connection.blocked": true } },
    });
    const tcpRaw = await openRawConnection(b.port, { clientProperties: { capabilities: { "connection.blocked": true } } });
    try {
      await raw.openChannel(1);
      await tcpRaw.openChannel(1);
      expect((await api(b.httpUrl, "PUT", `/api/nodes/${encodeURIComponent(node)}/memory-high-watermark`, { absolute: 2 })).status).toBe(
        204,
      );
      await until(
        "the memory alarm",
        async () => (await api(b.httpUrl, "GET", `/api/nodes/${encodeURIComponent(node)}`)).body.mem_alarm === true,
      );
      const publish = (client: RawClient, body: Uint8Array) => {
        client.sendMethod(1, {
          id: MethodId.BasicPublish,
          ticket: 0,
          exchange: "",
          routingKey: "nowhere",
          mandatory: false,
          immediate: false,
        });
        client.sendContentHeader(1, body.length);
        client.sendBody(1, body, 131072);
      };
      publish(raw, new Uint8Array(10));
      publish(tcpRaw, new Uint8Array(10));
      await raw.waitForMethod(MethodId.ConnectionBlocked);
      await tcpRaw.waitForMethod(MethodId.ConnectionBlocked);
      // 20 MiB more: the TCP connection is paused (the kernel holds it), the WebSocket one goes.
      const chunk = new Uint8Array(1024 * 1024);
      for (let i = 0; i < 20; i++) publish(raw, chunk);
      const close = await raw.waitForMethod(MethodId.ConnectionClose, 15_000);
      expect(close.replyCode).toBe(ReplyCode.CONNECTION_FORCED);
      expect(close.replyText).toContain("while blocked by a resource alarm");
      expect(tcpRaw.closed).toBe(false);
    } finally {
      await api(b.httpUrl, "PUT", `/api/nodes/${encodeURIComponent(node)}/memory-high-watermark`, { absolute: limit });
      raw.destroy();
      tcpRaw.destroy();
    }
    await until(
      "the alarm to clear",
      async () => (await api(b.httpUrl, "GET", `/api/nodes/${encodeURIComponent(node)}`)).body.mem_alarm === false,
    );
  });
});

describe("web_amqp091.ws_path", () => {
  test("none turns it off; another path moves it", async () => {
    const off = await startTestBroker({ amqpWebSocketPath: null });
    const moved = await startTestBroker({ amqpWebSocketPath: "/amqp" });
    try {
      const attempt = (port: number, path: string) =>
        withTimeout(
          new AMQPWebSocketClient(`ws://127.0.0.1:${port}${path}`).connect().then((c) => c.close().then(() => "open")),
          5000,
          "connect",
        )
          .catch(() => "refused");
      expect(await attempt(off.httpPort, "/ws/amqp")).toBe("refused");
      expect(await attempt(moved.httpPort, "/ws/amqp")).toBe("refused");
      expect(await attempt(moved.httpPort, "/amqp")).toBe("open");
    } finally {
      await off.stop();
      await moved.stop();
    }
  });
});
