// Users, vhosts, permissions and limits over real TCP, driven through the Broker's management
// API: password hashes imported from RabbitMQ, users without passwords, user deletion and vhost
// deletion closing connections with 320, permission changes reaching open channels, user limits,
// loopback-only users, and everything surviving a restart. (Differences from RabbitMQ in what a
// client sees are covered by tests/interop/permissions.test.ts.)
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import amqp, { type ChannelModel } from "amqplib";
import { Database } from "bun:sqlite";
import { mkdtemp, rm } from "node:fs/promises";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { type Broker, startBroker } from "../../mod.ts";
import { ManagementError } from "../../src/broker/management.ts";
import { withTimeout } from "../helpers/broker.ts";

setDefaultTimeout(30_000);

const running = new Set<Broker>();
const dirs: string[] = [];

afterAll(async () => {
  for (const b of running) await withTimeout(b.stop(), 10_000, "broker.stop()").catch(() => {});
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function start(dataDir?: string, opts: Parameters<typeof startBroker>[0] = {}): Promise<{ broker: Broker; dataDir: string }> {
  if (!dataDir) {
    dataDir = await mkdtemp(join(tmpdir(), "warren-auth-"));
    dirs.push(dataDir);
  }
  const broker = await startBroker({ port: 0, httpPort: 0, metricsPort: 0, bind: "127.0.0.1", dataDir, logLevel: "none", ...opts });
  running.add(broker);
  return { broker, dataDir };
}

async function stop(broker: Broker): Promise<void> {
  await withTimeout(broker.stop(), 10_000, "broker.stop()");
  running.delete(broker);
}

function url(broker: Broker, user: string, pass: string, vhost = "/", host = "127.0.0.1"): string {
  return `amqp://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@${host}:${broker.port}/${encodeURIComponent(vhost)}`;
}

/** Connects; resolves to the connection, or to the error text when the server refused. */
async function connect(target: string): Promise<ChannelModel | string> {
  try {
    const conn = await amqp.connect(target);
    conn.on("error", () => {});
    return conn;
  } catch (err) {
    return (err as Error).message;
  }
}

async function connected(target: string): Promise<ChannelModel> {
  const c = await connect(target);
  if (typeof c === "string") throw new Error(`expected to connect, was refused: ${c}`);
  return c;
}

/** Resolves with the close error's message once the server closed the connection. */
function closedWith(conn: ChannelModel): Promise<string> {
  return new Promise((resolve) => conn.on("close", (err?: Error) => resolve(err ? err.message : "closed")));
}

// A user created on RabbitMQ 3.10.8 (PUT /api/users/perm-hashprobe {"password":"s3cret"}), as
// GET /api/users/perm-hashprobe returned it.
const RABBIT_HASH = "KhJkcuwrArxPEQjRjlLHgzxH+YFqUWj4aSVQy4P9liIewo+s";

describe("users and passwords", () => {
  test("a password hash exported from RabbitMQ logs in with its password, and only with it", async () => {
    const { broker } = await start();
    broker.addUserWithHash("imported", RABBIT_HASH, "rabbit_password_hashing_sha256", ["management"]);
    broker.setPermissions("imported", "/", { configure: ".*", write: ".*", read: ".*" });
    const conn = await connected(url(broker, "imported", "s3cret"));
    await conn.close();
    expect(await connect(url(broker, "imported", "s3cret2"))).toContain("403");
    expect(broker.users.get("imported")?.tags).toEqual(["management"]);
  });

  test("a user without a password cannot log in until it gets one, nor after the password is cleared", async () => {
    const { broker } = await start();
    broker.addUser("nopass", undefined, []);
    broker.setPermissions("nopass", "/", { configure: ".*", write: ".*", read: ".*" });
    expect(await connect(url(broker, "nopass", ""))).toContain("ACCESS_REFUSED");
    expect(await connect(url(broker, "nopass", "anything"))).toContain("ACCESS_REFUSED");
    broker.changePassword("nopass", "now");
    await (await connected(url(broker, "nopass", "now"))).close();
    broker.clearPassword("nopass");
    expect(await connect(url(broker, "nopass", "now"))).toContain("ACCESS_REFUSED");
    expect(broker.listPermissions({ user: "nopass" })).toHaveLength(1); // permissions stay
  });

  test("deleting a user closes its connections with 320 and leaves other users' alone", async () => {
    const { broker } = await start();
    broker.addUser("leaving", "pw", []);
    broker.setPermissions("leaving", "/", { configure: ".*", write: ".*", read: ".*" });
    const theirs = await connected(url(broker, "leaving", "pw"));
    const guests = await connected(url(broker, "guest", "guest"));
    const closed = closedWith(theirs);
    broker.deleteUser("leaving");
    expect(await closed).toContain(`320 (CONNECTION-FORCED) with message "CONNECTION_FORCED - user 'leaving' is deleted"`);
    await (await guests.createChannel()).checkExchange("amq.direct");
    expect(await connect(url(broker, "leaving", "pw"))).toContain("403");
    expect(broker.listPermissions({ user: "leaving" })).toEqual([]);
    await guests.close();
  });

  test("the management API names what is missing or invalid", async () => {
    const { broker } = await start();
    const fails = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(ManagementError);
        return `${(err as ManagementError).kind}: ${(err as Error).message}`;
      }
      throw new Error("expected a ManagementError");
    };
    expect(fails(() => broker.setPermissions("ghost", "/", { configure: "", write: "", read: "" }))).toBe(
      "not_found: user 'ghost' does not exist",
    );
    expect(fails(() => broker.setPermissions("guest", "nowhere", { configure: "", write: "", read: "" }))).toBe(
      "not_found: vhost 'nowhere' does not exist",
    );
    expect(fails(() => broker.deleteVhost("nowhere"))).toBe("not_found: vhost 'nowhere' does not exist");
    expect(fails(() => broker.changePassword("ghost", "x"))).toBe("not_found: user 'ghost' does not exist");
    expect(fails(() => broker.setPermissions("guest", "/", { configure: "(", write: "", read: "" }))).toStartWith(
      "invalid: invalid regular expression '('",
    );
    expect(fails(() => broker.setVhostLimits("/", { "max-consumers": 1 } as never))).toBe(
      `invalid: Unrecognised terms [{<<"max-consumers">>,1}] in limits for vhost '/' (known: max-connections, max-queues)`,
    );
    expect(fails(() => broker.addUserWithHash("h", "abc", "rabbit_password_hashing_sha1"))).toBe(
      "invalid: unknown hashing algorithm 'rabbit_password_hashing_sha1'",
    );
    expect(fails(() => broker.addUser("", "pw"))).toBe("invalid: user name must not be empty");
    // A refused change changes nothing.
    expect(broker.listPermissions({ user: "guest" })).toEqual([{ user: "guest", vhost: "/", configure: ".*", write: ".*", read: ".*" }]);
  });
});

describe("permission changes reach open channels", () => {
  test("clearing permissions refuses the next publish on a channel that published before (the cached verdict is dropped)", async () => {
    const { broker } = await start();
    broker.addUser("pub", "pw", []);
    broker.setPermissions("pub", "/", { configure: ".*", write: ".*", read: ".*" });
    const conn = await connected(url(broker, "pub", "pw"));
    const ch = await conn.createConfirmChannel();
    ch.on("error", () => {});
    ch.publish("amq.direct", "k", Buffer.from("1"));
    await ch.waitForConfirms();
    broker.setPermissions("pub", "/", { configure: ".*", write: "^other$", read: ".*" });
    const closed = new Promise<string>((resolve) => ch.on("close", () => resolve("closed")));
    const error = new Promise<string>((resolve) => ch.on("error", (e: Error) => resolve(e.message)));
    ch.publish("amq.direct", "k", Buffer.from("2"));
    expect(await error).toContain("ACCESS_REFUSED - access to exchange 'amq.direct' in vhost '/' refused for user 'pub'");
    await closed;
    await conn.close();
  });

  test("a topic permission set after a publish refuses the next publish with that routing key", async () => {
    const { broker } = await start();
    broker.addUser("tp", "pw", []);
    broker.setPermissions("tp", "/", { configure: ".*", write: ".*", read: ".*" });
    const conn = await connected(url(broker, "tp", "pw"));
    const ch = await conn.createConfirmChannel();
    ch.on("error", () => {});
    ch.publish("amq.topic", "secret.a", Buffer.from("1"));
    await ch.waitForConfirms();
    broker.setTopicPermissions("tp", "/", "amq.topic", "^public\\.", ".*");
    ch.publish("amq.topic", "public.a", Buffer.from("2"));
    await ch.waitForConfirms();
    const error = new Promise<string>((resolve) => ch.on("error", (e: Error) => resolve(e.message)));
    ch.publish("amq.topic", "secret.a", Buffer.from("3"));
    expect(await error).toContain("access to topic 'secret.a' in exchange 'amq.topic' in vhost '/' refused for user 'tp'");
    broker.clearTopicPermissions("tp", "/");
    const again = await conn.createConfirmChannel();
    again.publish("amq.topic", "secret.a", Buffer.from("4"));
    await again.waitForConfirms();
    await conn.close();
  });
});

describe("vhosts", () => {
  test("deleting a vhost closes its connections with 320 and removes its queues and stored messages, also after a restart", async () => {
    const { broker, dataDir } = await start();
    broker.addVhost("doomed", { description: "to be deleted" });
    broker.setPermissions("guest", "doomed", { configure: ".*", write: ".*", read: ".*" });
    const inDoomed = await connected(url(broker, "guest", "guest", "doomed"));
    const inRoot = await connected(url(broker, "guest", "guest"));
    for (const conn of [inDoomed, inRoot]) {
      const ch = await conn.createConfirmChannel();
      await ch.assertExchange("x", "fanout", { durable: true });
      await ch.assertQueue("q", { durable: true });
      await ch.bindQueue("q", "x", "");
      for (let i = 0; i < 5; i++) ch.publish("x", "", Buffer.from(`m${i}`), { persistent: true });
      await ch.waitForConfirms();
    }
    const consumer = await inDoomed.createChannel();
    await consumer.consume("q", () => {}); // unacked deliveries must go too
    const closed = closedWith(inDoomed);
    broker.deleteVhost("doomed");
    expect(await closed).toContain(`320 (CONNECTION-FORCED) with message "CONNECTION_FORCED - vhost 'doomed' is deleted"`);
    expect(broker.vhosts.has("doomed")).toBe(false);
    expect(broker.listPermissions({ vhost: "doomed" })).toEqual([]);
    expect(await connect(url(broker, "guest", "guest", "doomed"))).toContain("Expected ConnectionOpenOk");
    await inRoot.close();
    await stop(broker);

    const db = new Database(join(dataDir, "warren.sqlite"), { readonly: true });
    const count = (sql: string) => {
      const query = db.prepare(sql);
      const row = query.get() as { n: number };
      query.finalize();
      return row;
    };
    expect(count("SELECT COUNT(*) AS n FROM queues WHERE vhost = 'doomed'").n).toBe(0);
    expect(count("SELECT COUNT(*) AS n FROM exchanges WHERE vhost = 'doomed'").n).toBe(0);
    expect(count("SELECT COUNT(*) AS n FROM bindings WHERE vhost = 'doomed'").n).toBe(0);
    expect(count("SELECT COUNT(*) AS n FROM messages").n).toBe(5); // only the ones in '/'
    db.close(true); // really closed: an open handle would hold a lock on the file

    const { broker: again } = await start(dataDir);
    expect(again.vhosts.has("doomed")).toBe(false);
    again.addVhost("doomed");
    again.setPermissions("guest", "doomed", { configure: ".*", write: ".*", read: ".*" });
    const conn = await connected(url(again, "guest", "guest", "doomed"));
    const ch = await conn.createChannel();
    ch.on("error", () => {});
    await expect(ch.checkQueue("q")).rejects.toThrow("NOT_FOUND - no queue 'q' in vhost 'doomed'");
    const root = await connected(url(again, "guest", "guest"));
    expect((await (await root.createChannel()).checkQueue("q")).messageCount).toBe(5);
    await conn.close();
    await root.close();
  });
});

describe("user limits", () => {
  test("max-connections and max-channels refuse past the limit with RabbitMQ's 530 texts", async () => {
    const { broker } = await start();
    broker.addUser("lim", "pw", []);
    broker.setPermissions("lim", "/", { configure: ".*", write: ".*", read: ".*" });
    broker.setUserLimits("lim", { "max-connections": 1, "max-channels": 2 });
    const first = await connected(url(broker, "lim", "pw"));
    expect(await connect(url(broker, "lim", "pw"))).toContain("Expected ConnectionOpenOk");
    await first.createChannel();
    await first.createChannel();
    const closed = closedWith(first);
    await first.createChannel().catch(() => {});
    expect(await closed).toContain(
      "NOT_ALLOWED - number of channels opened for user 'lim' has reached the maximum allowed user limit of (2)",
    );
    await (await connected(url(broker, "lim", "pw"))).close(); // the closed one no longer counts
    broker.setUserLimits("lim", {});
    const a = await connected(url(broker, "lim", "pw"));
    const b = await connected(url(broker, "lim", "pw"));
    await a.close();
    await b.close();
  });
});

describe("loopback users", () => {
  const external = Object.values(networkInterfaces()).flat().find((i) => i && i.family === "IPv4" && !i.internal)?.address;
  test.skipIf(!external)("guest may connect only over loopback unless loopback_users is cleared", async () => {
    const { broker } = await start(undefined, { bind: "0.0.0.0" });
    expect(await connect(url(broker, "guest", "guest", "/", external))).toContain("ACCESS_REFUSED - Login was refused");
    await (await connected(url(broker, "guest", "guest"))).close();
    await stop(broker);
    const { broker: open } = await start(undefined, { bind: "0.0.0.0", loopbackUsers: [] });
    await (await connected(url(open, "guest", "guest", "/", external))).close();
  });
});

describe("restart", () => {
  test("users, hashes, tags, limits, permissions, topic permissions and vhosts with limits survive a restart, and so do deletions", async () => {
    const { broker, dataDir } = await start();
    broker.addUserWithHash("imported", RABBIT_HASH, "rabbit_password_hashing_sha256", ["monitoring", "impersonator"]);
    broker.setUserLimits("imported", { "max-channels": 7 });
    broker.addVhost("v1", { description: "first", tags: ["a", "b"], limits: { "max-queues": 3 } });
    broker.setVhostLimits("v1", { "max-connections": 4, "max-queues": 5 });
    broker.setPermissions("imported", "v1", { configure: "^c", write: "^w", read: "" });
    broker.setPermissions("imported", "/", { configure: ".*", write: ".*", read: ".*" });
    broker.setTopicPermissions("imported", "v1", "amq.topic", "^{username}\\.", "^r");
    broker.setTopicPermissions("imported", "v1", "other", "w", "r");
    broker.clearTopicPermissions("imported", "v1", "other");
    broker.addUser("gone", "pw", ["administrator"]);
    broker.setPermissions("gone", "v1", { configure: ".*", write: ".*", read: ".*" });
    broker.deleteUser("gone");
    broker.clearPermissions("imported", "/");
    broker.setUserTags("guest", ["administrator", "policymaker"]);
    await stop(broker);

    const { broker: again } = await start(dataDir);
    const user = again.users.get("imported")!;
    expect([user.passwordHash, user.hashingAlgorithm, user.tags, user.limits]).toEqual([
      RABBIT_HASH,
      "rabbit_password_hashing_sha256",
      ["monitoring", "impersonator"],
      { "max-channels": 7 },
    ]);
    expect(again.users.get("gone")).toBeUndefined();
    expect(again.users.get("guest")?.tags).toEqual(["administrator", "policymaker"]);
    const v1 = again.vhosts.get("v1")!;
    expect([v1.description, v1.tags, v1.limits]).toEqual(["first", ["a", "b"], { "max-connections": 4, "max-queues": 5 }]);
    expect(again.listPermissions({ user: "imported" })).toEqual([{
      user: "imported",
      vhost: "v1",
      configure: "^c",
      write: "^w",
      read: "",
    }]);
    expect(again.listPermissions({ vhost: "v1" }).map((p) => p.user)).toEqual(["imported"]);
    expect(again.listTopicPermissions()).toEqual([{
      user: "imported",
      vhost: "v1",
      exchange: "amq.topic",
      write: "^{username}\\.",
      read: "^r",
    }]);
    // The recovered password hash still logs in.
    again.setPermissions("imported", "/", { configure: ".*", write: ".*", read: ".*" });
    await (await connected(url(again, "imported", "s3cret"))).close();
  });

  test("a store whose users and vhosts were all deleted does not get guest and '/' back at the next boot", async () => {
    const { broker, dataDir } = await start();
    broker.addUser("admin", "pw", ["administrator"]);
    broker.deleteUser("guest");
    broker.deleteVhost("/");
    await stop(broker);
    const { broker: again } = await start(dataDir);
    expect(again.users.list().map((u) => u.name)).toEqual(["admin"]);
    expect([...again.vhosts.keys()]).toEqual([]);
    expect(await connect(url(again, "guest", "guest"))).toContain("ACCESS_REFUSED");
  });
});
