// `warren ctl` against a running broker: runCtl in-process (the broker answers from the same
// process, so everything stays asynchronous), and the executable as a subprocess for the wiring
// in src/main.ts and the exit code when nothing listens.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import amqp from "amqplib";
import { runCtl } from "../../src/cli/ctl/mod.ts";
import { startBroker } from "../../mod.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { hasOpenssl, serverCertificates } from "../helpers/certs.ts";
import { until } from "../helpers/until.ts";

let tb: TestBroker;
let dir: string;

beforeAll(async () => {
  tb = await startTestBroker();
  dir = await mkdtemp(join(tmpdir(), "warren-ctl-test-"));
});
afterAll(async () => {
  await tb.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `warren ctl …argv` in-process, capturing its output; `stdin` feeds "-" file arguments. */
async function runCaptured(argv: string[], stdin = ""): Promise<Result> {
  let stdout = "";
  let stderr = "";
  const code = await runCtl(argv, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    readStdin: async () => stdin,
    env: {},
  });
  return { code, stdout, stderr };
}

/** `warren ctl --port <httpPort> …args` against the test broker. */
const ctl = (args: string[], stdin = "") => runCaptured(["--port", String(tb.httpPort), ...args], stdin);

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const amqpUrl = (user: string, pass: string, vhost = "/") =>
  `amqp://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@127.0.0.1:${tb.port}/${encodeURIComponent(vhost)}`;

async function canConnect(url: string): Promise<boolean> {
  try {
    const conn = await amqp.connect(url);
    await conn.close();
    return true;
  } catch {
    return false;
  }
}

/** Declares `name` and publishes `count` messages to it with confirms. */
async function fill(name: string, count: number, args: Record<string, unknown> = {}): Promise<void> {
  const conn = await amqp.connect(tb.url);
  try {
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue(name, { durable: false, arguments: args });
    for (let i = 0; i < count; i++) ch.sendToQueue(name, Buffer.from(`m${i}`));
    await ch.waitForConfirms();
  } finally {
    await conn.close();
  }
}

describe("users and permissions", () => {
  test("add_user then set_permissions lets the user log in over AMQP", async () => {
    const added = await ctl(["add_user", "carol", "s3cret"]);
    expect(added).toEqual({
      code: 0,
      stdout:
        `Adding user "carol" ...\nDone. Don't forget to grant the user permissions to some virtual hosts! See 'warren ctl help set_permissions' to learn more.\n`,
      stderr: "",
    });
    expect(await canConnect(amqpUrl("carol", "s3cret"))).toBe(false); // no permissions in "/" yet
    const set = await ctl(["set_permissions", "-p", "/", "carol", ".*", ".*", ".*"]);
    expect(set).toEqual({ code: 0, stdout: `Setting permissions for user "carol" in vhost "/" ...\n`, stderr: "" });
    expect(await canConnect(amqpUrl("carol", "s3cret"))).toBe(true);
    expect(await canConnect(amqpUrl("carol", "wrong"))).toBe(false);

    expect((await ctl(["change_password", "carol", "n3w"])).code).toBe(0);
    expect(await canConnect(amqpUrl("carol", "s3cret"))).toBe(false);
    expect(await canConnect(amqpUrl("carol", "n3w"))).toBe(true);

    expect((await ctl(["-q", "set_user_tags", "carol", "monitoring", "management"])).stdout).toBe("");
    expect((await ctl(["list_users"])).stdout).toBe(
      "Listing users ...\nuser\ttags\ncarol\t[monitoring, management]\nguest\t[administrator]\n",
    );
    expect((await ctl(["list_users", "--formatter", "json"])).stdout)
      .toBe(`[\n{"user":"carol","tags":["monitoring","management"]}\n,{"user":"guest","tags":["administrator"]}\n]\n`);
    expect((await ctl(["list_permissions"])).stdout).toBe(
      `Listing permissions for vhost "/" ...\nuser\tconfigure\twrite\tread\ncarol\t.*\t.*\t.*\nguest\t.*\t.*\t.*\n`,
    );
    expect((await ctl(["-q", "list_user_permissions", "carol"])).stdout).toBe("vhost\tconfigure\twrite\tread\n/\t.*\t.*\t.*\n");

    expect(await ctl(["clear_permissions", "carol"])).toEqual({
      code: 0,
      stdout: `Clearing permissions for user "carol" in vhost "/" ...\n`,
      stderr: "",
    });
    expect(await canConnect(amqpUrl("carol", "n3w"))).toBe(false);
    // Clearing what is not there is fine, as in rabbitmqctl.
    expect((await ctl(["clear_permissions", "carol"])).code).toBe(0);

    expect((await ctl(["delete_user", "carol"])).code).toBe(0);
    expect((await ctl(["-s", "list_users"])).stdout).toBe("guest\t[administrator]\n");
  });

  test("add_user refuses an existing user; user commands on a missing user exit 67", async () => {
    const again = await ctl(["add_user", "guest", "x"]);
    expect(again.code).toBe(65);
    expect(again.stderr).toBe(`Error:\nUser "guest" already exists\n`);
    expect(await canConnect(tb.url)).toBe(true); // guest's password is unchanged
    for (
      const args of [["delete_user", "nobody"], ["change_password", "nobody", "x"], ["set_user_tags", "nobody", "a"], [
        "set_permissions",
        "nobody",
        ".*",
        ".*",
        ".*",
      ]]
    ) {
      const r = await ctl(args);
      expect(r.code).toBe(67);
      expect(r.stderr).toBe(`Error:\nUser "nobody" does not exist\n`);
    }
    const vhost = await ctl(["set_permissions", "-p", "no-such-vhost", "guest", ".*", ".*", ".*"]);
    expect(vhost.code).toBe(65);
    expect(vhost.stderr).toBe(`Error:\nVirtual host "no-such-vhost" does not exist\n`);
  });

  test("topic permissions: set, list, clear one exchange, clear all", async () => {
    expect((await ctl(["set_topic_permissions", "guest", "amq.topic", "^a", "^b"])).stdout)
      .toBe(`Setting topic permissions on "amq.topic" for user "guest" in vhost "/" ...\n`);
    expect((await ctl(["-q", "set_topic_permissions", "guest", "other.topic", "^c", "^d"])).code).toBe(0);
    expect((await ctl(["-q", "list_topic_permissions"])).stdout)
      .toBe("user\texchange\twrite\tread\nguest\tamq.topic\t^a\t^b\nguest\tother.topic\t^c\t^d\n");
    expect((await ctl(["clear_topic_permissions", "guest", "amq.topic"])).stdout)
      .toBe(`Clearing topic permissions on "amq.topic" for user "guest" in vhost "/" ...\n`);
    expect((await ctl(["-q", "list_user_topic_permissions", "guest"])).stdout).toBe(
      "vhost\texchange\twrite\tread\n/\tother.topic\t^c\t^d\n",
    );
    expect((await ctl(["-q", "clear_topic_permissions", "guest"])).code).toBe(0);
    expect((await ctl(["-q", "list_topic_permissions"])).stdout).toBe("");
  });
});

describe("vhosts", () => {
  test("trace_on and trace_off turn the vhost's firehose tracer on and off; an unknown vhost is 65", async () => {
    await ctl(["-q", "add_vhost", "traced"]);
    expect((await ctl(["trace_on", "-p", "traced"])).stdout).toBe(`Starting tracing for vhost "traced" ...\n`);
    expect(tb.broker.vhosts.get("traced")!.tracing).toBe(true);
    expect((await ctl(["-q", "list_vhosts", "name", "tracing"])).stdout).toBe("name\ttracing\n/\tfalse\ntraced\ttrue\n");
    expect((await ctl(["-q", "trace_off", "-p", "traced"])).code).toBe(0);
    expect(tb.broker.vhosts.get("traced")!.tracing).toBe(false);
    expect((await ctl(["-q", "trace_on", "-p", "nope"])).code).toBe(65);
    expect(tb.broker.vhosts.has("nope")).toBe(false);
    await ctl(["-q", "delete_vhost", "traced"]);
  });

  test("add_vhost with a description and tags, list_vhosts columns, set_vhost_tags, delete_vhost", async () => {
    expect((await ctl(["add_vhost", "v1", "--description", "first one", "--tags", "a,b"])).stdout).toBe(`Adding vhost "v1" ...\n`);
    expect((await ctl(["list_vhosts", "name", "description", "tags"])).stdout)
      .toBe("Listing vhosts ...\nname\tdescription\ttags\n/\t\t[]\nv1\tfirst one\t[a, b]\n");
    expect((await ctl(["-q", "set_vhost_tags", "v1", "c"])).code).toBe(0);
    expect((await ctl(["list_vhosts", "--formatter", "json", "name", "tags"])).stdout)
      .toBe(`[\n{"name":"/","tags":[]}\n,{"name":"v1","tags":["c"]}\n]\n`);
    const node = tb.broker.alarms.node;
    expect((await ctl(["-q", "list_vhosts", "name", "cluster_state"])).stdout).toBe(
      `name\tcluster_state\n/\t[{${node},running}]\nv1\t[{${node},running}]\n`,
    );
    expect(JSON.parse((await ctl(["list_vhosts", "--formatter", "json", "cluster_state"])).stdout)[0]).toEqual({
      cluster_state: { [node]: "running" },
    });
    // The creator may use the new vhost, as with rabbitmqctl's add_vhost over the API.
    expect(await canConnect(amqpUrl("guest", "guest", "v1"))).toBe(true);
    expect((await ctl(["delete_vhost", "v1"])).stdout).toBe(`Deleting vhost "v1" ...\n`);
    const gone = await ctl(["delete_vhost", "v1"]);
    expect(gone.code).toBe(65);
    expect(gone.stderr).toBe(`Error:\nVirtual host "v1" does not exist\n`);
    expect((await ctl(["-q", "set_vhost_tags", "v1", "x"])).code).toBe(65); // not created by the tag command
  });
});

describe("queues and policies", () => {
  test("list_queues prints rabbitmqctl's table and JSON for queues with messages", async () => {
    await ctl(["-q", "add_vhost", "lq"]);
    await fill("lq-a", 3); // in "/": not listed below
    const conn = await amqp.connect(amqpUrl("guest", "guest", "lq"));
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue("alpha", { durable: true });
    await ch.assertQueue("beta", { durable: false, arguments: { "x-max-priority": 5, "x-queue-mode": "lazy" } });
    for (let i = 0; i < 3; i++) ch.sendToQueue("alpha", Buffer.from("x"));
    ch.sendToQueue("beta", Buffer.from("y"));
    await ch.waitForConfirms();
    await conn.close();

    expect(await ctl(["list_queues", "-p", "lq"])).toEqual({
      code: 0,
      stdout: "Listing queues for vhost lq ...\nname\tmessages\nalpha\t3\nbeta\t1\n",
      stderr: "",
    });
    expect(
      (await ctl([
        "list_queues",
        "-p",
        "lq",
        "name",
        "durable",
        "auto_delete",
        "arguments",
        "messages_ready",
        "consumers",
        "state",
        "type",
        "exclusive",
      ])).stdout,
    )
      .toBe(
        "Listing queues for vhost lq ...\n" +
          "name\tdurable\tauto_delete\targuments\tmessages_ready\tconsumers\tstate\ttype\texclusive\n" +
          "alpha\ttrue\tfalse\t[]\t3\t0\trunning\tclassic\tfalse\n" +
          `beta\tfalse\tfalse\t[{"x-max-priority",5},{"x-queue-mode","lazy"}]\t1\t0\trunning\tclassic\tfalse\n`,
      );
    expect((await ctl(["list_queues", "-p", "lq", "--formatter", "json"])).stdout)
      .toBe(`[\n{"name":"alpha","messages":3}\n,{"name":"beta","messages":1}\n]\n`);
    const json = JSON.parse((await ctl(["list_queues", "-p", "lq", "--formatter", "json", "name,arguments,policy,durable"])).stdout);
    expect(json).toEqual([
      { name: "alpha", arguments: [], policy: "", durable: true },
      { name: "beta", arguments: [["x-max-priority", "long", 5], ["x-queue-mode", "longstr", "lazy"]], policy: "", durable: false },
    ]);
    expect((await ctl(["-q", "list_queues", "-p", "lq"])).stdout).toBe("name\tmessages\nalpha\t3\nbeta\t1\n");
    expect((await ctl(["--no-table-headers", "list_queues", "-p", "lq"])).stdout).toBe(
      "Listing queues for vhost lq ...\nalpha\t3\nbeta\t1\n",
    );
  });

  test("set_policy shows in list_queues' policy column and takes effect; clear_policy removes it", async () => {
    await fill("pol-q1", 5);
    await fill("other-q", 5);
    const set = await ctl(["set_policy", "--priority", "3", "--apply-to", "queues", "cap", "^pol-", `{"max-length":2}`]);
    expect(set).toEqual({
      code: 0,
      stdout: `Setting policy "cap" for pattern "^pol-" to "{"max-length":2}" with priority "3" for vhost "/" ...\n`,
      stderr: "",
    });
    const listed = (await ctl(["-q", "list_queues", "name", "policy", "messages"])).stdout;
    expect(listed).toContain("pol-q1\tcap\t2\n");
    expect(listed).toContain("other-q\t\t5\n");
    expect((await ctl(["list_policies"])).stdout)
      .toBe(
        `Listing policies for vhost "/" ...\nvhost\tname\tpattern\tapply-to\tdefinition\tpriority\n/\tcap\t^pol-\tqueues\t{"max-length":2}\t3\n`,
      );
    expect(JSON.parse((await ctl(["list_policies", "--formatter", "json"])).stdout))
      .toEqual([{ vhost: "/", name: "cap", pattern: "^pol-", "apply-to": "queues", definition: `{"max-length":2}`, priority: 3 }]);
    expect((await ctl(["clear_policy", "cap"])).stdout).toBe(`Clearing policy "cap" on vhost "/" ...\n`);
    expect((await ctl(["-q", "list_queues", "name", "policy"])).stdout).toContain("pol-q1\t\n");
    expect((await ctl(["-q", "list_policies"])).stdout).toBe("");
  });

  test("set_policy refusals: the API's validation text, bad JSON, a bad priority", async () => {
    const invalid = await ctl(["set_policy", "bad", "^x", `{"max-length":"many"}`]);
    expect(invalid.code).toBe(65);
    expect(invalid.stderr).toBe(`Error:\nValidation failed\n\n"many" is not a valid maximum length\n`);
    const notJson = await ctl(["-q", "set_policy", "bad", "^x", "{max-length"]);
    expect(notJson.code).toBe(65);
    expect(notJson.stderr).toStartWith("Error:\nJSON decoding error");
    expect((await ctl(["set_policy", "--priority", "high", "bad", "^x", "{}"])).code).toBe(64);
    const missing = await ctl(["clear_policy", "nope"]);
    expect(missing.code).toBe(65);
    expect(missing.stderr).toBe(`Error:\nPolicy "nope" does not exist in vhost "/"\n`);
  });

  test("operator policies: set, list, clear", async () => {
    expect((await ctl(["set_operator_policy", "--apply-to", "queues", "limit", ".*", `{"max-length":100}`])).stdout)
      .toBe(`Setting operator policy override "limit" for pattern ".*" to "{"max-length":100}" with priority "0" for vhost "/" ...\n`);
    expect((await ctl(["-q", "list_operator_policies"])).stdout)
      .toBe(`vhost\tname\tpattern\tapply-to\tdefinition\tpriority\n/\tlimit\t.*\tqueues\t{"max-length":100}\t0\n`);
    expect((await ctl(["-q", "clear_operator_policy", "limit"])).code).toBe(0);
    expect((await ctl(["-q", "list_operator_policies"])).stdout).toBe("");
  });

  test("purge_queue empties a queue; delete_queue reports the ready count and honours --if-empty", async () => {
    await fill("pd-q", 4);
    const notEmpty = await ctl(["delete_queue", "pd-q", "--if-empty"]);
    expect(notEmpty.code).toBe(65);
    expect(notEmpty.stdout).toBe(`Deleting queue 'pd-q' on vhost '/' if queue is empty ...\n`);
    expect(notEmpty.stderr).toBe(`Error:\nqueue 'pd-q' in vhost '/' not empty\n`);
    expect(await ctl(["purge_queue", "pd-q"])).toEqual({ code: 0, stdout: `Purging queue 'pd-q' in vhost '/' ...\n`, stderr: "" });
    expect((await ctl(["-q", "list_queues", "name", "messages"])).stdout).toContain("pd-q\t0\n");
    await fill("pd-q", 2);
    expect(await ctl(["delete_queue", "pd-q"])).toEqual({
      code: 0,
      stdout: `Deleting queue 'pd-q' on vhost '/' ...\nQueue was successfully deleted with 2 ready messages\n`,
      stderr: "",
    });
    expect((await ctl(["-q", "list_queues"])).stdout).not.toContain("pd-q");
  });

  test("names with slashes, spaces and percent signs reach the right queue and vhost", async () => {
    await ctl(["-q", "add_vhost", "team/a b"]);
    const conn = await amqp.connect(amqpUrl("guest", "guest", "team/a b"));
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue("odd/q %2F?#", { durable: false });
    ch.sendToQueue("odd/q %2F?#", Buffer.from("x"));
    await ch.waitForConfirms();
    await conn.close();
    expect((await ctl(["-s", "list_queues", "-p", "team/a b"])).stdout).toBe("odd/q %2F?#\t1\n");
    expect((await ctl(["-q", "purge_queue", "-p", "team/a b", "odd/q %2F?#"])).code).toBe(0);
    expect((await ctl(["-s", "list_queues", "-p", "team/a b"])).stdout).toBe("odd/q %2F?#\t0\n");
    expect((await ctl(["-q", "delete_vhost", "team/a b"])).code).toBe(0);
    expect((await ctl(["purge_queue", ".."])).code).toBe(65);
  });

  test("an unknown queue or vhost is exit 65 with the reason", async () => {
    for (const args of [["purge_queue", "no-such-q"], ["delete_queue", "no-such-q"]]) {
      const r = await ctl(args);
      expect(r.code).toBe(65);
      expect(r.stderr).toBe(`Error:\nQueue 'no-such-q' not found in vhost '/'\n`);
    }
    const vhost = await ctl(["list_queues", "-p", "no-such-vhost"]);
    expect(vhost.code).toBe(65);
    expect(vhost.stderr).toBe(`Error:\nVirtual host "no-such-vhost" does not exist\n`);
  });
});

describe("listings", () => {
  test("list_exchanges and list_bindings with rabbitmqctl's default columns", async () => {
    await ctl(["-q", "add_vhost", "lb"]);
    const conn = await amqp.connect(amqpUrl("guest", "guest", "lb"));
    const ch = await conn.createChannel();
    await ch.assertExchange("ex", "topic", { durable: false });
    await ch.assertQueue("bq", { durable: false });
    await ch.bindQueue("bq", "ex", "a.#", { "x-note": "n" });
    await conn.close();
    expect((await ctl(["list_exchanges", "-p", "lb"])).stdout).toBe(
      "Listing exchanges for vhost lb ...\nname\ttype\n\tdirect\namq.direct\tdirect\namq.fanout\tfanout\namq.headers\theaders\n" +
        "amq.match\theaders\namq.rabbitmq.trace\ttopic\namq.topic\ttopic\nex\ttopic\n",
    );
    expect((await ctl(["list_bindings", "-p", "lb"])).stdout).toBe(
      "Listing bindings for vhost lb...\nsource_name\tsource_kind\tdestination_name\tdestination_kind\trouting_key\targuments\n" +
        "\texchange\tbq\tqueue\tbq\t[]\n" + `ex\texchange\tbq\tqueue\ta.#\t[{"x-note","n"}]\n`,
    );
    expect(JSON.parse((await ctl(["list_bindings", "-p", "lb", "--formatter", "json", "source_name", "arguments"])).stdout))
      .toEqual([{ source_name: "", arguments: [] }, { source_name: "ex", arguments: [["x-note", "longstr", "n"]] }]);
  });

  test("connections, channels and consumers; close_connection closes one by name", async () => {
    const conn = await amqp.connect(tb.url);
    // amqplib reports 320 CONNECTION_FORCED on "close" only.
    const closed = new Promise<string>((resolve) => conn.on("close", (err?: Error) => resolve(err?.message ?? "")));
    const ch = await conn.createChannel();
    await ch.assertQueue("cq", { durable: false });
    await ch.prefetch(7);
    await ch.consume("cq", () => {}, { consumerTag: "ctag-1" });

    const connections = JSON.parse(
      (await ctl(["list_connections", "--formatter", "json", "name", "user", "peer_host", "state", "vhost"])).stdout,
    );
    expect(connections).toHaveLength(1);
    expect(connections[0]).toMatchObject({ user: "guest", peer_host: "127.0.0.1", state: "running", vhost: "/" });
    const name: string = connections[0].name;
    expect((await ctl(["list_connections"])).stdout).toMatch(
      /^Listing connections \.\.\.\nuser\tpeer_host\tpeer_port\tstate\nguest\t127\.0\.0\.1\t\d+\trunning\n$/,
    );
    expect((await ctl(["-q", "list_channels"])).stdout).toBe(
      `pid\tuser\tconsumer_count\tmessages_unacknowledged\n${name} (1)\tguest\t1\t0\n`,
    );
    expect((await ctl(["list_consumers"])).stdout).toBe(
      "Listing consumers in vhost / ...\nqueue_name\tchannel_pid\tconsumer_tag\tack_required\tprefetch_count\tactive\targuments\n" +
        `cq\t${name} (1)\tctag-1\ttrue\t7\ttrue\t[]\n`,
    );

    expect((await ctl(["close_connection", name, "go away"])).stdout).toBe(`Closing connection ${name}, reason: go away...\n`);
    expect(await closed).toContain("go away");
    const again = await ctl(["close_connection", name, "again"]);
    expect(again.code).toBe(65);
    expect(again.stderr).toBe(`Error:\nConnection ${JSON.stringify(name)} not found\n`);
  });

  test("close_all_connections closes a vhost's connections, or at most --limit, or all with --global", async () => {
    expect((await ctl(["add_vhost", "close-all"])).code).toBe(0);
    const open = async (vhost: string) => {
      const conn = await amqp.connect(amqpUrl("guest", "guest", vhost));
      const closed = new Promise<string>((resolve) => conn.on("close", (err?: Error) => resolve(err?.message ?? "")));
      return { conn, closed };
    };
    const inRoot = await Promise.all([open("/"), open("/"), open("/")]);
    const inOther = await Promise.all([open("close-all"), open("close-all")]);
    const count = async () => JSON.parse((await ctl(["list_connections", "--formatter", "json", "vhost"])).stdout).length;
    try {
      expect(await count()).toBe(5);
      const r = await ctl(["close_all_connections", "maintenance"]);
      expect(r).toMatchObject({ code: 0, stdout: `Closing 3 connection(s) in vhost "/", reason: maintenance...\n` });
      for (const c of inRoot) expect(await c.closed).toContain("CONNECTION_FORCED - maintenance");
      await until("the vhost's connections to go", async () => (await count()) === 2);

      expect((await ctl(["-q", "close_all_connections", "--global", "--limit", "1", "one"])).code).toBe(0);
      await until("one more connection to go", async () => (await count()) === 1);
      expect((await ctl(["-q", "close_all_connections", "-p", "close-all", "--per-connection-delay", "5", "rest"])).code).toBe(0);
      await until("every connection to go", async () => (await count()) === 0);
      expect((await Promise.all(inOther.map((c) => c.closed))).sort()).toEqual([
        expect.stringContaining("CONNECTION_FORCED - one"),
        expect.stringContaining("CONNECTION_FORCED - rest"),
      ]);
      expect((await ctl(["close_all_connections", "--limit", "x", "bye"])).code).toBe(64);
    } finally {
      expect((await ctl(["delete_vhost", "close-all"])).code).toBe(0);
    }
  });

  test("status summarises the node", async () => {
    const r = await ctl(["status"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith(`Status of node ${tb.broker.alarms.node} ...\nRuntime\n`);
    expect(r.stdout).toContain(`Interface: 127.0.0.1, port: ${tb.port}, protocol: amqp, purpose: AMQP 0-9-1\n`);
    expect(r.stdout).toContain(`Interface: 127.0.0.1, port: ${tb.httpPort}, protocol: http, purpose: HTTP API\n`);
    expect(r.stdout).toContain("Alarms\n\n(none)\n");
    const json = JSON.parse((await ctl(["status", "--formatter", "json"])).stdout);
    expect(json).toMatchObject({ node: tb.broker.alarms.node, product_name: "Warren", alarms: [], pid: process.pid });
    expect(json.totals.virtual_host_count).toBeGreaterThanOrEqual(1);
    expect((await ctl(["status", "--unit", "bytes"])).stdout).toMatch(/Total memory used: \d+ bytes\n/);
  });
});

describe("resource alarms", () => {
  test("set_vm_memory_high_watermark and set_disk_free_limit set and clear the alarms at once", async () => {
    const { alarms } = tb.broker;
    const memoryBefore = alarms.memoryThreshold;
    const diskBefore = alarms.diskFreeLimit;
    const nodeAlarms = async () => {
      const r = await ctl(["status", "--formatter", "json"]);
      return (JSON.parse(r.stdout).alarms as { resource: string }[]).map((a) => a.resource).sort();
    };
    const conn = await amqp.connect(tb.url);
    const blocked = new Promise<string>((resolve) => conn.on("blocked", resolve));
    const unblocked = new Promise<void>((resolve) => conn.on("unblocked", () => resolve()));
    try {
      const set = await ctl(["set_vm_memory_high_watermark", "absolute", "2"]);
      expect(set).toMatchObject({ code: 0, stderr: "" });
      expect(set.stdout).toBe(`Setting memory threshold on ${alarms.node} to 2 bytes ...\n`);
      // As RabbitMQ, a connection is blocked (and told so) when it publishes during the alarm.
      const ch = await conn.createChannel();
      ch.publish("amq.fanout", "", Buffer.from("during the alarm"));
      expect(await blocked).toBe("low on memory");
      expect(await nodeAlarms()).toEqual(["memory"]);
      expect((await ctl(["-q", "set_vm_memory_high_watermark", "absolute", `${memoryBefore}`])).code).toBe(0);
      await unblocked;
      expect(alarms.memoryThreshold).toBe(memoryBefore);

      // A fraction of the memory limit; a multiple of it for the disk.
      expect((await ctl(["set_vm_memory_high_watermark", "0.5"])).code).toBe(0);
      expect(alarms.memoryThreshold).toBe(Math.trunc(alarms.memoryLimit * 0.5));
      expect((await ctl(["set_disk_free_limit", "mem_relative", "1.5"])).code).toBe(0);
      expect(alarms.diskFreeLimit).toBe(Math.trunc(alarms.memoryLimit * 1.5));
      expect((await ctl(["set_disk_free_limit", "1000000GB"])).code).toBe(0);
      expect(await nodeAlarms()).toContain("disk");
      expect((await ctl(["set_disk_free_limit", `${diskBefore}`])).code).toBe(0);
      expect(await nodeAlarms()).toEqual([]);
      expect(alarms.diskFreeLimit).toBe(diskBefore);

      for (
        const [args, reason] of [
          [["set_vm_memory_high_watermark", "1.5"], "the fraction must be a number from 0 to 1"],
          [["set_vm_memory_high_watermark", "absolute", "lots"], "the memory limit must be a whole number of bytes"],
          [["set_vm_memory_high_watermark", "absolute", "1"], "at least 2 bytes"],
          [["set_disk_free_limit", "5 GB"], "the disk limit must be a whole number of bytes"],
          [["set_disk_free_limit", "mem_relative"], "mem_relative needs a fraction"],
        ] as const
      ) {
        const r = await ctl([...args]);
        expect(r.code).toBe(64);
        expect(r.stderr).toContain(reason);
      }
    } finally {
      await ctl(["-q", "set_vm_memory_high_watermark", "absolute", `${memoryBefore}`]);
      await ctl(["-q", "set_disk_free_limit", `${diskBefore}`]);
      await conn.close();
    }
  });

  test("the API refuses bad thresholds with 400 and a reason, and non-administrators with 401", async () => {
    const base = `http://127.0.0.1:${tb.httpPort}/api/nodes/${encodeURIComponent(tb.broker.alarms.node)}`;
    const put = (path: string, body: unknown, auth = "guest:guest") =>
      fetch(`${base}/${path}`, {
        method: "PUT",
        headers: { authorization: `Basic ${btoa(auth)}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const refused = async (path: string, body: unknown, reason: string) => {
      const r = await put(path, body);
      expect(r.status).toBe(400);
      expect(((await r.json()) as { reason: string }).reason).toContain(reason);
    };
    await refused("memory-high-watermark", { relative: 2 }, "relative must be a fraction from 0 to 1");
    await refused("memory-high-watermark", { absolute: 1.5 }, "absolute must be a whole number of bytes, at least 2");
    await refused("memory-high-watermark", { relative: 0.4, absolute: 10 }, "expected one of relative");
    await refused("disk-free-limit", { mem_relative: -1 }, "mem_relative must be a number of at least 0");
    await refused("disk-free-limit", {}, "expected one of absolute");
    expect(
      (await fetch(`http://127.0.0.1:${tb.httpPort}/api/nodes/nobody@nowhere/disk-free-limit`, {
        method: "PUT",
        headers: { authorization: `Basic ${btoa("guest:guest")}` },
        body: "{}",
      })).status,
    ).toBe(404);
    expect((await ctl(["add_user", "alarm-monitor", "pw"])).code).toBe(0);
    expect((await ctl(["set_user_tags", "alarm-monitor", "monitoring"])).code).toBe(0);
    expect((await put("disk-free-limit", { absolute: 1 }, "alarm-monitor:pw")).status).toBe(401);
    expect((await ctl(["delete_user", "alarm-monitor"])).code).toBe(0);
  });
});

describe("definitions", () => {
  test("export_definitions to a file and import_definitions back restore what was deleted", async () => {
    await ctl(["-q", "add_vhost", "defs"]);
    await ctl(["-q", "add_user", "dave", "pw"]);
    await ctl(["-q", "set_permissions", "-p", "defs", "dave", "^d", ".*", ".*"]);
    await ctl(["-q", "set_policy", "-p", "defs", "dpol", "^dq", `{"max-length":9}`]);
    const conn = await amqp.connect(amqpUrl("guest", "guest", "defs"));
    const ch = await conn.createChannel();
    await ch.assertQueue("dq", { durable: true, arguments: { "x-message-ttl": 1000 } });
    await conn.close();

    const file = join(dir, "defs.json");
    expect(await ctl(["export_definitions", file])).toEqual({
      code: 0,
      stdout: `Exporting definitions in JSON to a file at "${file}" ...\n`,
      stderr: "",
    });
    const exported = JSON.parse(await readFile(file, "utf8"));
    expect(exported.queues).toContainEqual(
      expect.objectContaining({ name: "dq", vhost: "defs", durable: true, arguments: { "x-message-ttl": 1000 } }),
    );
    expect(exported.users.map((u: { name: string }) => u.name)).toContain("dave");

    await ctl(["-q", "delete_vhost", "defs"]);
    await ctl(["-q", "delete_user", "dave"]);
    expect((await ctl(["-q", "list_queues", "-p", "defs"])).code).toBe(65);

    expect(await ctl(["import_definitions", file])).toEqual({
      code: 0,
      stdout: `Importing definitions in JSON from a file at "${file}" ...\n`,
      stderr: "",
    });
    expect((await ctl(["-q", "list_queues", "-p", "defs", "name", "arguments", "policy"])).stdout)
      .toBe(`name\targuments\tpolicy\ndq\t[{"x-message-ttl",1000}]\tdpol\n`);
    expect((await ctl(["-q", "list_permissions", "-p", "defs"])).stdout).toContain("dave\t^d\t.*\t.*\n");
    expect(await canConnect(amqpUrl("dave", "pw", "defs"))).toBe(true);
  });

  test("export_definitions - writes JSON to stdout; import_definitions - reads stdin", async () => {
    const out = await ctl(["export_definitions", "-"]);
    expect(out.code).toBe(0);
    const defs = JSON.parse(out.stdout);
    expect(defs.rabbitmq_version).toBe("3.10.8");
    const extra = {
      vhosts: [{ name: "from-stdin" }],
      queues: [{ name: "sq", vhost: "from-stdin", durable: true, auto_delete: false, arguments: {} }],
    };
    const imported = await ctl(["import_definitions", "-"], JSON.stringify(extra));
    expect(imported).toEqual({ code: 0, stdout: "Importing definitions in JSON from standard input ...\n", stderr: "" });
    expect((await ctl(["-s", "list_queues", "-p", "from-stdin"])).stdout).toBe("sq\t0\n");
  });

  test("a bad definitions file changes nothing and exits 65 with the reason", async () => {
    const file = join(dir, "bad.json");
    await writeFile(file, JSON.stringify({ vhosts: [{ name: "bad-v" }], exchanges: [{ name: "x", vhost: "bad-v", type: "nonsense" }] }));
    const r = await ctl(["import_definitions", file]);
    expect(r.code).toBe(65);
    expect(r.stderr).toStartWith("Error:\n");
    expect(r.stderr).toContain("nonsense");
    expect((await ctl(["-q", "list_vhosts"])).stdout).not.toContain("bad-v");
    await writeFile(file, "{not json");
    const notJson = await ctl(["import_definitions", file]);
    expect(notJson.code).toBe(65);
    expect(notJson.stderr).toContain("is not JSON");
    expect((await ctl(["import_definitions", join(dir, "missing.json")])).code).toBe(65);
  });
});

describe("usage and failures", () => {
  test("bad usage exits 64 with the command's usage", async () => {
    const few = await ctl(["set_permissions", "guest", ".*"]);
    expect(few.code).toBe(64);
    expect(few.stderr).toBe(
      "Error (argument validation): not enough arguments.\n\n" +
        "Usage: warren ctl [global options] set_permissions [--vhost <vhost>] <username> <conf> <write> <read>\n\nSets user permissions for a vhost.\n",
    );
    expect((await ctl(["delete_user", "a", "b"])).code).toBe(64);
    expect((await ctl(["list_queues", "--bogus"])).code).toBe(64);
    const column = await ctl(["list_queues", "name", "colour"]);
    expect(column.code).toBe(64);
    expect(column.stderr).toStartWith("Error (argument validation): Info key(s) colour are not supported\n");
    const unknown = await ctl(["frobnicate"]);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toBe("Command 'frobnicate' not found. ('warren ctl help' lists the commands)\n");
    expect((await ctl([])).code).toBe(64);
    expect((await ctl(["--formatter", "xml", "list_queues"])).code).toBe(64);
    expect((await ctl(["-n", "rabbit@host", "list_queues"])).stderr).toContain("use --host and --port");
    expect((await ctl(["export_definitions", "-", "--format", "erlang"])).code).toBe(64);
  });

  test("help lists every command; help <command> and <command> --help print its usage", async () => {
    const all = await ctl(["help"]);
    expect(all.code).toBe(0);
    for (const name of ["list_queues", "set_policy", "export_definitions", "status", "add_user"]) {
      expect(all.stdout).toContain(`   ${name} `);
    }
    const one = await ctl(["help", "list_queues"]);
    expect(one.code).toBe(0);
    expect(one.stdout).toStartWith("Usage: warren ctl [global options] list_queues [--vhost <vhost>] [<column> ...]\n");
    expect(one.stdout).toContain("<column> must be one of arguments, auto_delete,");
    expect((await ctl(["list_queues", "--help"])).stdout).toBe(one.stdout);
  });

  test("wrong credentials exit 77 with the API's reason", async () => {
    const r = await ctl(["--password", "nope", "list_queues"]);
    expect(r.code).toBe(77);
    expect(r.stderr).toBe("Error:\nLogin failed\n");
  });

  test("nothing listening exits 69 naming host and port", async () => {
    const port = await closedPort();
    let stderr = "";
    const code = await runCtl(["--port", String(port), "list_queues"], {
      stdout: () => {},
      stderr: (t) => void (stderr += t),
      readStdin: async () => "",
      env: {},
    });
    expect(code).toBe(69);
    expect(stderr).toStartWith(`Error: unable to perform an operation on node 127.0.0.1:${port}`);
    expect(stderr).toContain(`Is the broker running at 127.0.0.1:${port}`);
  });

  test("a broker that does not answer within --timeout exits 75", async () => {
    const sockets: import("node:net").Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket)); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      let stderr = "";
      const code = await runCtl(["--port", String(port), "--timeout", "0.2", "list_queues"], {
        stdout: () => {},
        stderr: (t) => void (stderr += t),
        readStdin: async () => "",
        env: {},
      });
      expect(code).toBe(75);
      expect(stderr).toBe(`Error: operation on node 127.0.0.1:${port} timed out. Timeout value used: 200 ms\n`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe("the executable", () => {
  const run = promisify(execFile);
  const main = join(import.meta.dir, "../../src/main.ts");

  test("warren ctl runs a command and exits 0", async () => {
    await fill("exe-q", 2);
    const { stdout } = await run(process.execPath, [main, "ctl", "--port", String(tb.httpPort), "-q", "list_queues", "name", "messages"]);
    expect(stdout).toContain("exe-q\t2\n");
  });

  test("warren ctl exits 69 when nothing listens, and honours WARREN_CTL_HOST/PORT", async () => {
    const port = await closedPort();
    const failed = await run(process.execPath, [main, "ctl", "list_queues"], {
      env: { ...process.env, WARREN_CTL_HOST: "127.0.0.1", WARREN_CTL_PORT: String(port) },
    })
      .then(() => undefined, (err: { code: number; stderr: string }) => err);
    expect(failed?.code).toBe(69);
    expect(failed?.stderr).toContain(`127.0.0.1:${port}`);
  });
});

describe("limits and parameters", () => {
  test("set_vhost_limits is enforced over AMQP; list and clear them", async () => {
    expect((await ctl(["add_vhost", "ctl-lim"])).code).toBe(0);
    const set = await ctl(["set_vhost_limits", "-p", "ctl-lim", '{"max-queues": 1, "max-connections": -1}']);
    expect(set).toMatchObject({
      code: 0,
      stdout: 'Setting vhost limits to "{"max-queues": 1, "max-connections": -1}" for vhost "ctl-lim" ...\n',
    });
    const conn = await amqp.connect(amqpUrl("guest", "guest", "ctl-lim"));
    try {
      const ch = await conn.createChannel();
      ch.on("error", () => {});
      await ch.assertQueue("ctl-lim-1");
      expect(await ch.assertQueue("ctl-lim-2").then(() => "declared", (e: Error) => e.message)).toContain(
        "queue limit in vhost 'ctl-lim' (1) is reached",
      );
    } finally {
      await conn.close().catch(() => {});
    }
    const listed = JSON.parse((await ctl(["list_vhost_limits", "-p", "ctl-lim", "--formatter", "json"])).stdout);
    expect(listed.map((r: { limits: string }) => JSON.parse(r.limits))).toEqual([{ "max-queues": 1, "max-connections": -1 }]);
    expect((await ctl(["clear_vhost_limits", "-p", "ctl-lim"])).code).toBe(0);
    expect(tb.broker.vhosts.get("ctl-lim")!.limits).toEqual({});
    const bad = await ctl(["set_vhost_limits", "-p", "ctl-lim", '{"max-foo": 1}']);
    expect(bad.code).toBe(65);
    expect(bad.stderr).toContain("Unrecognised terms");
    expect((await ctl(["set_vhost_limits", "-p", "ctl-none", '{"max-queues": 1}'])).stderr).toContain(
      'Virtual host "ctl-none" does not exist',
    );
  });

  test("set_user_limits, list_user_limits and clear_user_limits; a missing user is exit 67", async () => {
    expect((await ctl(["add_user", "ctl-limited", "pw"])).code).toBe(0);
    expect((await ctl(["set_user_limits", "ctl-limited", '{"max-channels": 2}'])).code).toBe(0);
    expect(tb.broker.users.get("ctl-limited")!.limits).toEqual({ "max-channels": 2 });
    const table = await ctl(["list_user_limits", "-q"]);
    expect(table.stdout).toContain('ctl-limited\t{"max-channels":2}');
    expect((await ctl(["clear_user_limits", "ctl-limited", "all"])).code).toBe(0);
    expect(tb.broker.users.get("ctl-limited")!.limits).toEqual({});
    expect((await ctl(["set_user_limits", "ctl-nobody", '{"max-channels": 2}'])).code).toBe(67);
    expect((await ctl(["set_user_limits", "ctl-limited", "not json"])).code).toBe(65);
  });

  test("runtime and global parameters", async () => {
    expect((await ctl(["set_parameter", "vhost-limits", "limits", '{"max-connections": 9}'])).code).toBe(0);
    expect(tb.broker.vhosts.get("/")!.limits).toEqual({ "max-connections": 9 });
    expect((await ctl(["list_parameters", "-q"])).stdout).toBe('component\tname\tvalue\nvhost-limits\tlimits\t{"max-connections":9}\n');
    expect((await ctl(["clear_parameter", "vhost-limits", "limits"])).code).toBe(0);
    expect(tb.broker.vhosts.get("/")!.limits).toEqual({});
    const unknown = await ctl(["set_parameter", "no-such-plugin-component", "up", '{"uri": "amqp://x"}']);
    expect(unknown.code).toBe(65);
    expect(unknown.stderr).toContain("component no-such-plugin-component not found");

    expect((await ctl(["set_global_parameter", "ctl-g", '"v"'])).code).toBe(0);
    expect(tb.broker.globalParameters.get("ctl-g")).toBe("v");
    expect((await ctl(["list_global_parameters", "-q"])).stdout).toContain("ctl-g\tv\n");
    expect((await ctl(["clear_global_parameter", "ctl-g"])).code).toBe(0);
    expect((await ctl(["clear_global_parameter", "ctl-g"])).code).toBe(65);
  });
});

describe("HTTPS", () => {
  test.skipIf(!hasOpenssl)("--tls with --cacert reaches a management API that listens on HTTPS only", async () => {
    const certs = await mkdtemp(join(tmpdir(), "warren-ctl-tls-"));
    serverCertificates(certs);
    const https = await startBroker({
      port: 0,
      bind: "127.0.0.1",
      metricsPort: 0,
      dataDir: join(certs, "data"),
      logLevel: "none",
      httpsPort: 0,
      httpsCert: join(certs, "server.pem"),
      httpsKey: join(certs, "server.key"),
    });
    const run = (...args: string[]) => runCaptured(["--host", "localhost", "--port", String(https.httpsPort), ...args]);
    try {
      expect(await run("--cacert", join(certs, "ca.pem"), "-q", "list_vhosts")).toEqual({ code: 0, stdout: "name\n/\n", stderr: "" });
      // Without the CA the server's certificate does not verify; without --tls it is not HTTP.
      expect((await run("--tls", "list_vhosts")).code).not.toBe(0);
      expect((await run("list_vhosts")).code).not.toBe(0);
      expect((await run("--cacert", join(certs, "missing.pem"), "list_vhosts")).stderr).toContain("Cannot read the CA file");
    } finally {
      await https.stop();
      await rm(certs, { recursive: true, force: true });
    }
  });
});
