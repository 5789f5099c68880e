// warren ctl federation_status and restart_federation_link, against a broker with one link up
// (to another Warren) and one down.
import { afterAll, beforeAll, expect, test } from "bun:test";
import amqp from "amqplib";
import { runCtl } from "../../../src/cli/ctl/mod.ts";
import { startTestBroker, type TestBroker } from "../../helpers/broker.ts";
import { api } from "../../helpers/http.ts";
import { freePort } from "../../helpers/warren_process.ts";
import { eventually, uniqueName } from "./reference.ts";
import { federate, warrenSide } from "./topology.ts";

let a: TestBroker;
let b: TestBroker;
beforeAll(async () => {
  a = await startTestBroker();
  b = await startTestBroker({ clusterName: uniqueName("warren-b") });
});
afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

async function ctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runCtl(["--port", String(b.httpPort), ...args], {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    readStdin: async () => "",
    env: {},
  });
  return { code, stdout, stderr };
}

test("federation_status lists links (all, or only those down); restart_federation_link restarts one by id", async () => {
  const up = uniqueName("x");
  const down = uniqueName("y");
  const c = await amqp.connect(b.url);
  const ch = await c.createChannel();
  await ch.assertExchange(up, "fanout", { durable: true });
  await ch.assertExchange(down, "fanout", { durable: true });
  await c.close();
  const ac = await amqp.connect(a.url);
  await (await ac.createChannel()).assertExchange(up, "fanout", { durable: true });
  await ac.close();
  await federate(warrenSide(b), { name: up, upstream: "to-a", uri: a.url });
  await api(b.httpUrl, "PUT", "/api/parameters/federation-upstream/%2f/nowhere", {
    value: { uri: `amqp://127.0.0.1:${await freePort()}`, "reconnect-delay": 60 },
  });
  await api(b.httpUrl, "PUT", "/api/policies/%2f/nowhere", { pattern: `^${down}$`, definition: { "federation-upstream": "nowhere" } });
  await eventually(
    async () => ((await api(b.httpUrl, "GET", "/api/federation-links/state/down")).body.length === 1 ? true : undefined),
    "the down link",
  );

  const all = await ctl(["federation_status"]);
  expect(all.code).toBe(0);
  const lines = all.stdout.trim().split("\n");
  expect(lines[0]).toBe("Listing federation links on node ...");
  // RabbitMQ's columns, then Warren's failovers and last_failover (docs/scaling.md).
  expect(lines[1]).toBe(
    "type\tname\tvhost\tupstream_name\tupstream\tstatus\tlocal_connection\turi\ttimestamp\terror\tid\tfailovers\tlast_failover",
  );
  const rows = lines.slice(2).map((l) => l.split("\t"));
  expect(rows.map((r) => [r[0], r[1], r[4], r[5]]).sort()).toEqual(
    [["exchange", down, "nowhere", "error"], ["exchange", up, "to-a", "running"]].sort(),
  );
  const onlyDown = await ctl(["federation_status", "--only-down", "-q"]);
  expect(onlyDown.stdout.trim().split("\n").slice(1).map((l) => l.split("\t")[1])).toEqual([down]);

  const id = rows.find((r) => r[1] === up)![10]!;
  const restarted = await ctl(["restart_federation_link", id]);
  expect(restarted.code).toBe(0);
  expect(restarted.stdout).toContain(`Restarting federation link ${id}`);
  await eventually(
    async () =>
      ((await api(b.httpUrl, "GET", "/api/federation-links")).body as { id: string; status: string }[]).find((l) =>
        l.id === id && l.status === "running"
      ),
    "the restarted link",
  );
  const missing = await ctl(["restart_federation_link", "ffffffff"]);
  expect(missing.code).toBe(65);
  expect(missing.stderr).toContain("Federation link with ID ffffffff not found");
});
