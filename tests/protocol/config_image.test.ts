// Keys that RabbitMQ's official image and common deployments put in rabbitmq.conf / conf.d:
// the ones that mean something are applied (default user tags and permissions, JSON console
// logs, the management path prefix, CORS, consumer_timeout), the ones that change nothing are
// accepted with one warning line, true typos still stop the boot, and conf.d/*.conf beside the
// main file is read after it.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Broker, createLogger, startBroker } from "../../mod.ts";
import { loadConfigFile, parseConfig } from "../../src/config_file.ts";
import { applySettings } from "../../src/config_keys.ts";
import { withTimeout } from "../helpers/broker.ts";
import { basic } from "../helpers/http.ts";

setDefaultTimeout(30_000);

let dir = "";
const running = new Set<Broker>();
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "warren-image-conf-"));
});
afterAll(async () => {
  for (const b of running) await withTimeout(b.stop(), 10_000, "broker.stop()").catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

const apply = (text: string) => applySettings(parseConfig(text, "rabbitmq.conf"), "rabbitmq.conf");

const PORTS =
  "listeners.tcp.default = 127.0.0.1:0\nmanagement.tcp.port = 0\nmanagement.tcp.ip = 127.0.0.1\nprometheus.tcp.port = 0\nprometheus.tcp.ip = 127.0.0.1\n";

/** A broker from `text` as its rabbitmq.conf (and conf.d files), with its log lines. */
async function boot(name: string, text: string, confD: Record<string, string> = {}): Promise<{ broker: Broker; log: string[] }> {
  const home = join(dir, name);
  await mkdir(join(home, "conf.d"), { recursive: true });
  await writeFile(join(home, "rabbitmq.conf"), PORTS + text);
  for (const [file, content] of Object.entries(confD)) await writeFile(join(home, "conf.d", file), content);
  const log: string[] = [];
  const broker = await startBroker({
    configFile: join(home, "rabbitmq.conf"),
    dataDir: join(home, "data"),
    logger: createLogger("info", (l) => void log.push(l)),
  });
  running.add(broker);
  return { broker, log };
}

describe("keys that change nothing on one Warren node", () => {
  test("are accepted with one warning each", () => {
    const { options, warnings } = apply(
      "management_agent.disable_metrics_collector = true\nreverse_dns_lookups = false\n" +
        "tcp_listen_options.backlog = 128\ntcp_listen_options.nodelay = true\ntcp_listen_options.keepalive = true\n" +
        "auth_backends.1 = internal\nauth_backends.2 = rabbit_auth_backend_internal\n",
    );
    expect(options).toEqual({});
    expect(warnings.map((w) => w.split(" (")[0])).toEqual([
      "Ignoring management_agent.disable_metrics_collector",
      "Ignoring reverse_dns_lookups",
      "Ignoring tcp_listen_options.backlog",
      "Ignoring tcp_listen_options.nodelay",
      "Ignoring tcp_listen_options.keepalive",
    ]);
  });

  test("another auth backend, and true typos, still stop the boot", () => {
    expect(() => apply("auth_backends.1 = ldap\n")).toThrow(/auth_backends\.1: Warren has only the internal user database/);
    expect(() => apply("consumer_timout = 5\n")).toThrow(/you've tried to set consumer_timout/);
    expect(() => apply("default_user_tag.administrator = true\n")).toThrow(/you've tried to set default_user_tag\.administrator/);
  });
});

describe("keys that mean something", () => {
  test("default_user_tags and default_permissions shape the default user at first boot", async () => {
    const { broker } = await boot(
      "defaults",
      "default_user = ops\ndefault_pass = s3cret\ndefault_user_tags.monitoring = true\ndefault_user_tags.management = true\n" +
        "default_permissions.configure = ^ops-\ndefault_permissions.read = .*\n",
    );
    expect(broker.users.get("ops")?.tags).toEqual(["monitoring", "management"]);
    expect(broker.listPermissions({ user: "ops" })).toEqual([{ user: "ops", vhost: "/", configure: "^ops-", write: ".*", read: ".*" }]);
  });

  test("log.console.formatter = json writes one JSON object per line", async () => {
    const file = join(dir, "json.conf");
    await writeFile(file, "log.console.formatter = json\n");
    expect(loadConfigFile(file).options).toEqual({ logFormat: "json" });
    const lines: string[] = [];
    const log = createLogger("info", (l) => void lines.push(l), "json");
    log.info("Server startup complete");
    const parsed = JSON.parse(lines[0]!);
    expect(parsed).toMatchObject({ level: "info", msg: "Server startup complete" });
    expect(parsed.time).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\+00:00$/);
    expect(() => apply("log.console.formatter = xml\n")).toThrow(/expected json or plaintext/);
  });

  test("management.path_prefix serves the API under the prefix only", async () => {
    const { broker } = await boot("prefix", "management.path_prefix = /rabbitmq\n");
    const base = `http://127.0.0.1:${broker.httpPort}`;
    const auth = { authorization: basic("guest", "guest") };
    const under = await fetch(`${base}/rabbitmq/api/overview`, { headers: auth });
    expect(under.status).toBe(200);
    expect(((await under.json()) as { product_name: string }).product_name).toBe("Warren");
    expect((await fetch(`${base}/api/overview`, { headers: auth })).status).toBe(404);
    const put = await fetch(`${base}/rabbitmq/api/queues/%2F/prefixed`, {
      method: "PUT",
      headers: { ...auth, "content-type": "application/json" },
      body: "{}",
    });
    expect(put.status).toBe(201);
  });

  test("management.cors.allow_origins answers preflights and allowed origins, not others", async () => {
    const { broker } = await boot("cors", "management.cors.allow_origins.1 = https://dash.example\nmanagement.cors.max_age = 600\n");
    const url = `http://127.0.0.1:${broker.httpPort}/api/overview`;
    const preflight = await fetch(url, {
      method: "OPTIONS",
      headers: {
        origin: "https://dash.example",
        "access-control-request-method": "GET",
        "access-control-request-headers": "authorization",
      },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://dash.example");
    expect(preflight.headers.get("access-control-max-age")).toBe("600");
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    const allowed = await fetch(url, { headers: { origin: "https://dash.example", authorization: basic("guest", "guest") } });
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://dash.example");
    expect(allowed.headers.get("access-control-allow-credentials")).toBe("true");
    const other = await fetch(url, { headers: { origin: "https://evil.example", authorization: basic("guest", "guest") } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("conf.d/*.conf beside the main file is read after it, in name order, and named in errors", async () => {
    const { broker, log } = await boot("confd", "heartbeat = 10\n", {
      "10-tuning.conf": "heartbeat = 20\nchannel_max = 100\n",
      "20-more.conf": "heartbeat = 30\n",
      "notes.txt": "this is not read = at all\n",
    });
    expect(broker.options).toMatchObject({ heartbeat: 30, channelMax: 100 });
    expect(log.join("")).toContain(
      `Config file(s): ${join(dir, "confd", "rabbitmq.conf")}, ${join(dir, "confd", "conf.d", "10-tuning.conf")}, ${
        join(dir, "confd", "conf.d", "20-more.conf")
      }`,
    );
    const bad = join(dir, "confd-bad");
    await mkdir(join(bad, "conf.d"), { recursive: true });
    await writeFile(join(bad, "rabbitmq.conf"), "heartbeat = 10\n");
    await writeFile(join(bad, "conf.d", "typo.conf"), "\nhearbeat = 5\n");
    expect(() => loadConfigFile(join(bad, "rabbitmq.conf"))).toThrow(
      `Error in config file ${join(bad, "conf.d", "typo.conf")} line 2: you've tried to set hearbeat`,
    );
  });
});
