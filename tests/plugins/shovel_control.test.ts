// Controlling shovels: `warren ctl list_shovels|shovel_status|delete_shovel|restart_shovel`,
// static shovels from warren.conf, and the log: one line per state change, none per retry.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCtl } from "../../src/cli/ctl/mod.ts";
import { createLogger } from "../../src/log.ts";
import { startBroker } from "../../mod.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api } from "../helpers/http.ts";
import { startTcpProxy } from "../helpers/tcp_proxy.ts";
import { drain, open, publishConfirmed, putShovel, range, shovelStatus, until, untilState } from "./shovel_helpers.ts";

setDefaultTimeout(60_000);

let tb: TestBroker;
let dir: string;
beforeAll(async () => {
  tb = await startTestBroker();
  dir = await mkdtemp(join(tmpdir(), "shovel-control-"));
});
afterAll(async () => {
  await tb?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function ctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runCtl(["--port", String(tb.httpPort), ...args], {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    readStdin: async () => "",
    env: {},
  });
  return { code, stdout, stderr };
}

describe("warren ctl", () => {
  test("list_shovels shows each shovel's state and endpoints; restart_shovel and delete_shovel act on it", async () => {
    await putShovel(tb.httpUrl, "ctl-a", {
      "src-uri": "amqp://",
      "src-queue": "ctl-a-src",
      "dest-uri": "amqp://",
      "dest-queue": "ctl-a-dst",
    });
    await untilState(tb.httpUrl, "ctl-a", "running");
    const list = await ctl(["list_shovels"]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(
      "name\tvhost\ttype\tstate\tsource_protocol\tsource\tdestination_protocol\tdestination\ttermination_reason\tlast_changed",
    );
    expect(list.stdout).toMatch(
      /ctl-a\t\/\tdynamic\trunning\tamqp091\tamqp:\/\/ queue ctl-a-src\tamqp091\tamqp:\/\/ queue ctl-a-dst\t\t\d{4}-/,
    );
    expect((await ctl(["shovel_status"])).stdout).toContain("ctl-a");

    const before = [...tb.broker.connections].filter((c) => c.clientProperties["connection_name"] === "Shovel ctl-a");
    const restart = await ctl(["restart_shovel", "ctl-a"]);
    expect(restart.code).toBe(0);
    await until("new link connections", () => {
      const now = [...tb.broker.connections].filter((c) => c.clientProperties["connection_name"] === "Shovel ctl-a");
      return now.length === 2 && now.every((c) => !before.includes(c));
    });

    const missing = await ctl(["restart_shovel", "ctl-nope"]);
    expect(missing.code).toBe(69);
    expect(missing.stderr).toContain("Shovel with the given name was not found on the target node 'ctl-nope' and / or virtual host '/'");

    expect((await ctl(["delete_shovel", "ctl-a"])).code).toBe(0);
    expect(await shovelStatus(tb.httpUrl, "ctl-a")).toBeUndefined();
    expect((await api(tb.httpUrl, "GET", "/api/parameters/shovel/%2f/ctl-a")).status).toBe(404);
    expect((await ctl(["delete_shovel", "ctl-a"])).code).toBe(69);
  });
});

describe("static shovels from warren.conf", () => {
  test("run from boot, show as static, move messages, and refuse an invalid definition at boot", async () => {
    const conf = join(dir, "static.conf");
    await writeFile(
      conf,
      [
        "shovel.edge_uplink.src-uri = amqp://",
        "shovel.edge_uplink.src-queue = static-outbox",
        `shovel.edge_uplink.dest-uri.1 = ${tb.url}`,
        `shovel.edge_uplink.dest-uri.2 = ${tb.url}/%2f`,
        "shovel.edge_uplink.dest-queue = static-inbox",
        "shovel.edge_uplink.src-prefetch-count = 10",
        "shovel.edge_uplink.dest-add-forward-headers = true",
        'shovel.edge_uplink.src-queue-args = {"x-max-length": 100000}',
        "",
      ].join("\n"),
    );
    const data = await mkdtemp(join(dir, "data-"));
    const edge = await startBroker({
      configFile: conf,
      port: 0,
      httpPort: 0,
      metricsPort: 0,
      bind: "127.0.0.1",
      dataDir: data,
      logLevel: "none",
    });
    try {
      const url = `http://127.0.0.1:${edge.httpPort}`;
      const status = await untilState(url, "edge_uplink", "running");
      expect(status).toMatchObject({ type: "static", vhost: "/", src_queue: "static-outbox", dest_queue: "static-inbox" });
      const local = await open(`amqp://guest:guest@127.0.0.1:${edge.port}`);
      await publishConfirmed(local.ch, "", "static-outbox", range(30));
      const central = await open(tb.url);
      expect(await drain(central.ch, "static-inbox", 30)).toEqual(range(30));
      await Promise.all([local.conn.close(), central.conn.close()]);
    } finally {
      await edge.stop();
    }
    const bad = join(dir, "bad.conf");
    await writeFile(bad, "shovel.broken.src-uri = amqp://\nshovel.broken.dest-uri = amqp://\n");
    await expect(
      startBroker({
        configFile: bad,
        port: 0,
        httpPort: 0,
        metricsPort: 0,
        bind: "127.0.0.1",
        dataDir: await mkdtemp(join(dir, "data-")),
        logLevel: "none",
      }),
    )
      .rejects.toThrow("static shovel 'broken' in the config file is invalid: Must specify 'src-exchange' or 'src-queue'");
  });
});

describe("the log", () => {
  test("a link that keeps failing logs the transition once, not every retry; recovery logs once", async () => {
    const lines: string[] = [];
    const data = await mkdtemp(join(dir, "data-"));
    const logger = createLogger("info", (line) => void lines.push(line));
    const broker = await startBroker({ logger, port: 0, httpPort: 0, metricsPort: 0, bind: "127.0.0.1", dataDir: data });
    const proxy = await startTcpProxy("127.0.0.1", tb.port);
    proxy.refuse();
    try {
      const url = `http://127.0.0.1:${broker.httpPort}`;
      await putShovel(url, "log-once", {
        "src-uri": "amqp://",
        "src-queue": "log-src",
        "dest-uri": `amqp://guest:guest@127.0.0.1:${proxy.port}`,
        "dest-queue": "log-dst",
        "reconnect-delay": 0.05,
      });
      await until("four refused attempts", () => proxy.refused >= 4);
      const mine = () => lines.filter((l) => l.includes("shovel 'log-once'"));
      expect(mine().filter((l) => l.includes("terminated")).length).toBe(1);
      expect(mine().find((l) => l.includes("terminated"))).toContain("[warning]");
      proxy.accept();
      await untilState(url, "log-once", "running", "/", 30_000);
      expect(mine().filter((l) => l.includes(": running")).length).toBe(1);
    } finally {
      await proxy.stop();
      await broker.stop();
    }
  });
});
