// Definitions export/import (RabbitMQ's JSON format): round trip, atomicity, idempotence, boot file.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import amqp from "amqplib";
import { startBroker } from "../../mod.ts";
import { createLogger } from "../../src/log.ts";
import { createManagementApp, type ManagementApp } from "../../src/http/app.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api } from "../helpers/http.ts";

const DEFS = {
  rabbit_version: "3.10.8",
  users: [{ name: "http-alice", password_hash: "", hashing_algorithm: "rabbit_password_hashing_sha256", tags: "management" }],
  vhosts: [{ name: "/" }, { name: "http-dv" }],
  permissions: [
    { user: "http-alice", vhost: "http-dv", configure: ".*", write: ".*", read: "^http-" },
    { user: "guest", vhost: "http-dv", configure: ".*", write: ".*", read: ".*" },
  ],
  topic_permissions: [],
  parameters: [],
  global_parameters: [{ name: "cluster_name", value: "elsewhere" }],
  policies: [],
  queues: [{
    name: "http-dq",
    vhost: "http-dv",
    durable: true,
    auto_delete: false,
    arguments: { "x-max-length": 10, "x-queue-type": "classic" },
  }],
  exchanges: [{ name: "http-dx", vhost: "http-dv", type: "topic", durable: true, auto_delete: false, internal: false, arguments: {} }],
  bindings: [{
    source: "http-dx",
    vhost: "http-dv",
    destination: "http-dq",
    destination_type: "queue",
    routing_key: "a.#",
    arguments: { k: "v" },
  }],
};

let tb: TestBroker;
let app: ManagementApp;

beforeAll(async () => {
  tb = await startTestBroker();
  app = createManagementApp(tb.broker);
});
afterAll(() => tb.stop());

describe("import", () => {
  test("POST /api/definitions creates users, vhosts, permissions, queues, exchanges and bindings", async () => {
    const r = await api(app, "POST", "/api/definitions", DEFS);
    expect(r.status).toBe(204);
    const v = tb.broker.vhosts.get("http-dv")!;
    expect(v.queues.get("http-dq")?.durable).toBe(true);
    expect(v.exchanges.get("http-dx")?.type).toBe("topic");
    expect(tb.broker.users.get("http-alice")?.tags).toEqual(["management"]);
    expect(tb.broker.users.permission("http-alice", "http-dv")).toMatchObject({ configure: ".*", write: ".*", read: "^http-" });
    // the binding routes: publish over AMQP into the imported topology
    const conn = await amqp.connect(`${tb.url}/http-dv`);
    const ch = await conn.createConfirmChannel();
    ch.publish("http-dx", "a.b.c", Buffer.from("in"));
    await ch.waitForConfirms();
    expect((await ch.checkQueue("http-dq")).messageCount).toBe(1);
    await conn.close();
  });

  test("importing the same definitions again changes nothing", async () => {
    const before = (await api(app, "GET", "/api/definitions")).body;
    expect((await api(app, "POST", "/api/definitions", DEFS)).status).toBe(204);
    expect((await api(app, "GET", "/api/definitions")).body).toEqual(before);
    expect(tb.broker.vhosts.get("http-dv")!.queues.get("http-dq")!.messageCount).toBe(1);
  });

  test("a bad entry: 400 naming it, and nothing earlier in the file is applied", async () => {
    const bad = {
      vhosts: [{ name: "http-never" }],
      queues: [{ name: "http-new-q", vhost: "/", durable: true, auto_delete: false, arguments: {} }],
      exchanges: [{ name: "http-dx", vhost: "http-dv", type: "direct", durable: true, auto_delete: false, internal: false, arguments: {} }],
      bindings: [],
    };
    const r = await api(app, "POST", "/api/definitions", bad);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({
      error: "bad_request",
      reason:
        "exchange 'http-dx' in vhost 'http-dv': inequivalent arg 'type' for exchange 'http-dx' in vhost 'http-dv': received 'direct' but current is 'topic'",
    });
    expect(tb.broker.vhosts.has("http-never")).toBe(false);
    expect(tb.broker.vhosts.get("/")!.queues.has("http-new-q")).toBe(false);
  });

  test("a binding to a queue that exists neither in the file nor the broker is refused", async () => {
    const r = await api(app, "POST", "/api/definitions", {
      bindings: [{
        source: "amq.direct",
        vhost: "/",
        destination: "http-ghost",
        destination_type: "queue",
        routing_key: "",
        arguments: {},
      }],
    });
    expect(r.status).toBe(400);
    expect(r.body.reason).toBe("binding from exchange 'amq.direct' to queue 'http-ghost' in vhost '/': no queue 'http-ghost' in vhost '/'");
  });

  test("a structurally bad file is 400", async () => {
    expect((await api(app, "POST", "/api/definitions", { queues: "nope" })).body.reason).toBe("'queues' must be a list");
    expect((await api(app, "POST", "/api/definitions", { queues: [{ vhost: "/" }] })).body.reason).toBe(
      "queues[0]: 'name' must be a string",
    );
  });

  test("POST /api/definitions/{vhost} imports into that vhost whatever the entries say", async () => {
    const r = await api(app, "POST", "/api/definitions/%2F", {
      queues: [{ name: "http-scoped", vhost: "http-dv", durable: false, auto_delete: false, arguments: {} }],
    });
    expect(r.status).toBe(204);
    expect(tb.broker.vhosts.get("/")!.queues.has("http-scoped")).toBe(true);
  });
});

describe("export", () => {
  test("GET /api/definitions has RabbitMQ's sections; default and amq.* exchanges and exclusive queues are left out", async () => {
    const d = (await api(app, "GET", "/api/definitions")).body;
    expect(Object.keys(d).sort()).toEqual([
      "bindings",
      "exchanges",
      "global_parameters",
      "parameters",
      "permissions",
      "policies",
      "product_name",
      "product_version",
      "queues",
      "rabbit_version",
      "rabbitmq_version",
      "topic_permissions",
      "users",
      "vhosts",
    ]);
    expect(d.exchanges.map((x: { name: string }) => x.name)).toEqual(["http-dx"]);
    expect(d.bindings).toEqual([{
      source: "http-dx",
      vhost: "http-dv",
      destination: "http-dq",
      destination_type: "queue",
      routing_key: "a.#",
      arguments: { k: "v" },
    }]);
    expect(d.queues).toContainEqual({
      name: "http-dq",
      vhost: "http-dv",
      durable: true,
      auto_delete: false,
      arguments: { "x-max-length": 10, "x-queue-type": "classic" },
    });
  });

  test("GET /api/definitions/{vhost} leaves out the vhost fields; ?download sets Content-Disposition", async () => {
    const r = await api(app, "GET", "/api/definitions/http-dv?download=defs.json");
    expect(r.headers.get("content-disposition")).toBe("attachment; filename=defs.json");
    expect(Object.keys(r.body).sort()).toEqual(["bindings", "exchanges", "parameters", "policies", "queues", "rabbit_version"]);
    expect(r.body.queues).toEqual([{
      name: "http-dq",
      durable: true,
      auto_delete: false,
      arguments: { "x-max-length": 10, "x-queue-type": "classic" },
    }]);
  });

  test("an export imported into a fresh broker reproduces the topology", async () => {
    const exported = (await api(app, "GET", "/api/definitions")).body;
    const other = await startTestBroker();
    try {
      const otherApp = createManagementApp(other.broker);
      expect((await api(otherApp, "POST", "/api/definitions", exported)).status).toBe(204);
      const again = (await api(otherApp, "GET", "/api/definitions")).body;
      for (const key of ["vhosts", "queues", "exchanges", "bindings", "permissions"]) expect(again[key]).toEqual(exported[key]);
      expect(again.users.map((u: { name: string }) => u.name)).toEqual(exported.users.map((u: { name: string }) => u.name));
    } finally {
      await other.stop();
    }
  });
});

describe("--definitions at boot", () => {
  test("the file is applied at boot, with progress in the log, and the default user is not seeded", async () => {
    const dir = await mkdtemp(join(tmpdir(), "warren-defs-"));
    const file = join(dir, "defs.json");
    const defs = {
      ...DEFS,
      users: [{
        name: "http-admin",
        password_hash: (await api(app, "GET", "/api/auth/hash_password/pw")).body.ok,
        hashing_algorithm: "rabbit_password_hashing_sha256",
        tags: ["administrator"],
      }],
      permissions: [{ user: "http-admin", vhost: "http-dv", configure: ".*", write: ".*", read: ".*" }],
      parameters: [{ value: { uri: "amqp://elsewhere" }, vhost: "http-dv", component: "federation-upstream", name: "up" }],
    };
    await writeFile(file, JSON.stringify(defs));
    const lines: string[] = [];
    const broker = await startBroker({
      port: 0,
      httpPort: 0,
      metricsPort: 0,
      bind: "127.0.0.1",
      dataDir: join(dir, "data"),
      definitionsFile: file,
      logger: createLogger("info", (line) => lines.push(line)),
      plugins: [], // federation off: its parameters are skipped
    });
    try {
      expect(broker.vhosts.get("http-dv")?.queues.has("http-dq")).toBe(true);
      expect(broker.users.get("guest")).toBeUndefined();
      const log = lines.join("");
      expect(log).toContain(`Applying definitions from file at '${file}'`);
      expect(log).toContain("Importing concurrently 1 queues...");
      expect(log).toContain("Importing sequentially 1 global runtime parameters...");
      expect(log).toContain("Skipping 1 federation-upstream parameters: Warren has no such component (plugin) yet");
      expect(broker.globalParameters.get("cluster_name")).toBe("elsewhere");
      expect(log.indexOf("Importing concurrently 1 queues")).toBeLessThan(log.indexOf("Server startup complete"));
      const conn = await amqp.connect(`amqp://http-admin:pw@127.0.0.1:${broker.port}/http-dv`);
      await conn.close();
    } finally {
      await broker.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("a bad definitions file stops the boot", async () => {
    const dir = await mkdtemp(join(tmpdir(), "warren-defs-"));
    const file = join(dir, "defs.json");
    await writeFile(file, JSON.stringify({ queues: [{ name: "q", vhost: "http-missing", durable: true }] }));
    try {
      await expect(
        startBroker({
          port: 0,
          httpPort: 0,
          metricsPort: 0,
          bind: "127.0.0.1",
          dataDir: join(dir, "data"),
          definitionsFile: file,
          logLevel: "none",
        }),
      )
        .rejects.toThrow(`Definitions file '${file}' was not imported: queue 'q' in vhost 'http-missing': no vhost 'http-missing'`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
