// The AMQP socket limit (issue #15 point 1): computed from RLIMIT_NOFILE as RabbitMQ's
// file_handle_cache does, connections over it refused at once (logged once per burst), the
// management API and the alarms still working, and the figures in /api/nodes and Prometheus.
// The broker runs in a process of its own under `prlimit --nofile=1024`.
import { afterAll, describe, expect, test } from "bun:test";
import amqp from "amqplib";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileHandlesFor, socketsLimitFor } from "../../src/broker/socket_limit.ts";
import { basic } from "../helpers/http.ts";
import { killAllWarrens, spawnWarren, type WarrenProcess } from "../helpers/warren_process.ts";

const hasPrlimit = spawnSync("prlimit", ["--version"]).status === 0;
if (!hasPrlimit) console.warn("prlimit (util-linux) not found: skipping the socket limit process test");

afterAll(() => killAllWarrens());

test("the socket limit is RabbitMQ's: 832 of 1,024 descriptors, 943,629 of 1,048,576", () => {
  expect(socketsLimitFor(1024)).toBe(832);
  expect(fileHandlesFor(1024)).toBe(927);
  expect(socketsLimitFor(1_048_576)).toBe(943_629);
  expect(socketsLimitFor(0)).toBe(919); // unknown: file_handle_cache's 1024 handles
  expect(socketsLimitFor(50)).toBe(0);
});

const REF_HTTP = process.env.RABBITMQ_REF_HTTP;
test.skipIf(!REF_HTTP)("the reference RabbitMQ reports the same sockets_total for its fd_total", async () => {
  const u = new URL(REF_HTTP!);
  const r = await fetch(`${u.protocol}//${u.host}/api/nodes`, {
    headers: { authorization: basic(decodeURIComponent(u.username), decodeURIComponent(u.password)) },
  });
  const [node] = (await r.json()) as { fd_total: number; sockets_total: number }[];
  expect(socketsLimitFor(node!.fd_total)).toBe(node!.sockets_total);
});

/** Connects and sends the protocol header: "start" when connection.start comes, "closed" when the socket closes first. */
function knock(port: number, held: Socket[]): Promise<"start" | "closed"> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    let answered = false;
    s.on("connect", () => s.write(Buffer.from("AMQP\x00\x00\x09\x01", "latin1")));
    s.on("data", () => {
      if (answered) return;
      answered = true;
      held.push(s);
      resolve("start");
    });
    s.on("error", () => {});
    s.on("close", () => {
      if (!answered) resolve("closed");
    });
  });
}

describe.skipIf(!hasPrlimit)("a broker under ulimit -n 1024", () => {
  let dir = "";
  let proc: WarrenProcess | undefined;
  const held: Socket[] = [];
  let log = "";

  afterAll(async () => {
    for (const s of held) s.destroy();
    await proc?.kill9();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("1,100 connections: 832 accepted, the rest refused at once; API, metrics and a new client still work", async () => {
    dir = await mkdtemp(join(tmpdir(), "warren-fd-"));
    const config = join(dir, "warren.conf");
    await writeFile(config, "handshake_timeout = 600000\n");
    proc = await spawnWarren({ dataDir: join(dir, "data"), nofile: 1024, args: ["--config", config], onOutput: (t) => (log += t) });
    const httpPort = Number(/Management plugin: HTTP \(non-TLS\) listener started on port (\d+)/.exec(log)?.[1]);
    const metricsPort = Number(/Prometheus metrics: HTTP \(non-TLS\) listener started on port (\d+)/.exec(log)?.[1]);
    expect(log).toContain("Limiting to approx 927 file handles (832 sockets)");

    const outcomes: ("start" | "closed")[] = [];
    for (let i = 0; i < 1100; i += 100) {
      outcomes.push(...(await Promise.all(Array.from({ length: 100 }, () => knock(proc!.port, held)))));
    }
    expect(outcomes.filter((o) => o === "start").length).toBe(832);
    expect(outcomes.filter((o) => o === "closed").length).toBe(268);
    expect(log.match(/refusing AMQP connection/g)?.length).toBe(1);

    const auth = { authorization: basic("guest", "guest") };
    const [node] = (await (await fetch(`http://127.0.0.1:${httpPort}/api/nodes`, { headers: auth })).json()) as Record<string, number>[];
    expect({ fd_total: node!.fd_total, sockets_total: node!.sockets_total, sockets_used: node!.sockets_used })
      .toEqual({ fd_total: 1024, sockets_total: 832, sockets_used: 832 });
    expect(node!.fd_used).toBeGreaterThan(832);
    expect(node!.fd_used).toBeLessThan(1024);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toContain("\nrabbitmq_process_max_fds 1024\n");
    expect(metrics).toContain("\nrabbitmq_process_max_tcp_sockets 832\n");
    expect(metrics).toContain("\nrabbitmq_process_open_tcp_sockets 832\n");

    // Ten clients leave: a well-behaved client gets in and round-trips.
    for (const s of held.splice(0, 10)) s.destroy();
    let client: amqp.ChannelModel | undefined;
    for (let i = 0; i < 100 && client === undefined; i++) {
      client = await amqp.connect(proc.url).catch(() => undefined);
      if (client === undefined) await Bun.sleep(50);
    }
    expect(client).toBeDefined();
    const ch = await client!.createChannel();
    const q = await ch.assertQueue("", { exclusive: true });
    ch.sendToQueue(q.queue, Buffer.from("still here"));
    let got: amqp.GetMessage | false = false;
    for (let i = 0; i < 100 && !got; i++) got = await ch.get(q.queue, { noAck: true });
    expect(got && got.content.toString()).toBe("still here");
    await client!.close();
    expect(log).toMatch(/accepting AMQP connections again: \d+ refused while at the socket limit \(832\)/);
    // The alarms kept reading memory and disk: no failure to read them was logged.
    expect(log).not.toMatch(/Cannot read|Failed to get memory/);
  });
});
