// The cluster name as Terraform and federation see it: PUT /api/cluster-name, the cluster_name
// global parameter (GET /api/global-parameters, definitions) and warren.conf's cluster_name,
// which, as rabbit_nodes seeds it, becomes that parameter at every boot and reaches overview and
// the AMQP cluster_name server property.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MethodId } from "../../src/amqp/spec/methods.gen.ts";
import { startBroker } from "../../mod.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api } from "../helpers/http.ts";
import { RawClient } from "../helpers/raw_client.ts";

setDefaultTimeout(30_000);

async function serverClusterName(port: number): Promise<string | undefined> {
  const c = await RawClient.connect(port);
  try {
    c.sendProtocolHeader();
    const start = await c.waitForMethod(MethodId.ConnectionStart);
    return start.serverProperties.cluster_name?.toString();
  } finally {
    c.destroy();
  }
}

describe("PUT /api/cluster-name", () => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker();
  });
  afterAll(async () => {
    await b.stop();
  });

  test("sets the cluster_name global parameter, listed and exported, and the server property", async () => {
    expect((await api(b.httpUrl, "GET", "/api/global-parameters")).body.map((g: { name: string }) => g.name)).toEqual([
      "internal_cluster_id",
    ]);
    expect((await api(b.httpUrl, "PUT", "/api/cluster-name", { name: "tf-cluster" })).status).toBe(204);
    expect((await api(b.httpUrl, "GET", "/api/cluster-name")).body).toEqual({ name: "tf-cluster" });
    const globals = (await api(b.httpUrl, "GET", "/api/global-parameters")).body;
    expect(globals.map((g: { name: string }) => g.name)).toEqual(["cluster_name", "internal_cluster_id"]);
    expect(globals[0]).toEqual({ name: "cluster_name", value: "tf-cluster" });
    expect((await api(b.httpUrl, "GET", "/api/definitions")).body.global_parameters).toContainEqual({
      name: "cluster_name",
      value: "tf-cluster",
    });
    expect(await serverClusterName(b.port)).toBe("tf-cluster");
  });

  test("the empty name is taken, as RabbitMQ takes it; a missing one is a 400", async () => {
    expect((await api(b.httpUrl, "PUT", "/api/cluster-name", { name: "" })).status).toBe(204);
    expect((await api(b.httpUrl, "GET", "/api/cluster-name")).body).toEqual({ name: "" });
    expect((await api(b.httpUrl, "PUT", "/api/cluster-name", {})).body).toEqual({ error: "bad_request", reason: "[{key_missing,name}]" });
    expect((await api(b.httpUrl, "PUT", "/api/cluster-name", { name: 5 })).status).toBe(400);
    // Clearing the parameter brings back the default (the node name), as in RabbitMQ.
    expect((await api(b.httpUrl, "DELETE", "/api/global-parameters/cluster_name")).status).toBe(204);
    expect((await api(b.httpUrl, "GET", "/api/cluster-name")).body).toEqual({ name: b.broker.alarms.node });
  });
});

test("warren.conf cluster_name reaches global parameters, definitions, overview and connection.start, at every boot", async () => {
  const dir = await mkdtemp(join(tmpdir(), "warren-cluster-name-"));
  const configFile = join(dir, "warren.conf");
  await writeFile(configFile, "cluster_name = edge-site-7\n");
  const lines: string[] = [];
  const logger = {
    debug: () => {},
    warning: () => {},
    error: () => {},
    enabled: () => true,
    info: (m: string) => void lines.push(m),
  };
  const boot = () =>
    startBroker({ port: 0, httpPort: 0, metricsPort: 0, bind: "127.0.0.1", dataDir: join(dir, "data"), configFile, logger });
  try {
    let broker = await boot();
    const http = () => `http://127.0.0.1:${broker.httpPort}`;
    try {
      expect(lines).toContain("Setting cluster name to 'edge-site-7' as configured");
      expect((await api(http(), "GET", "/api/global-parameters/cluster_name")).body).toEqual({
        name: "cluster_name",
        value: "edge-site-7",
      });
      expect((await api(http(), "GET", "/api/definitions")).body.global_parameters).toContainEqual({
        name: "cluster_name",
        value: "edge-site-7",
      });
      expect((await api(http(), "GET", "/api/overview")).body.cluster_name).toBe("edge-site-7");
      expect(await serverClusterName(broker.port)).toBe("edge-site-7");
      // Renamed over the API until the next boot, which seeds the configured name again.
      expect((await api(http(), "PUT", "/api/cluster-name", { name: "renamed" })).status).toBe(204);
      expect(await serverClusterName(broker.port)).toBe("renamed");
    } finally {
      await broker.stop();
    }
    broker = await boot();
    try {
      expect((await api(http(), "GET", "/api/cluster-name")).body).toEqual({ name: "edge-site-7" });
    } finally {
      await broker.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
