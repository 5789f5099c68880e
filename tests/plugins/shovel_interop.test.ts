// Shovels between Warren and the reference RabbitMQ, both ways: Warren's shovel pushing to and
// pulling from RabbitMQ, and RabbitMQ's own shovel plugin (configured over its HTTP API) pulling
// from and pushing to Warren on 127.0.0.1. Needs RABBITMQ_REF_URL and RABBITMQ_REF_HTTP; object
// names on the shared reference broker start with "shovel-" and are removed afterwards.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { referenceBroker, startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api, basic } from "../helpers/http.ts";
import {
  deleteShovel,
  drain,
  messageCount,
  open,
  publishConfirmed,
  putShovel,
  range,
  type ShovelEntry,
  until,
  untilState,
} from "./shovel_helpers.ts";

setDefaultTimeout(60_000);

const ref = referenceBroker();
const refHttp = process.env.RABBITMQ_REF_HTTP;
const skip = !ref || !refHttp;
if (skip) console.log("skipping the shovel interop tests: RABBITMQ_REF_URL and RABBITMQ_REF_HTTP must both be set");

const refTarget = refHttp ? `${new URL(refHttp).protocol}//${new URL(refHttp).host}` : "";
const refAuth = ref ? basic(ref.user, ref.pass) : "";
const refApi = (method: string, path: string, body?: unknown) => api(refTarget, method, path, body, refAuth);

/**
 * Whether the reference's own shovel plugin takes a valid definition (a reference broker that
 * crashed part-way answers 500: then RabbitMQ's-shovel tests skip, naming why).
 */
async function referenceShovelWorks(): Promise<boolean> {
  if (skip) return false;
  const name = "shovel-interop-probe";
  const r = await refApi("PUT", `/api/parameters/shovel/%2f/${name}`, {
    value: { "src-uri": "amqp://", "src-queue": `${name}-q`, "dest-uri": "amqp://", "dest-queue": `${name}-q2` },
  }).catch(() => ({ status: 599 }));
  await refApi("DELETE", `/api/parameters/shovel/%2f/${name}`).catch(() => undefined);
  for (const q of [`${name}-q`, `${name}-q2`]) await refApi("DELETE", `/api/queues/%2f/${q}`).catch(() => undefined);
  if (r.status >= 300) {
    console.log(`skipping the tests of RabbitMQ's own shovel: the reference answered ${r.status} to a valid shovel definition`);
  }
  return r.status < 300;
}
const refShovelWorks = await referenceShovelWorks();

let w: TestBroker;
const refQueues = new Set<string>();
const refShovels = new Set<string>();

beforeAll(async () => {
  if (skip) return;
  w = await startTestBroker();
});
afterAll(async () => {
  if (skip) return;
  for (const name of refShovels) await refApi("DELETE", `/api/parameters/shovel/%2f/${name}`);
  for (const q of refQueues) await refApi("DELETE", `/api/queues/%2f/${q}`);
  await w?.stop();
});

/** A queue on the reference broker, empty, removed after the tests. */
async function refQueue(name: string): Promise<void> {
  refQueues.add(name);
  const { conn, ch } = await open(ref!.url);
  await ch.declareQueue(name, { durable: true });
  await ch.purgeQueue(name);
  await conn.close();
}

async function refShovel(name: string, value: Record<string, unknown>): Promise<void> {
  refShovels.add(name);
  const r = await refApi("PUT", `/api/parameters/shovel/%2f/${name}`, { value });
  if (r.status >= 300) throw new Error(`reference shovel ${name}: ${r.status} ${JSON.stringify(r.body)}`);
}

async function refShovelGone(name: string): Promise<void> {
  await refApi("DELETE", `/api/parameters/shovel/%2f/${name}`);
  refShovels.delete(name);
  await until(
    `reference shovel ${name} gone`,
    async () => !((await refApi("GET", "/api/shovels/%2f")).body as ShovelEntry[]).some((s) => s.name === name),
  );
}

describe.skipIf(skip)("Warren's shovel and the reference RabbitMQ", () => {
  for (const ackMode of ["on-confirm", "on-publish", "no-ack"]) {
    test(`Warren → RabbitMQ, queue source, ${ackMode}`, async () => {
      const dst = `shovel-w2r-${ackMode}`;
      await refQueue(dst);
      const local = await open(w.url);
      await local.ch.declareQueue(`w2r-${ackMode}`, { durable: true });
      await publishConfirmed(local.ch, "", `w2r-${ackMode}`, range(1000));
      await putShovel(w.httpUrl, `w2r-${ackMode}`, {
        "src-uri": "amqp://",
        "src-queue": `w2r-${ackMode}`,
        "dest-uri": ref!.url,
        "dest-queue": dst,
        "ack-mode": ackMode,
      });
      const remote = await open(ref!.url);
      expect(await drain(remote.ch, dst, 1000)).toEqual(range(1000));
      const status = await untilState(w.httpUrl, `w2r-${ackMode}`, "running");
      expect(status.dest_uri).toBe(ref!.url.replace(/\/\/[^@]*@/, "//"));
      await deleteShovel(w.httpUrl, `w2r-${ackMode}`);
      await Promise.all([local.conn.close(), remote.conn.close()]);
    });
  }

  test("Warren → RabbitMQ, exchange source to a RabbitMQ exchange", async () => {
    await refQueue("shovel-w2r-x");
    const remote = await open(ref!.url);
    await remote.ch.bindQueue("shovel-w2r-x", "amq.direct", "shovel-w2r-x-key");
    await putShovel(w.httpUrl, "w2r-x", {
      "src-uri": "amqp://",
      "src-exchange": "amq.fanout",
      "dest-uri": ref!.url,
      "dest-exchange": "amq.direct",
      "dest-exchange-key": "shovel-w2r-x-key",
    });
    await untilState(w.httpUrl, "w2r-x", "running");
    const local = await open(w.url);
    await publishConfirmed(local.ch, "amq.fanout", "", range(100));
    expect(await drain(remote.ch, "shovel-w2r-x", 100)).toEqual(range(100));
    await remote.ch.unbindQueue("shovel-w2r-x", "amq.direct", "shovel-w2r-x-key");
    await deleteShovel(w.httpUrl, "w2r-x");
    await Promise.all([local.conn.close(), remote.conn.close()]);
  });

  test("Warren pulls from RabbitMQ (source on the reference, destination local)", async () => {
    await refQueue("shovel-r-src");
    const remote = await open(ref!.url);
    await publishConfirmed(remote.ch, "", "shovel-r-src", range(500));
    await putShovel(w.httpUrl, "pull-from-ref", {
      "src-uri": ref!.url,
      "src-queue": "shovel-r-src",
      "dest-uri": "amqp://",
      "dest-queue": "pulled",
    });
    const local = await open(w.url);
    expect(await drain(local.ch, "pulled", 500)).toEqual(range(500));
    await until("the reference queue is empty", async () => (await messageCount(remote.ch, "shovel-r-src")) === 0);
    await deleteShovel(w.httpUrl, "pull-from-ref");
    await Promise.all([local.conn.close(), remote.conn.close()]);
  });
});

describe.skipIf(skip || !refShovelWorks)("RabbitMQ's own shovel and Warren", () => {
  for (const ackMode of ["on-confirm", "on-publish", "no-ack"]) {
    test(`RabbitMQ → Warren: the reference's shovel pushes to Warren, ${ackMode}`, async () => {
      const src = `shovel-r2w-${ackMode}`;
      await refQueue(src);
      const remote = await open(ref!.url);
      await publishConfirmed(remote.ch, "", src, range(1000));
      await refShovel(`shovel-r2w-${ackMode}`, {
        "src-uri": "amqp://",
        "src-queue": src,
        "dest-uri": `amqp://guest:guest@127.0.0.1:${w.port}`,
        "dest-queue": `r2w-${ackMode}`,
        "ack-mode": ackMode,
      });
      const local = await open(w.url);
      expect(await drain(local.ch, `r2w-${ackMode}`, 1000)).toEqual(range(1000));
      // RabbitMQ's link is a client of Warren's, named as its shovels name their connections.
      expect([...w.broker.connections].some((c) => String(c.clientProperties["connection_name"]).includes(`shovel-r2w-${ackMode}`))).toBe(
        true,
      );
      await refShovelGone(`shovel-r2w-${ackMode}`);
      await Promise.all([local.conn.close(), remote.conn.close()]);
    });
  }

  test("RabbitMQ ← Warren: the reference's shovel pulls from a Warren queue and from a Warren exchange", async () => {
    const local = await open(w.url);
    await local.ch.declareQueue("r-pulls", { durable: true });
    await publishConfirmed(local.ch, "", "r-pulls", range(500));
    await refQueue("shovel-r-pulled");
    await refShovel("shovel-r-pulls", {
      "src-uri": `amqp://guest:guest@127.0.0.1:${w.port}`,
      "src-queue": "r-pulls",
      "dest-uri": "amqp://",
      "dest-queue": "shovel-r-pulled",
    });
    const remote = await open(ref!.url);
    expect(await drain(remote.ch, "shovel-r-pulled", 500)).toEqual(range(500));
    await until("the Warren queue is empty", async () => (await messageCount(local.ch, "r-pulls")) === 0);
    await refShovelGone("shovel-r-pulls");

    await refQueue("shovel-r-pulled-x");
    await refShovel("shovel-r-pulls-x", {
      "src-uri": `amqp://guest:guest@127.0.0.1:${w.port}`,
      "src-exchange": "amq.topic",
      "src-exchange-key": "a.*",
      "dest-uri": "amqp://",
      "dest-queue": "shovel-r-pulled-x",
    });
    await until(
      "the reference shovel bound its queue on Warren",
      () => [...w.broker.vhosts.get("/")!.queues.keys()].some((q) => q.startsWith("amq.gen-")),
    );
    await publishConfirmed(local.ch, "amq.topic", "a.b", range(50));
    expect(await drain(remote.ch, "shovel-r-pulled-x", 50)).toEqual(range(50));
    await refShovelGone("shovel-r-pulls-x");
    await Promise.all([local.conn.close(), remote.conn.close()]);
  });
});
