// Runtime parameters, global parameters, vhost and user limits over the management API, the
// exchange `policy` field, and what definitions and restarts do with them.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import amqp from "amqplib";
import { startBroker } from "../../mod.ts";
import { createManagementApp, type ManagementApp } from "../../src/http/app.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api, basic } from "../helpers/http.ts";

let tb: TestBroker;
let app: ManagementApp;

beforeAll(async () => {
  tb = await startTestBroker();
  app = createManagementApp(tb.broker);
  tb.broker.addUser("par-maker", "pw", ["policymaker"]);
  tb.broker.setPermissions("par-maker", "/", { configure: ".*", write: ".*", read: ".*" });
  tb.broker.addUser("par-mgmt", "pw", ["management"]);
  tb.broker.setPermissions("par-mgmt", "/", { configure: ".*", write: ".*", read: ".*" });
});
afterAll(() => tb.stop());

describe("vhost limits", () => {
  test("PUT/GET/DELETE /api/vhost-limits set what AMQP enforces, with RabbitMQ's shapes", async () => {
    await api(app, "PUT", "/api/vhosts/par-v1");
    expect((await api(app, "PUT", "/api/vhost-limits/par-v1/max-queues", { value: 1 })).status).toBe(204);
    expect((await api(app, "PUT", "/api/vhost-limits/par-v1/max-connections", { value: -1 })).status).toBe(204);
    expect((await api(app, "GET", "/api/vhost-limits/par-v1")).body).toEqual([{
      vhost: "par-v1",
      value: { "max-queues": 1, "max-connections": -1 },
    }]);
    expect((await api(app, "GET", "/api/vhost-limits")).body).toContainEqual({
      vhost: "par-v1",
      value: { "max-queues": 1, "max-connections": -1 },
    });
    // The same limits as the vhost-limits runtime parameter.
    expect((await api(app, "GET", "/api/parameters/vhost-limits/par-v1/limits")).body)
      .toEqual({ value: { "max-queues": 1, "max-connections": -1 }, vhost: "par-v1", component: "vhost-limits", name: "limits" });

    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${tb.port}/par-v1`);
    try {
      const ch = await conn.createChannel();
      ch.on("error", () => {});
      await ch.assertQueue("par-q1");
      const refused = await ch.assertQueue("par-q2").then(() => "declared", (err: Error) => err.message);
      expect(refused).toContain("queue limit in vhost 'par-v1' (1) is reached");
    } finally {
      await conn.close().catch(() => {});
    }

    expect((await api(app, "DELETE", "/api/vhost-limits/par-v1/max-queues")).status).toBe(204);
    expect((await api(app, "GET", "/api/vhost-limits/par-v1")).body).toEqual([{ vhost: "par-v1", value: { "max-connections": -1 } }]);
    expect((await api(app, "DELETE", "/api/vhost-limits/par-v1/max-connections")).status).toBe(204);
    expect((await api(app, "GET", "/api/vhost-limits/par-v1")).body).toEqual([]);
  });

  test("bad limits are 400 with RabbitMQ's texts; a missing vhost is 404; writes need administrator", async () => {
    const unknown = await api(app, "PUT", "/api/vhost-limits/%2F/max-foo", { value: 10 });
    expect(unknown.status).toBe(400);
    expect(unknown.body.reason).toStartWith('Validation failed\n\nUnrecognised terms [{<<"max-foo">>,10}] in limits');
    const notNumber = await api(app, "PUT", "/api/vhost-limits/%2F/max-queues", { value: "x" });
    expect(notNumber.body.reason).toBe('Validation failed\n\nmax-queues should be a number, actually was <<"x">>\n');
    expect((await api(app, "PUT", "/api/vhost-limits/%2F/max-queues", { value: 1.5 })).status).toBe(400);
    expect((await api(app, "PUT", "/api/vhost-limits/%2F/max-queues", { x: 1 })).body.reason).toBe("[{key_missing,value}]");
    expect((await api(app, "PUT", "/api/vhost-limits/par-none/max-queues", { value: 1 })).status).toBe(404);
    expect((await api(app, "PUT", "/api/vhost-limits/%2F/max-queues", { value: 1 }, basic("par-maker", "pw"))).status).toBe(401);
    expect(tb.broker.vhosts.get("/")!.limits).toEqual({});
  });
});

describe("user limits", () => {
  test("PUT/GET/DELETE /api/user-limits, enforced at the next channel.open", async () => {
    tb.broker.addUser("par-limited", "pw", []);
    tb.broker.setPermissions("par-limited", "/", { configure: ".*", write: ".*", read: ".*" });
    expect((await api(app, "PUT", "/api/user-limits/par-limited/max-channels", { value: 1 })).status).toBe(204);
    expect((await api(app, "GET", "/api/user-limits/par-limited")).body).toEqual([{ user: "par-limited", value: { "max-channels": 1 } }]);
    expect((await api(app, "GET", "/api/user-limits")).body).toContainEqual({ user: "par-limited", value: { "max-channels": 1 } });
    const conn = await amqp.connect(`amqp://par-limited:pw@127.0.0.1:${tb.port}`);
    const closed = new Promise<string>((resolve) => conn.on("error", (err: Error) => resolve(err.message)));
    try {
      await conn.createChannel();
      await conn.createChannel().catch(() => {});
      expect(await closed).toContain("maximum allowed user limit of (1)");
    } finally {
      await conn.close().catch(() => {});
    }
    const unknown = await api(app, "PUT", "/api/user-limits/par-limited/max-foo", { value: 1 });
    expect(unknown.status).toBe(400);
    expect(unknown.body.reason).toStartWith('Unrecognised terms [{<<"max-foo">>,1}] in user-limits');
    expect((await api(app, "PUT", "/api/user-limits/par-nobody/max-channels", { value: 1 })).body).toEqual({
      error: "bad_request",
      reason: ["no_such_user", "par-nobody"],
    });
    expect((await api(app, "DELETE", "/api/user-limits/par-limited/max-channels")).status).toBe(204);
    expect((await api(app, "GET", "/api/user-limits/par-limited")).body).toEqual([]);
  });
});

describe("runtime parameters", () => {
  test("an unknown component is refused as RabbitMQ refuses one whose plugin is off", async () => {
    // (federation-upstream is a built-in plugin's component now: a name no plugin has)
    const r = await api(app, "PUT", "/api/parameters/no-such-plugin-component/%2F/up", { value: { uri: "amqp://x" } });
    expect(r.status).toBe(400);
    expect(r.body.reason).toBe("Validation failed\n\ncomponent no-such-plugin-component not found\n");
    expect((await api(app, "GET", "/api/parameters")).body).toEqual([]);
  });

  test("vhost-limits through /api/parameters; policymaker may, management may not", async () => {
    const maker = basic("par-maker", "pw");
    expect((await api(app, "PUT", "/api/parameters/vhost-limits/%2F/limits", { value: { "max-queues": 500 } }, maker)).status).toBe(201);
    expect(tb.broker.vhosts.get("/")!.limits).toEqual({ "max-queues": 500 });
    expect((await api(app, "GET", "/api/parameters/vhost-limits", undefined, maker)).body)
      .toEqual([{ value: { "max-queues": 500 }, vhost: "/", component: "vhost-limits", name: "limits" }]);
    expect((await api(app, "GET", "/api/parameters", undefined, basic("par-mgmt", "pw"))).status).toBe(401);
    expect((await api(app, "PUT", "/api/parameters/vhost-limits/%2F/other", { value: {} })).status).toBe(400);
    expect((await api(app, "DELETE", "/api/parameters/vhost-limits/%2F/limits", undefined, maker)).status).toBe(204);
    expect((await api(app, "DELETE", "/api/parameters/vhost-limits/%2F/limits")).status).toBe(404);
    expect(tb.broker.vhosts.get("/")!.limits).toEqual({});
  });
});

describe("global parameters and cluster name", () => {
  test("internal_cluster_id exists from the first boot; others can be set, read and cleared (administrator only)", async () => {
    const list = (await api(app, "GET", "/api/global-parameters")).body as { name: string; value: unknown }[];
    expect(list.find((g) => g.name === "internal_cluster_id")?.value).toMatch(/^rabbitmq-cluster-id-[\w-]{22}$/);
    expect((await api(app, "PUT", "/api/global-parameters/par-g", { name: "par-g", value: { a: 1 } })).status).toBe(201);
    expect((await api(app, "PUT", "/api/global-parameters/par-g", { value: { a: 2 } })).status).toBe(204);
    expect((await api(app, "GET", "/api/global-parameters/par-g")).body).toEqual({ value: { a: 2 }, name: "par-g" });
    expect((await api(app, "GET", "/api/global-parameters", undefined, basic("par-maker", "pw"))).status).toBe(401);
    expect((await api(app, "DELETE", "/api/global-parameters/par-g")).status).toBe(204);
    expect((await api(app, "GET", "/api/global-parameters/par-g")).status).toBe(404);
  });

  test("PUT /api/cluster-name sets the cluster_name global parameter that overview shows", async () => {
    expect((await api(app, "PUT", "/api/cluster-name", { name: "par-cluster" })).status).toBe(204);
    expect((await api(app, "GET", "/api/cluster-name")).body).toEqual({ name: "par-cluster" });
    expect((await api(app, "GET", "/api/overview")).body.cluster_name).toBe("par-cluster");
    expect((await api(app, "GET", "/api/global-parameters/cluster_name")).body.value).toBe("par-cluster");
  });
});

describe("exchange policy field", () => {
  test("an exchange object names its policy while one applies, and has no policy key otherwise", async () => {
    await api(app, "PUT", "/api/exchanges/%2F/par-x", { type: "direct" });
    expect("policy" in (await api(app, "GET", "/api/exchanges/%2F/par-x")).body).toBe(false);
    await api(app, "PUT", "/api/policies/%2F/par-p", {
      pattern: "^par-x$",
      definition: { "alternate-exchange": "amq.fanout" },
      "apply-to": "exchanges",
    });
    expect((await api(app, "GET", "/api/exchanges/%2F/par-x")).body.policy).toBe("par-p");
    await api(app, "DELETE", "/api/policies/%2F/par-p");
    expect("policy" in (await api(app, "GET", "/api/exchanges/%2F/par-x")).body).toBe(false);
  });
});

describe("definitions and restarts", () => {
  test("limits, parameters and global parameters export, import elsewhere, and survive a restart", async () => {
    const dir = await mkdtemp(join(tmpdir(), "warren-par-"));
    const start = () =>
      startBroker({ port: 0, httpPort: 0, metricsPort: 0, bind: "127.0.0.1", dataDir: join(dir, "data"), logLevel: "none" });
    try {
      let broker = await start();
      let a = createManagementApp(broker);
      await api(a, "PUT", "/api/vhosts/par-dv");
      await api(a, "PUT", "/api/vhost-limits/par-dv/max-connections", { value: 7 });
      await api(a, "PUT", "/api/user-limits/guest/max-channels", { value: 9 });
      await api(a, "PUT", "/api/global-parameters/par-g", { value: ["x", 1] });
      const exported = (await api(a, "GET", "/api/definitions")).body;
      expect(exported.parameters).toEqual([{
        value: { "max-connections": 7 },
        vhost: "par-dv",
        component: "vhost-limits",
        name: "limits",
      }]);
      expect(exported.global_parameters).toContainEqual({ name: "par-g", value: ["x", 1] });
      expect(exported.users.find((u: { name: string }) => u.name === "guest").limits).toEqual({ "max-channels": 9 });
      const clusterId = broker.globalParameters.get("internal_cluster_id");

      await broker.stop();
      broker = await start();
      a = createManagementApp(broker);
      expect(broker.globalParameters.get("internal_cluster_id")).toBe(clusterId);
      const again = (await api(a, "GET", "/api/definitions")).body;
      for (const key of ["parameters", "global_parameters", "users"]) expect(again[key]).toEqual(exported[key]);
      await broker.stop();

      const other = await startTestBroker();
      try {
        const b = createManagementApp(other.broker);
        expect((await api(b, "POST", "/api/definitions", exported)).status).toBe(204);
        const imported = (await api(b, "GET", "/api/definitions")).body;
        for (const key of ["parameters", "global_parameters"]) expect(imported[key]).toEqual(exported[key]);
        expect(other.broker.vhosts.get("par-dv")!.limits).toEqual({ "max-connections": 7 });
      } finally {
        await other.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("a bad vhost-limits parameter fails the whole import, naming it", async () => {
    const r = await api(app, "POST", "/api/definitions", {
      vhosts: [{ name: "par-bad" }],
      parameters: [{ value: { "max-queues": "many" }, vhost: "par-bad", component: "vhost-limits", name: "limits" }],
    });
    expect(r.status).toBe(400);
    expect(r.body.reason).toContain("parameter 'limits' of component 'vhost-limits' in vhost 'par-bad': max-queues should be a number");
    expect(tb.broker.vhosts.has("par-bad")).toBe(false);
  });

  test("a node booted from a definitions file recovers its stored messages at the next boot, and a given default user is created as well", async () => {
    const dir = await mkdtemp(join(tmpdir(), "warren-par-"));
    const file = join(dir, "defs.json");
    await writeFile(
      file,
      JSON.stringify({
        vhosts: [{ name: "/" }],
        queues: [{ name: "par-boot-q", vhost: "/", durable: true, auto_delete: false, arguments: {} }],
      }),
    );
    const start = () =>
      startBroker({
        port: 0,
        httpPort: 0,
        metricsPort: 0,
        bind: "127.0.0.1",
        dataDir: join(dir, "data"),
        logLevel: "none",
        definitionsFile: file,
        defaultUser: "par-admin",
        defaultPass: "s3cret",
      });
    try {
      let broker = await start();
      expect(broker.users.get("guest")).toBeUndefined();
      expect(broker.users.get("par-admin")?.tags).toEqual(["administrator"]);
      let conn = await amqp.connect(`amqp://par-admin:s3cret@127.0.0.1:${broker.port}`);
      const ch = await conn.createConfirmChannel();
      ch.sendToQueue("par-boot-q", Buffer.from("kept"), { persistent: true });
      await ch.waitForConfirms();
      await conn.close();
      await broker.stop();

      broker = await start();
      try {
        conn = await amqp.connect(`amqp://par-admin:s3cret@127.0.0.1:${broker.port}`);
        const got = await (await conn.createChannel()).get("par-boot-q", { noAck: true });
        expect(got && got.content.toString()).toBe("kept");
        await conn.close();
      } finally {
        await broker.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
