// RabbitMQ's environment variables: the ones that apply to Warren are honoured (node port and
// address, node name, data directory), the rest of RABBITMQ_* get one warning line each, and a
// value Warren cannot use stops the start naming the variable.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import amqp from "amqplib";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { EnvError, envWarnings, optionsFromEnv, resolveOptions } from "../../src/config.ts";
import { parseServerArgs } from "../../src/cli/server_args.ts";
import { freePort, killAllWarrens, launchWarren } from "../helpers/warren_process.ts";

setDefaultTimeout(30_000);

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "warren-env-"));
});
afterAll(async () => {
  await killAllWarrens();
  await rm(dir, { recursive: true, force: true });
});

describe("RabbitMQ environment variables", () => {
  test("RABBITMQ_NODE_PORT, RABBITMQ_NODE_IP_ADDRESS, RABBITMQ_NODENAME and RABBITMQ_MNESIA_DIR/BASE map to options", () => {
    expect(optionsFromEnv({ RABBITMQ_NODE_PORT: "5673", RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1", RABBITMQ_MNESIA_DIR: "/var/lib/w" }))
      .toEqual({ port: 5673, listenAddresses: { amqp: "127.0.0.1" }, dataDir: "/var/lib/w" });
    const short = hostname().split(".")[0];
    expect(optionsFromEnv({ RABBITMQ_MNESIA_BASE: "/var/lib/rabbitmq/mnesia" }).dataDir).toBe(`/var/lib/rabbitmq/mnesia/rabbit@${short}`);
    expect(optionsFromEnv({ RABBITMQ_MNESIA_BASE: "/m", RABBITMQ_NODENAME: "hare@box" }).dataDir).toBe("/m/hare@box");
    expect(() => optionsFromEnv({ RABBITMQ_NODE_PORT: "amqp" })).toThrow(EnvError);
    expect(() => optionsFromEnv({ RABBITMQ_NODE_PORT: "70000" })).toThrow('RABBITMQ_NODE_PORT "70000" is not a port number');
  });

  test("flags win over the variables; a file's other listener addresses stay", () => {
    expect(parseServerArgs(["--port", "6000"], { RABBITMQ_NODE_PORT: "5673" })).toMatchObject({ port: 6000 });
    const flagged = parseServerArgs(["--bind", "::1"], { RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1" });
    expect(flagged === "help" || flagged === "version" ? undefined : flagged.listenAddresses?.amqp).toBeUndefined();
    const merged = resolveOptions({ listenAddresses: { http: "10.0.0.1" } }, optionsFromEnv({ RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1" }));
    expect(merged.listenAddresses).toEqual({ http: "10.0.0.1", amqp: "127.0.0.1" });
  });

  test("variables that mean nothing for Warren get one warning each; others are not mentioned", () => {
    expect(envWarnings({
      RABBITMQ_ENABLED_PLUGINS: "rabbitmq_management",
      RABBITMQ_ERLANG_COOKIE: "c",
      RABBITMQ_LOGS: "-",
      RABBITMQ_ENABLED_PLUGINS_FILE: "/etc/rabbitmq/enabled_plugins",
      RABBITMQ_PLUGINS_DIR: "/plugins",
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: "+S 2:2",
      RABBITMQ_DEFAULT_USER: "u",
      RABBITMQ_NODE_PORT: "5672",
      PATH: "/bin",
    })).toEqual([
      "Ignoring environment variable RABBITMQ_ENABLED_PLUGINS: use the enabled_plugins file (RABBITMQ_ENABLED_PLUGINS_FILE) or --plugins",
      "Ignoring environment variable RABBITMQ_ERLANG_COOKIE: Warren has no Erlang distribution (warren ctl uses the management API)",
      "Ignoring environment variable RABBITMQ_LOGS: Warren logs to standard output (log.console.level sets the level)",
      "Ignoring environment variable RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: Warren does not run on the Erlang VM",
    ]);
  });

  test("the executable listens on RABBITMQ_NODE_PORT, keeps data in RABBITMQ_MNESIA_DIR and logs the ignored variables", async () => {
    const port = await freePort();
    const mnesia = join(dir, "mnesia-dir");
    const proc = await launchWarren({
      dataDir: join(dir, "flag-data-unused"),
      args: [],
      env: { RABBITMQ_NODE_PORT: String(port), RABBITMQ_ERLANG_COOKIE: "secret-cookie", RABBITMQ_NODENAME: "hare@env-test" },
    });
    try {
      await proc.waitForLine(/Server startup complete/, 15_000);
      expect(proc.output()).toContain(`started TCP listener on 127.0.0.1:${port}`);
      expect(proc.output()).toContain("[warning] Ignoring environment variable RABBITMQ_ERLANG_COOKIE");
      const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
      await conn.close();
    } finally {
      await proc.kill9();
    }
    // --data-dir (a flag) wins over RABBITMQ_MNESIA_DIR; without the flag the variable is used.
    expect(parseServerArgs([], { RABBITMQ_MNESIA_DIR: mnesia })).toMatchObject({ dataDir: mnesia });
    expect(existsSync(join(dir, "flag-data-unused"))).toBe(true);
  });
});
