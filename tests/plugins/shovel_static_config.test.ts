// Static shovels from the plugin settings (warren.conf's shovel.<name>.<key> lines, as written).
import { expect, test } from "bun:test";
import { staticShovels } from "../../plugins/shovel/static_config.ts";

test("keys group by shovel; numbered list items keep the order of their numbers; other plugins' keys are ignored", () => {
  const [def, ...rest] = staticShovels({
    "mqtt.listeners.tcp.default": "none",
    "shovel.up.src-uri": "amqp://",
    "shovel.up.src-queue": "outbox",
    "shovel.up.dest-uri.10": "amqp://c3",
    "shovel.up.dest-uri.2": "amqp://c2",
    "shovel.up.dest-uri.1": "amqp://c1",
    "shovel.up.dest-queue": "inbox",
    "shovel.up.reconnect-delay": "2",
    "shovel.up.dest-queue-args": '{"x-queue-type": "quorum"}',
  });
  expect(rest).toEqual([]);
  expect(def).toMatchObject({ name: "up", vhost: "/", type: "static", srcQueue: "outbox", destQueue: "inbox", reconnectDelay: 2 });
  expect(def!.destUris).toEqual(["amqp://c1", "amqp://c2", "amqp://c3"]);
  expect(def!.destQueueArgs).toEqual({ "x-queue-type": "quorum" });
});

test("a key of another shape names itself and the shapes that work", () => {
  expect(() => staticShovels({ "shovel.up": "x" })).toThrow("shovel.up in the config file: a static shovel's key is shovel.<name>.<key>");
  expect(() => staticShovels({ "shovel.up.dest-uri.first": "amqp://" })).toThrow("shovel.up.dest-uri.first in the config file");
});

test("an invalid definition names the shovel and RabbitMQ's validation text", () => {
  expect(() => staticShovels({ "shovel.broken.src-uri": "amqp://", "shovel.broken.dest-uri": "amqp://" }))
    .toThrow("static shovel 'broken' in the config file is invalid: Must specify 'src-exchange' or 'src-queue'");
});
