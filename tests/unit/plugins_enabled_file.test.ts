// RabbitMQ's enabled_plugins file format: parsed as RabbitMQ reads it, written as rabbitmq-plugins writes it.
import { expect, test } from "bun:test";
import { EnabledPluginsError, formatEnabledPlugins, parseEnabledPlugins } from "../../src/plugins/enabled_file.ts";

test("enabled_plugins: lists of atoms with whitespace, newlines, comments and quoted atoms", () => {
  expect(parseEnabledPlugins("[rabbitmq_management,rabbitmq_shovel].", "f")).toEqual(["rabbitmq_management", "rabbitmq_shovel"]);
  expect(parseEnabledPlugins("  [ rabbitmq_federation ,\n   rabbitmq_mqtt ] .\n", "f")).toEqual(["rabbitmq_federation", "rabbitmq_mqtt"]);
  expect(parseEnabledPlugins("% the image's default\n[].\n", "f")).toEqual([]);
  expect(parseEnabledPlugins("['my-plugin',a@b].", "f")).toEqual(["my-plugin", "a@b"]);
  expect(parseEnabledPlugins("[a,a,b].", "f")).toEqual(["a", "b"]);
});

test("enabled_plugins: anything else is refused naming the file and the problem", () => {
  expect(() => parseEnabledPlugins("", "/etc/x")).toThrow("/etc/x: the file is empty");
  expect(() => parseEnabledPlugins("[a,b]", "/etc/x")).toThrow("/etc/x: not an Erlang list ending with '.'");
  expect(() => parseEnabledPlugins('[a,"b"].', "/etc/x")).toThrow(EnabledPluginsError);
  expect(() => parseEnabledPlugins("[A].", "/etc/x")).toThrow("'A' is not a plugin name");
});

test("enabled_plugins: written as one term, quoting what is not a plain atom; round trip", () => {
  expect(formatEnabledPlugins([])).toBe("[].\n");
  expect(formatEnabledPlugins(["rabbitmq_shovel", "my-plugin"])).toBe("[rabbitmq_shovel,'my-plugin'].\n");
  expect(parseEnabledPlugins(formatEnabledPlugins(["x_y", "it's"]), "f")).toEqual(["x_y", "it's"]);
});
