// Password hashes move both ways between Warren and RabbitMQ: a hash Warren makes (with each of
// RabbitMQ's hashing algorithms) logs in on the reference RabbitMQ when imported there through
// its management API, and one RabbitMQ makes logs in on Warren through broker.addUserWithHash.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import amqp from "amqplib";
import { type HashingAlgorithm, hashPassword } from "../../src/auth/password.ts";
import { BROKER_IS_PROCESS, referenceBroker, startTestBroker, type TestBroker } from "../helpers/broker.ts";

const REF = referenceBroker();
const HTTP = process.env.RABBITMQ_REF_HTTP;
if (!REF || !HTTP) console.warn("RABBITMQ_REF_URL/RABBITMQ_REF_HTTP unset: skipping password hash exchange with RabbitMQ");

const ALGORITHMS: HashingAlgorithm[] = ["rabbit_password_hashing_sha256", "rabbit_password_hashing_sha512", "rabbit_password_hashing_md5"];
const PREFIX = `perm-hash-${process.pid}`;

async function api(method: string, path: string, body?: unknown): Promise<Response> {
  const u = new URL(HTTP!);
  const auth = Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString("base64");
  return fetch(`${u.protocol}//${u.host}${path}`, {
    method,
    headers: { authorization: `Basic ${auth}`, "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

async function canLogin(host: string, port: number, user: string, pass: string): Promise<boolean> {
  try {
    const conn = await amqp.connect({ hostname: host, port, username: user, password: pass, vhost: "/" });
    await conn.close();
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!REF || !HTTP)("password hashes between Warren and RabbitMQ", () => {
  let warren: TestBroker;
  const created: string[] = [];
  beforeAll(async () => {
    warren = await startTestBroker();
  });
  afterAll(async () => {
    for (const name of created) await api("DELETE", `/api/users/${encodeURIComponent(name)}`);
    await warren?.stop();
  });

  for (const algorithm of ALGORITHMS) {
    test(`a Warren ${algorithm} hash logs in on RabbitMQ`, async () => {
      const name = `${PREFIX}-${algorithm.slice("rabbit_password_hashing_".length)}`;
      created.push(name);
      const put = await api("PUT", `/api/users/${name}`, {
        password_hash: hashPassword("from warren", algorithm),
        hashing_algorithm: algorithm,
        tags: "",
      });
      expect(put.status).toBeLessThan(300);
      expect((await api("PUT", `/api/permissions/%2F/${name}`, { configure: "", write: "", read: "" })).status).toBeLessThan(300);
      expect(await canLogin(REF!.host, REF!.port, name, "from warren")).toBe(true);
      expect(await canLogin(REF!.host, REF!.port, name, "from rabbit")).toBe(false);
    });
  }

  test.skipIf(BROKER_IS_PROCESS)("a hash RabbitMQ made logs in on Warren", async () => {
    const name = `${PREFIX}-made-by-rabbit`;
    created.push(name);
    expect((await api("PUT", `/api/users/${name}`, { password: "from rabbit", tags: "monitoring" })).status).toBeLessThan(300);
    const exported = (await (await api("GET", `/api/users/${name}`)).json()) as {
      password_hash: string;
      hashing_algorithm: string;
      tags: string[];
    };
    warren.broker.addUserWithHash(name, exported.password_hash, exported.hashing_algorithm, exported.tags);
    warren.broker.setPermissions(name, "/", { configure: "", write: "", read: "" });
    expect(await canLogin("127.0.0.1", warren.port, name, "from rabbit")).toBe(true);
    expect(await canLogin("127.0.0.1", warren.port, name, "from warren")).toBe(false);
  });
});
