// RabbitMQ's own CLI, rabbitmqadmin (Debian's rabbitmq-server package ships it), against Warren's
// management API: declare, list, publish, get, export, import, delete. In-process, or against the
// built executable when WARREN_BIN is set (CI).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrokerUnderTest, startBrokerUnderTest } from "../helpers/broker_under_test.ts";

const ADMIN = ["/usr/bin/rabbitmqadmin", "/usr/sbin/rabbitmqadmin", "/usr/local/bin/rabbitmqadmin"].find((p) => existsSync(p));
if (!ADMIN) console.warn("rabbitmqadmin tests skipped: rabbitmqadmin is not installed (Debian: apt-get install rabbitmq-server)");

let tb: BrokerUnderTest;
let dir: string;

const run = promisify(execFile);

/** Runs rabbitmqadmin (asynchronously: the broker answers it from this same process). */
async function admin(...args: string[]): Promise<string> {
  const { stdout } = await run(ADMIN!, ["-H", "127.0.0.1", "-P", String(tb.httpPort), "-u", "guest", "-p", "guest", ...args], {
    encoding: "utf8",
  });
  return stdout;
}

/** `rabbitmqadmin -f raw_json list …` parsed. */
async function list(what: string, ...columns: string[]): Promise<Record<string, unknown>[]> {
  return JSON.parse(await admin("-f", "raw_json", "list", what, ...columns));
}

beforeAll(async () => {
  if (!ADMIN) return;
  tb = await startBrokerUnderTest();
  dir = await mkdtemp(join(tmpdir(), "warren-admin-"));
});
afterAll(async () => {
  if (!ADMIN) return;
  await tb.stop();
  await rm(dir, { recursive: true, force: true });
});

test.skipIf(!ADMIN)("declare, list, publish, get, export, import, delete", async () => {
  expect(await admin("declare", "queue", "name=http-aq", "durable=true", 'arguments={"x-max-length":5}')).toContain("queue declared");
  expect(await admin("declare", "exchange", "name=http-ax", "type=topic")).toContain("exchange declared");
  expect(await admin("declare", "binding", "source=http-ax", "destination=http-aq", "routing_key=a.#")).toContain("binding declared");

  expect(await list("queues", "name", "durable", "arguments")).toEqual([{
    name: "http-aq",
    durable: true,
    arguments: { "x-max-length": 5 },
  }]);
  expect((await list("exchanges", "name", "type")).find((x) => x.name === "http-ax")).toEqual({ name: "http-ax", type: "topic" });
  expect(await list("bindings", "source", "destination", "routing_key")).toEqual([
    { source: "", destination: "http-aq", routing_key: "http-aq" },
    { source: "http-ax", destination: "http-aq", routing_key: "a.#" },
  ]);

  expect(await admin("publish", "exchange=http-ax", "routing_key=a.b", "payload=hello")).toContain("Message published");
  const got = JSON.parse(await admin("-f", "raw_json", "get", "queue=http-aq", "ackmode=ack_requeue_false"));
  expect(got).toHaveLength(1);
  expect(got[0]).toMatchObject({ payload: "hello", routing_key: "a.b", exchange: "http-ax", redelivered: false });
  expect(await list("queues", "name", "messages")).toEqual([{ name: "http-aq", messages: 0 }]);

  const file = join(dir, "defs.json");
  await admin("export", file);
  const defs = JSON.parse(await readFile(file, "utf8"));
  expect(defs.queues.map((q: { name: string }) => q.name)).toEqual(["http-aq"]);
  expect(await admin("delete", "queue", "name=http-aq")).toContain("queue deleted");
  expect(await list("queues", "name")).toEqual([]);
  await admin("import", file);
  expect(await list("queues", "name")).toEqual([{ name: "http-aq" }]);
  expect((await list("bindings", "source", "routing_key")).map((b) => b.routing_key)).toContain("a.#");

  expect(JSON.parse(await admin("-f", "raw_json", "show", "overview"))[0].rabbitmq_version).toBe("3.10.8");
  const overview =
    (await (await fetch(`${tb.httpUrl}/api/overview`, { headers: { authorization: `Basic ${btoa("guest:guest")}` } })).json()) as {
      node: string;
    };
  const node = overview.node;
  expect(await list("nodes", "name")).toEqual([{ name: node }]);
  expect(await list("users", "name")).toEqual([{ name: "guest" }]);

  expect(await admin("delete", "binding", "source=http-ax", "destination=http-aq", "destination_type=queue", "properties_key=a.#"))
    .toContain("binding deleted");
  expect(await admin("delete", "exchange", "name=http-ax")).toContain("exchange deleted");
  expect(await admin("delete", "queue", "name=http-aq")).toContain("queue deleted");
  expect(await list("queues", "name")).toEqual([]);
});
