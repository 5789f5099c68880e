// Shovels and the rest of the broker's life: a vhost deleted under a shovel, the plugin disabled
// and enabled at run time, a destination that refuses the declare, a source queue deleted while
// the link runs, and a changed definition replacing the running link.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api } from "../helpers/http.ts";
import {
  deleteShovel,
  drain,
  messageCount,
  open,
  publishConfirmed,
  putShovel,
  range,
  shovelStatus,
  until,
  untilState,
} from "./shovel_helpers.ts";

setDefaultTimeout(60_000);

let tb: TestBroker;
beforeAll(async () => {
  tb = await startTestBroker();
});
afterAll(async () => {
  await tb?.stop();
});

const linkConnections = (name: string) =>
  [...tb.broker.connections].filter((c) => c.clientProperties["connection_name"] === `Shovel ${name}`);

describe("shovels and the broker around them", () => {
  test("deleting a vhost stops its shovels and removes them", async () => {
    expect((await api(tb.httpUrl, "PUT", "/api/vhosts/shovel-vh")).status).toBeLessThan(300);
    await putShovel(tb.httpUrl, "in-vh", {
      "src-uri": "amqp:///shovel-vh",
      "src-queue": "q1",
      "dest-uri": "amqp:///shovel-vh",
      "dest-queue": "q2",
    }, "shovel-vh");
    await untilState(tb.httpUrl, "in-vh", "running", "shovel-vh");
    expect((await api(tb.httpUrl, "DELETE", "/api/vhosts/shovel-vh")).status).toBe(204);
    await until("the link closed", () => linkConnections("in-vh").length === 0);
    expect(((await api(tb.httpUrl, "GET", "/api/shovels")).body as { name: string }[]).map((s) => s.name)).not.toContain("in-vh");
  });

  test("disabling the plugin stops every link; enabling it starts them again from the stored definitions", async () => {
    await putShovel(tb.httpUrl, "toggle", {
      "src-uri": "amqp://",
      "src-queue": "toggle-src",
      "dest-uri": "amqp://",
      "dest-queue": "toggle-dst",
    });
    await untilState(tb.httpUrl, "toggle", "running");
    expect((await api(tb.httpUrl, "PUT", "/api/plugins/rabbitmq_shovel", { enabled: false })).status).toBeLessThan(300);
    await until("the link closed", () => linkConnections("toggle").length === 0);
    expect((await api(tb.httpUrl, "GET", "/api/shovels")).status).toBe(404);
    expect((await api(tb.httpUrl, "PUT", "/api/plugins/rabbitmq_shovel", { enabled: true })).status).toBeLessThan(300);
    await untilState(tb.httpUrl, "toggle", "running");
    const local = await open(tb.url);
    await publishConfirmed(local.ch, "", "toggle-src", range(10));
    expect(await drain(local.ch, "toggle-dst", 10)).toEqual(range(10));
    await deleteShovel(tb.httpUrl, "toggle");
    await local.conn.close();
  });

  test("a destination queue declared with other arguments: terminated with RabbitMQ's reason, retried", async () => {
    const local = await open(tb.url);
    await local.ch.declareQueue("clash-dst", { durable: true, arguments: { "x-max-length": 5 } });
    await putShovel(tb.httpUrl, "clash", {
      "src-uri": "amqp://",
      "src-queue": "clash-src",
      "dest-uri": "amqp://",
      "dest-queue": "clash-dst",
      "reconnect-delay": 0.1,
    });
    const status = await untilState(tb.httpUrl, "clash", "terminated");
    expect(status.reason).toContain("406 PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue 'clash-dst'");
    await local.ch.deleteQueue("clash-dst");
    await untilState(tb.httpUrl, "clash", "running", "/", 30_000);
    await deleteShovel(tb.httpUrl, "clash");
    await local.conn.close();
  });

  test("a source queue deleted under the link: the link reconnects and declares it again", async () => {
    await putShovel(tb.httpUrl, "lost-src", {
      "src-uri": "amqp://",
      "src-queue": "lost-src-q",
      "dest-uri": "amqp://",
      "dest-queue": "lost-dst-q",
      "reconnect-delay": 0.1,
    });
    await untilState(tb.httpUrl, "lost-src", "running");
    const local = await open(tb.url);
    await local.ch.deleteQueue("lost-src-q");
    await until("the queue is back", async () => tb.broker.vhosts.get("/")!.queues.has("lost-src-q"));
    await untilState(tb.httpUrl, "lost-src", "running");
    await publishConfirmed(local.ch, "", "lost-src-q", range(5));
    expect(await drain(local.ch, "lost-dst-q", 5)).toEqual(range(5));
    await deleteShovel(tb.httpUrl, "lost-src");
    await local.conn.close();
  });

  test("a new definition under the same name replaces the running link", async () => {
    await putShovel(tb.httpUrl, "swap", { "src-uri": "amqp://", "src-queue": "swap-src", "dest-uri": "amqp://", "dest-queue": "swap-a" });
    await untilState(tb.httpUrl, "swap", "running");
    await putShovel(tb.httpUrl, "swap", { "src-uri": "amqp://", "src-queue": "swap-src", "dest-uri": "amqp://", "dest-queue": "swap-b" });
    await until("the new link runs", async () => (await shovelStatus(tb.httpUrl, "swap"))?.dest_queue === "swap-b");
    await until("one link's connections", () => linkConnections("swap").length === 2);
    const local = await open(tb.url);
    await publishConfirmed(local.ch, "", "swap-src", range(5));
    expect(await drain(local.ch, "swap-b", 5)).toEqual(range(5));
    expect(await messageCount(local.ch, "swap-a")).toBe(0);
    await deleteShovel(tb.httpUrl, "swap");
    await local.conn.close();
  });
});
