// The pure parts of `warren ctl`: command-line splitting, API paths, and how values print.
import { expect, test } from "bun:test";
import { findCommand, GLOBAL_OPTIONS, parseLine } from "../../../src/cli/ctl/args.ts";
import { apiPath } from "../../../src/cli/ctl/client.ts";
import { CtlError, CtlUsageError } from "../../../src/cli/ctl/errors.ts";
import { jsonCell, tableCell } from "../../../src/cli/ctl/render.ts";

const OPTIONS = { ...GLOBAL_OPTIONS, priority: { type: "string" as const }, "if-empty": { type: "boolean" as const, short: "e" } };

test("the command is the first positional once options have taken their values", () => {
  expect(findCommand(["-p", "/", "list_queues", "name"], OPTIONS)).toEqual({ name: "list_queues", rest: ["-p", "/", "name"] });
  expect(findCommand(["--port", "15672", "-q", "set_policy", "--priority", "1", "p", "^a", "{}"], OPTIONS))
    .toEqual({ name: "set_policy", rest: ["--port", "15672", "-q", "--priority", "1", "p", "^a", "{}"] });
  expect(findCommand(["--vhost=v", "status"], OPTIONS).name).toBe("status");
  expect(findCommand(["-q"], OPTIONS).name).toBeUndefined();
});

test("global options have defaults and environment fallbacks; flags win", () => {
  const line = parseLine("list_queues", ["-q", "name"], {}, { WARREN_CTL_HOST: "broker.local", WARREN_CTL_PORT: "25672" });
  expect(line.global).toMatchObject({
    connection: { host: "broker.local", port: 25672, username: "guest", password: "guest", timeoutMs: 60_000 },
    vhost: "/",
    vhostGiven: false,
    formatter: "table",
    quiet: true,
    silent: false,
    noHeaders: false,
  });
  expect(line.args).toEqual(["name"]);
  const flags = parseLine("x", ["--host", "h", "--port", "1", "-p", "v", "-s", "-t", "0", "--formatter", "json"], {}, {
    WARREN_CTL_HOST: "e",
  });
  expect(flags.global).toMatchObject({
    connection: { host: "h", port: 1, timeoutMs: 0 },
    vhost: "v",
    vhostGiven: true,
    formatter: "json",
    quiet: true,
    noHeaders: true,
  });
});

test("command options parse beside the global ones; unknown options and bad values are usage errors", () => {
  expect(parseLine("delete_queue", ["q", "-e"], { "if-empty": OPTIONS["if-empty"] }, {}).options).toEqual({ "if-empty": true });
  expect(() => parseLine("delete_queue", ["q", "--if-unused"], {}, {})).toThrow(CtlUsageError);
  expect(() => parseLine("x", ["--port", "99999"], {}, {})).toThrow(/--port "99999"/);
  expect(() => parseLine("x", ["--timeout", "soon"], {}, {})).toThrow(/--timeout "soon"/);
  expect(() => parseLine("x", ["--formatter", "csv"], {}, {})).toThrow(/--formatter "csv"/);
  expect(() => parseLine("x", ["--node", "rabbit@h"], {}, {})).toThrow(/--host and --port/);
});

test("every path segment is percent-encoded; dot segments are refused", () => {
  expect(apiPath("queues", "/", "my queue")).toBe("/api/queues/%2F/my%20queue");
  expect(apiPath("permissions", "a/b", "u?#%")).toBe("/api/permissions/a%2Fb/u%3F%23%25");
  expect(apiPath("queues", "/", "...")).toBe("/api/queues/%2F/...");
  expect(() => apiPath("queues", "/", "..")).toThrow(CtlError);
  expect(() => apiPath("queues", ".", "q")).toThrow(/"\." cannot be named/);
});

test("the table formatter prints AMQP tables and lists as rabbitmqctl does", () => {
  expect(tableCell({ "x-max-priority": 5, "x-queue-mode": "lazy", flag: true }, "table")).toBe(
    `[{"x-max-priority",5},{"x-queue-mode","lazy"},{"flag",true}]`,
  );
  expect(tableCell({ nested: { a: 1 }, list: [1, "b"] }, "table")).toBe(`[{"nested",[{"a",1}]},{"list",[1,"b"]}]`);
  expect(tableCell({}, "table")).toBe("[]");
  expect(tableCell(["administrator", "monitoring"], "list")).toBe("[administrator, monitoring]");
  expect(tableCell({ "max-length": 10 }, "json")).toBe(`{"max-length":10}`);
  expect(tableCell(null, "plain")).toBe("");
  expect(tableCell(false, "plain")).toBe("false");
  expect(tableCell("tab\there\nnewline", "plain")).toBe("tab\\there\\nnewline");
});

test("the JSON formatter types AMQP table entries and prints a missing value as an empty string", () => {
  expect(jsonCell({ i: 5, s: "x", b: false, d: 1.5, t: { k: "v" }, a: [1, "y"] }, "table")).toEqual([
    ["i", "long", 5],
    ["s", "longstr", "x"],
    ["b", "bool", false],
    ["d", "double", 1.5],
    ["t", "table", [["k", "longstr", "v"]]],
    ["a", "array", [["long", 1], ["longstr", "y"]]],
  ]);
  expect(jsonCell(null, "plain")).toBe("");
  expect(jsonCell({ "max-length": 10 }, "json")).toBe(`{"max-length":10}`);
  expect(jsonCell(["a"], "list")).toEqual(["a"]);
});
