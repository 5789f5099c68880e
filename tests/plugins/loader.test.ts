// The plugin loader, through the warren command (dist/warren when WARREN_BIN is set, as CI runs
// it; else bun src/main.ts): a third-party plugin from --plugins-dir, enabled and disabled by each
// mechanism — by default, --plugins, the enabled_plugins file (flag and environment variable), and
// `warren plugins enable|disable` on the running node — and boots refused for broken plugins.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import amqp from "amqplib";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ExitedError, run, type ServerProcess, startServer, stopAllServers } from "../helpers/warren_command.ts";

setDefaultTimeout(60_000);

const SAMPLE_DIR = join(import.meta.dir, "..", "fixtures", "plugins");
const SAMPLE = "sample_prefix_exchange";
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "warren-plugins-"));
  dirs.push(d);
  return d;
}

afterAll(async () => {
  await stopAllServers();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const auth = { authorization: "Basic " + Buffer.from("guest:guest").toString("base64") };
async function api(server: ServerProcess, path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const r = await fetch(`http://127.0.0.1:${server.httpPort}${path}`, {
    ...init,
    headers: { ...auth, "content-type": "application/json" },
  });
  const text = await r.text();
  return { status: r.status, body: text === "" ? undefined : JSON.parse(text) };
}

/** Declares an x-sample-prefix exchange: "ok" with routing checked, or the channel error's code and text. */
async function trySampleExchange(server: ServerProcess): Promise<string> {
  const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${server.port}`);
  let connectionError = "";
  conn.on("error", (e: Error & { code?: number }) => (connectionError = `${e.code} ${e.message}`));
  const closed = new Promise((resolve) => conn.once("close", resolve));
  try {
    const ch = await conn.createChannel();
    ch.on("error", () => {});
    try {
      await ch.assertExchange("pfx", "x-sample-prefix", { durable: false });
    } catch {
      await closed; // 503 is a connection error
      return connectionError;
    }
    const { queue } = await ch.assertQueue("", { exclusive: true });
    await ch.bindQueue(queue, "pfx", "orders.");
    ch.publish("pfx", "orders.eu.42", Buffer.from("routed"));
    ch.publish("pfx", "invoices.1", Buffer.from("not routed"));
    await ch.checkQueue(queue);
    const m = await ch.get(queue, { noAck: true });
    const none = await ch.get(queue, { noAck: true });
    return m && m.content.toString() === "routed" && none === false ? "ok" : "wrong routing";
  } finally {
    await conn.close().catch(() => {});
  }
}

const UNKNOWN = "503 Connection closed: 503 (COMMAND-INVALID) with message \"COMMAND_INVALID - unknown exchange type 'x-sample-prefix'\"";

describe("plugins", () => {
  test("by default every available plugin runs: the third-party one's type, route, metrics, log line and listings", async () => {
    const server = await startServer(["--plugins-dir", SAMPLE_DIR]);
    expect(await trySampleExchange(server)).toBe("ok");
    expect(server.log()).toMatch(new RegExp(`Server startup complete; \\d+ plugins started \\([^)]*${SAMPLE}[^)]*\\)`));
    expect(server.log()).toContain(`${SAMPLE}: sample plugin started`);
    expect((await api(server, "/api/sample-prefix")).body).toMatchObject({ routed: 1 });
    const metrics = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
    expect(metrics).toContain("sample_prefix_routed_total 1");
    const overview = (await api(server, "/api/overview")).body as { exchange_types: { name: string }[] };
    expect(overview.exchange_types.map((t) => t.name)).toContain("x-sample-prefix");
    const nodes = (await api(server, "/api/nodes")).body as { enabled_plugins: string[] }[];
    expect(nodes[0]!.enabled_plugins).toContain(SAMPLE);
    const plugins = (await api(server, "/api/plugins")).body as { name: string; enabled: unknown; running: boolean; source: string }[];
    expect(plugins.find((p) => p.name === SAMPLE)).toMatchObject({ enabled: "explicit", running: true });
    await server.stop();
    expect(server.log()).toContain(`${SAMPLE}: sample plugin stopped`);
  });

  test("--plugins is authoritative: an empty list runs none, naming the plugin runs it", async () => {
    const none = await startServer(["--plugins-dir", SAMPLE_DIR, "--plugins="]);
    expect(await trySampleExchange(none)).toBe(UNKNOWN);
    expect((await api(none, "/api/sample-prefix")).status).toBe(404);
    await none.stop();
    const named = await startServer(["--plugins-dir", SAMPLE_DIR, "--plugins", SAMPLE]);
    expect(await trySampleExchange(named)).toBe("ok");
    await named.stop();
  });

  test("an enabled_plugins file given by flag or environment variable decides; RabbitMQ's own names in it are accepted", async () => {
    const dir = tempDir();
    const file = join(dir, "enabled_plugins");
    writeFileSync(file, "[rabbitmq_management,rabbitmq_prometheus].\n");
    const off = await startServer(["--plugins-dir", SAMPLE_DIR], { RABBITMQ_ENABLED_PLUGINS_FILE: file });
    expect(await trySampleExchange(off)).toBe(UNKNOWN);
    await off.stop();
    writeFileSync(file, `% comments are fine\n[rabbitmq_management,\n ${SAMPLE}].\n`);
    const on = await startServer(["--plugins-dir", SAMPLE_DIR, "--enabled-plugins-file", file]);
    expect(await trySampleExchange(on)).toBe("ok");
    await on.stop();
  });

  test("warren.conf's plugins_dir and enabled_plugins_file do what the flags do", async () => {
    const dir = tempDir();
    const file = join(dir, "enabled_plugins");
    writeFileSync(file, `[${SAMPLE}].\n`);
    const conf = join(dir, "warren.conf");
    writeFileSync(conf, `plugins_dir = ${SAMPLE_DIR}\nenabled_plugins_file = ${file}\n`);
    const server = await startServer(["--config", conf]);
    expect(await trySampleExchange(server)).toBe("ok");
    expect(server.log()).toContain(`plugins: from ${file}: ${SAMPLE}`);
    await server.stop();
  });

  test("warren plugins enable/disable change the running node and its enabled_plugins file", async () => {
    const dir = tempDir();
    const file = join(dir, "enabled_plugins");
    writeFileSync(file, "[].\n");
    const server = await startServer(["--plugins-dir", SAMPLE_DIR, "--enabled-plugins-file", file]);
    const ctl = ["--port", String(server.httpPort)];
    expect(await trySampleExchange(server)).toBe(UNKNOWN);

    const enabled = await run(["plugins", "enable", SAMPLE, ...ctl]);
    expect(enabled.code).toBe(0);
    expect(enabled.stdout).toContain(`The following plugins have been enabled:\n  ${SAMPLE}\n\nstarted 1 plugins.`);
    expect(readFileSync(file, "utf8")).toBe(`[${SAMPLE}].\n`);
    expect(await trySampleExchange(server)).toBe("ok");
    const listed = await run(["plugins", "list", ...ctl]);
    expect(listed.stdout).toMatch(new RegExp(`\\[E\\*\\] ${SAMPLE} +1\\.0\\.0`));

    const disabled = await run(["plugins", "disable", SAMPLE, ...ctl]);
    expect(disabled.code).toBe(0);
    expect(disabled.stdout).toContain(`The following plugins have been disabled:\n  ${SAMPLE}\n\nstopped 1 plugins.`);
    expect(readFileSync(file, "utf8")).toBe("[].\n");
    expect(await trySampleExchange(server)).toBe(UNKNOWN);
    expect((await api(server, "/api/sample-prefix")).status).toBe(404);
    expect((await run(["plugins", "list", ...ctl])).stdout).toMatch(new RegExp(`\\[  \\] ${SAMPLE}`));

    const unknown = await run(["plugins", "enable", "no_such_plugin", ...ctl]);
    expect(unknown.code).toBe(65);
    expect(unknown.stderr).toContain("no_such_plugin");
    await server.stop();
  });

  test("a plugin that fails to start when enabled at run time is left off and unrecorded", async () => {
    const dir = tempDir();
    const plugins = join(dir, "plugins");
    mkdirSync(plugins);
    writeFileSync(
      join(plugins, "failing.js"),
      `export const plugin = {
  name: "failing_plugin", description: "starts badly",
  exchangeTypes: [{ name: "x-failing", description: "never", createRouter() { throw new Error("unused"); } }],
  start() { throw new Error("boom at start"); },
};\n`,
    );
    const file = join(dir, "enabled_plugins");
    writeFileSync(file, "[].\n");
    const server = await startServer(["--plugins-dir", plugins, "--enabled-plugins-file", file]);
    const answer = await api(server, "/api/plugins/failing_plugin", { method: "PUT", body: JSON.stringify({ enabled: true }) });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain("plugin failing_plugin failed to start: boom at start");
    expect(readFileSync(file, "utf8")).toBe("[].\n");
    const listed = (await api(server, "/api/plugins")).body as { name: string; enabled: unknown; running: boolean }[];
    expect(listed.find((p) => p.name === "failing_plugin")).toMatchObject({ enabled: false, running: false });
    const types = ((await api(server, "/api/overview")).body as { exchange_types: { name: string }[] }).exchange_types;
    expect(types.map((t) => t.name)).not.toContain("x-failing");
    await server.stop();
  });

  test("warren plugins --offline edits the file only", async () => {
    const dir = tempDir();
    const file = join(dir, "enabled_plugins");
    writeFileSync(file, "[rabbitmq_management].\n");
    const r = await run(["plugins", "disable", "rabbitmq_management", "--offline", "--enabled-plugins-file", file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Offline change; changes will take effect at broker restart.");
    expect(readFileSync(file, "utf8")).toBe("[].\n");
    const off = await run(["plugins", "list", "--offline", "--enabled-plugins-file", file]);
    expect(off.code).toBe(0);
    expect(off.stdout).toMatch(/\[ {2}\] rabbitmq_consistent_hash_exchange/);
    writeFileSync(file, "[rabbitmq_consistent_hash_exchange].\n");
    const on = await run(["plugins", "list", "--offline", "--enabled-plugins-file", file]);
    expect(on.stdout).toMatch(/\[E \] rabbitmq_consistent_hash_exchange/);
  });

  test("a durable exchange of a plugin's type comes back with the plugin, and waits in the store while it is off", async () => {
    const dataDir = tempDir();
    const first = await startServer(["--plugins-dir", SAMPLE_DIR], {}, dataDir);
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${first.port}`);
    const ch = await conn.createChannel();
    await ch.assertExchange("durable-pfx", "x-sample-prefix", { durable: true });
    await ch.assertQueue("pq", { durable: true });
    await ch.bindQueue("pq", "durable-pfx", "a.");
    await conn.close();
    await first.stop();

    const without = await startServer(["--plugins-dir", SAMPLE_DIR, "--plugins="], {}, dataDir);
    expect(without.log()).toContain("skipping exchange 'durable-pfx' in vhost '/' (type 'x-sample-prefix')");
    expect((await api(without, "/api/exchanges/%2F/durable-pfx")).status).toBe(404);
    await without.stop();

    const again = await startServer(["--plugins-dir", SAMPLE_DIR], {}, dataDir);
    const c2 = await amqp.connect(`amqp://guest:guest@127.0.0.1:${again.port}`);
    const ch2 = await c2.createChannel();
    ch2.publish("durable-pfx", "a.b", Buffer.from("back"));
    await ch2.checkQueue("pq");
    expect((await ch2.get("pq", { noAck: true }) as { content: Buffer }).content.toString()).toBe("back");
    await c2.close();
    await again.stop();
  });

  test("a broken plugin module, a duplicate name, an unknown dependency or an unknown --plugins name stops the boot, naming it", async () => {
    const cases: [string, Record<string, string>, RegExp][] = [
      ["broken", { "broken.ts": "export const plugin = ;" }, /cannot load plugin module .*broken\.ts/],
      ["empty", { "nothing.js": "export const x = 1;\n" }, /plugin module .*nothing\.js exports no plugin/],
      [
        "dup",
        { "a.js": `export const plugin = { name: "${SAMPLE}", description: "copy" };\n` },
        new RegExp(`plugin ${SAMPLE} .* has the same name`),
      ],
      [
        "dep",
        { "d.js": `export default { name: "needs_more", description: "d", requires: ["not_there"] };\n` },
        /plugin needs_more .*requires not_there, which is not available/,
      ],
    ];
    for (const [name, files, expected] of cases) {
      const dir = join(tempDir(), name);
      mkdirSync(dir);
      for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
      const args = name === "dup" ? ["--plugins-dir", dir] : ["--plugins-dir", dir];
      if (name === "dup") {
        // the sample plugin's folder, copied beside the duplicate
        mkdirSync(join(dir, "sample"));
        writeFileSync(
          join(dir, "sample", "mod.ts"),
          readFileSync(join(SAMPLE_DIR, "sample", "mod.ts"), "utf8").replaceAll(
            "../../../../src/",
            `${join(import.meta.dir, "..", "..", "src")}/`,
          ),
        );
      }
      const error = await startServer(args).then(async (s) => {
        await s.stop();
        return undefined;
      }, (e: unknown) => e);
      expect(error).toBeInstanceOf(ExitedError);
      expect((error as ExitedError).code).toBe(1);
      expect((error as ExitedError).output).toMatch(expected);
    }
    const unknown = await startServer(["--plugins", "no_such_plugin"]).catch((e: unknown) => e);
    expect((unknown as ExitedError).output).toMatch(/--plugins names unknown plugin\(s\) no_such_plugin/);
  });
});

describe("plugin parameters and events", () => {
  const put = (server: ServerProcess, path: string, body: unknown) => api(server, path, { method: "PUT", body: JSON.stringify(body) });
  const seen = async (server: ServerProcess) =>
    (await api(server, "/api/sample-prefix")).body as {
      settings: Record<string, unknown>;
      policyEvents: string[];
      logged: { vhost: string; name: string; level: number }[];
    };

  test("a plugin's parameter component: validated, notified, stored, recovered and notified again when the plugin starts", async () => {
    const dataDir = tempDir();
    const first = await startServer(["--plugins-dir", SAMPLE_DIR], {}, dataDir);
    const bad = await put(first, "/api/parameters/sample-setting/%2F/one", { value: { level: "high" } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('level must be a number, got \\"high\\"');
    expect((await put(first, "/api/parameters/sample-setting/%2F/one", { value: { level: 2 } })).status).toBeLessThan(300);
    expect((await put(first, "/api/parameters/sample-setting/%2F/two", { value: { level: 3 } })).status).toBeLessThan(300);
    expect((await seen(first)).settings).toEqual({ "//one": { level: 2 }, "//two": { level: 3 } });
    expect((await api(first, "/api/parameters/sample-setting/%2F/two", { method: "DELETE" })).status).toBeLessThan(300);
    expect((await seen(first)).settings).toEqual({ "//one": { level: 2 } });
    await first.stop();

    // Off: the component is unknown, its value stays stored.
    const off = await startServer(["--plugins-dir", SAMPLE_DIR, "--plugins="], {}, dataDir);
    expect((await put(off, "/api/parameters/sample-setting/%2F/three", { value: { level: 1 } })).status).toBe(400);
    await off.stop();

    const again = await startServer(["--plugins-dir", SAMPLE_DIR], {}, dataDir);
    expect((await seen(again)).settings).toEqual({ "//one": { level: 2 } });
    // Its own table (a migration of its own) kept what notify wrote before the restart, and the
    // notify at start wrote again.
    expect((await seen(again)).logged.map((r) => `${r.name}=${r.level}`)).toEqual(["one=2", "two=3", "one=2"]);
    const listed = (await api(again, "/api/parameters/sample-setting")).body as { name: string; value: unknown }[];
    expect(listed.map((p) => [p.name, p.value])).toEqual([["one", { level: 2 }]]);
    await again.stop();
  });

  test("a plugin hears when a policy starts and stops applying to an exchange", async () => {
    const server = await startServer(["--plugins-dir", SAMPLE_DIR]);
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${server.port}`);
    const ch = await conn.createChannel();
    await ch.assertExchange("pfx.one", "x-sample-prefix", { durable: false });
    await ch.assertExchange("other", "direct", { durable: false });
    const policy = { pattern: "^(pfx|other)", definition: { "alternate-exchange": "ae" }, "apply-to": "exchanges" };
    expect((await put(server, "/api/policies/%2F/ae-policy", policy)).status).toBeLessThan(300);
    expect((await seen(server)).policyEvents).toEqual(["pfx.one:none->ae-policy"]);
    await api(server, "/api/policies/%2F/ae-policy", { method: "DELETE" });
    expect((await seen(server)).policyEvents).toEqual(["pfx.one:none->ae-policy", "pfx.one:ae-policy->none"]);
    await conn.close();
    await server.stop();
  });
});

describe("the built-in consistent-hash plugin, by each mechanism", () => {
  const CH = "rabbitmq_consistent_hash_exchange";
  /** "ok" when an x-consistent-hash exchange can be declared and routes, else the connection error. */
  async function tryConsistentHash(server: ServerProcess): Promise<string> {
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${server.port}`);
    let connectionError = "";
    conn.on("error", (e: Error & { code?: number }) => (connectionError = `${e.code}`));
    const closed = new Promise((resolve) => conn.once("close", resolve));
    try {
      const ch = await conn.createChannel();
      ch.on("error", () => {});
      try {
        await ch.assertExchange("ch", "x-consistent-hash", { durable: false });
      } catch {
        await closed;
        return connectionError;
      }
      const { queue } = await ch.assertQueue("", { exclusive: true });
      await ch.bindQueue(queue, "ch", "10");
      ch.publish("ch", "any-key", Buffer.from("x"));
      await ch.checkQueue(queue);
      return (await ch.get(queue, { noAck: true })) ? "ok" : "not routed";
    } finally {
      await conn.close().catch(() => {});
    }
  }

  test("on by default; off with --plugins=; on with --plugins naming it, a file naming it, and warren plugins enable", async () => {
    const byDefault = await startServer();
    expect(await tryConsistentHash(byDefault)).toBe("ok");
    const disabled = await run(["plugins", "disable", CH, "--port", String(byDefault.httpPort)]);
    expect(disabled.code).toBe(0);
    expect(await tryConsistentHash(byDefault)).toBe("503");
    expect((await run(["plugins", "enable", CH, "--port", String(byDefault.httpPort)])).code).toBe(0);
    expect(await tryConsistentHash(byDefault)).toBe("ok");
    await byDefault.stop();

    const none = await startServer(["--plugins="]);
    expect(await tryConsistentHash(none)).toBe("503");
    await none.stop();
    const named = await startServer(["--plugins", CH]);
    expect(await tryConsistentHash(named)).toBe("ok");
    await named.stop();
    const file = join(tempDir(), "enabled_plugins");
    writeFileSync(file, `[rabbitmq_management,${CH}].\n`);
    const fromFile = await startServer([], { RABBITMQ_ENABLED_PLUGINS_FILE: file });
    expect(await tryConsistentHash(fromFile)).toBe("ok");
    await fromFile.stop();
    writeFileSync(file, "[rabbitmq_management].\n");
    const offByFile = await startServer(["--enabled-plugins-file", file]);
    expect(await tryConsistentHash(offByFile)).toBe("503");
    await offByFile.stop();
  });
});
