// Multi-URI links on one machine (the cluster tests in tests/cluster/ do it against real RabbitMQ
// nodes): a shovel tries every URI of its list before giving up (rabbit_amqp091_shovel), and a
// shovel or federation link whose connection is cut, with its URI refusing, moves to another URI
// of the list; status, `warren ctl` and Prometheus show the node it is on and the failover.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import amqp from "amqplib";
import { runCtl } from "../../src/cli/ctl/mod.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api } from "../helpers/http.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp_proxy.ts";
import { freePort } from "../helpers/warren_process.ts";
import { drain, open, publishConfirmed, putShovel, range, shovelStatus, until, untilState } from "./shovel_helpers.ts";

setDefaultTimeout(60_000);

let a: TestBroker;
let b: TestBroker;
let proxies: TcpProxy[];
beforeAll(async () => {
  [a, b] = await Promise.all([startTestBroker(), startTestBroker()]);
  proxies = await Promise.all([startTcpProxy("127.0.0.1", b.port), startTcpProxy("127.0.0.1", b.port)]);
});
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
  await Promise.all([a?.stop(), b?.stop()]);
});

const viaProxy = (p: TcpProxy) => `amqp://guest:guest@127.0.0.1:${p.port}`;
const proxyOf = (uri: string) => proxies.find((p) => uri.endsWith(`:${p.port}`) || uri.includes(`:${p.port}/`))!;

async function ctl(args: string[]): Promise<string> {
  let stdout = "";
  await runCtl(["--port", String(a.httpPort), ...args], {
    stdout: (t) => void (stdout += t),
    stderr: () => {},
    readStdin: async () => "",
    env: {},
  });
  return stdout;
}

// deno-lint-ignore no-explicit-any
type Link = Record<string, any>;

async function metric(name: string, match: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${a.metricsPort}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(match));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

describe("shovel", () => {
  test("an unreachable URI in dest-uri costs no retry: the other URIs are tried in the same attempt", async () => {
    const dead = `amqp://guest:guest@127.0.0.1:${await freePort()}`;
    // A first attempt that gave up would wait reconnect-delay (an hour) before the next one.
    await putShovel(a.httpUrl, "multi-dead", {
      "src-uri": "amqp://",
      "src-queue": "multi-dead-src",
      "dest-uri": [dead, viaProxy(proxies[0]!), dead.replace("guest:guest", "other:secret")],
      "dest-queue": "multi-dead-dst",
      "reconnect-delay": 3600,
    });
    const s = await untilState(a.httpUrl, "multi-dead", "running");
    expect(s.dest_node.uri).toBe(`amqp://127.0.0.1:${proxies[0]!.port}`);
    expect(s.dest_node.product).toBe("Warren");
    expect(s.failover_count).toBe(0);
    await api(a.httpUrl, "DELETE", "/api/parameters/shovel/%2f/multi-dead");
  });

  test("a shovel whose node refuses moves to another URI; status, ctl and Prometheus show the failover", async () => {
    await putShovel(a.httpUrl, "multi", {
      "src-uri": "amqp://",
      "src-queue": "multi-src",
      "dest-uri": proxies.map(viaProxy),
      "dest-queue": "multi-dst",
      "reconnect-delay": 0.1,
    });
    const before = await untilState(a.httpUrl, "multi", "running");
    const used = proxyOf(before.dest_node.uri);
    const { conn, ch } = await open(a.url);
    await publishConfirmed(ch, "", "multi-src", range(500, "x"));
    used.refuse();
    used.cut();
    await until("the shovel on the other URI", async () => {
      const s = await shovelStatus(a.httpUrl, "multi");
      return s?.state === "running" && s.dest_node.uri !== before.dest_node.uri;
    });
    await publishConfirmed(ch, "", "multi-src", range(500, "y"));
    const remote = await open(b.url);
    const got = await drain(remote.ch, "multi-dst", 1000);
    expect(new Set(got).size).toBe(1000);
    const s = (await shovelStatus(a.httpUrl, "multi"))!;
    expect(s.failover_count).toBe(1);
    expect(s.failovers).toEqual([
      expect.objectContaining({ side: "destination", from: before.dest_node.uri, to: s.dest_node.uri, down_ms: expect.any(Number) }),
    ]);
    expect(s.failovers[0].reason).toContain("destination");
    expect(await metric("warren_shovel_failovers_total", 'shovel="multi",type="dynamic",side="destination"')).toBe(1);
    expect(await metric("warren_shovel_failovers_total", 'shovel="multi",type="dynamic",side="source"')).toBe(0);
    const listing = await ctl(["list_shovels", "--formatter", "json"]);
    const row = (JSON.parse(listing) as Record<string, unknown>[]).find((r) => r.name === "multi")!;
    expect(row.failovers).toBe(1);
    expect(String(row.last_failover)).toContain(`destination ${before.dest_node.uri} -> ${s.dest_node.uri}`);
    used.accept();
    await Promise.all([conn.close(), remote.conn.close()]);
    await api(a.httpUrl, "DELETE", "/api/parameters/shovel/%2f/multi");
  });
});

describe("federation", () => {
  test("a link whose upstream URI refuses moves to another of the list; status and Prometheus show it", async () => {
    const up = await api(a.httpUrl, "PUT", "/api/parameters/federation-upstream/%2f/pair", {
      value: { uri: proxies.map(viaProxy), "reconnect-delay": 0.1 },
    });
    expect(up.status).toBeLessThan(300);
    await api(a.httpUrl, "PUT", "/api/policies/%2f/pair", {
      pattern: "^fo\\.x$",
      "apply-to": "exchanges",
      definition: { "federation-upstream": "pair" },
    });
    const down = await amqp.connect(a.url);
    const dch = await down.createChannel();
    await dch.assertExchange("fo.x", "fanout", { durable: true });
    await dch.assertQueue("fo.in", { durable: true });
    await dch.bindQueue("fo.in", "fo.x", "");
    const link = async () => ((await api(a.httpUrl, "GET", "/api/federation-links/%2f")).body as Link[]).find((l) => l.exchange === "fo.x");
    await until("the link running", async () => (await link())?.status === "running");
    const before = (await link())!;
    expect(before.upstream_node.product).toBe("Warren");
    const used = proxyOf(before.upstream_node.uri);
    used.refuse();
    used.cut();
    await until("the link on the other URI", async () => {
      const l = await link();
      return l?.status === "running" && l.upstream_node.uri !== before.upstream_node.uri;
    });
    const after = (await link())!;
    expect(after.failover_count).toBe(1);
    expect(after.failovers[0]).toMatchObject({ from: before.upstream_node.uri, to: after.upstream_node.uri });
    expect(await metric("warren_federation_link_failovers_total", 'name="fo.x",upstream="pair"')).toBe(1);
    const upstream = await amqp.connect(b.url);
    const uch = await upstream.createConfirmChannel();
    uch.publish("fo.x", "", Buffer.from("after the failover"), { persistent: true });
    await uch.waitForConfirms();
    await until("the message downstream", async () => (await dch.checkQueue("fo.in")).messageCount === 1);
    used.accept();
    await Promise.all([upstream.close(), down.close()]);
    await api(a.httpUrl, "DELETE", "/api/policies/%2f/pair");
    await api(a.httpUrl, "DELETE", "/api/parameters/federation-upstream/%2f/pair");
  });
});
