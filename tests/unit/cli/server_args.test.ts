import { expect, test } from "bun:test";
import { parseServerArgs, UsageError } from "../../../src/cli/server_args.ts";

test("flags map to broker options", () => {
  const options = parseServerArgs(
    [
      "--port",
      "0",
      "--bind",
      "127.0.0.1",
      "--data-dir",
      "/tmp/x",
      "--log-level",
      "warning",
      "--no-fsync",
      "--memory-high-watermark",
      "0.6",
      "--disk-free-limit",
      "1000000",
      "--max-message-size",
      "1024",
    ],
    {},
  );
  expect(options).toEqual({
    port: 0,
    bind: "127.0.0.1",
    dataDir: "/tmp/x",
    logLevel: "warning",
    fsync: false,
    memoryHighWatermark: 0.6,
    diskFreeLimit: 1_000_000,
    maxMessageSize: 1024,
  });
});

test("--writer-thread turns the store's writer thread on", () => {
  expect(parseServerArgs(["--writer-thread"], {})).toEqual({ writerThread: true });
  expect(parseServerArgs([], {})).toEqual({});
});

test("--busy-wait-us takes microseconds from 0 (off) to 10 ms", () => {
  expect(parseServerArgs(["--busy-wait-us", "100"], {})).toEqual({ busyWaitUs: 100 });
  expect(parseServerArgs(["--busy-wait-us", "0"], {})).toEqual({ busyWaitUs: 0 });
  expect(parseServerArgs(["--busy-wait-us", "10000"], {})).toEqual({ busyWaitUs: 10_000 });
  for (const bad of ["10001", "-5", "1.5", "fast", ""]) {
    expect(() => parseServerArgs([`--busy-wait-us=${bad}`], {})).toThrow(`Invalid --busy-wait-us "${bad}"`);
  }
});

test("RABBITMQ_DEFAULT_* variables set the default user, password and vhost", () => {
  expect(parseServerArgs([], { RABBITMQ_DEFAULT_USER: "admin", RABBITMQ_DEFAULT_PASS: "pw", RABBITMQ_DEFAULT_VHOST: "v" }))
    .toEqual({ defaultUser: "admin", defaultPass: "pw", defaultVhost: "v" });
});

test("bad values are usage errors that name the flag", () => {
  expect(() => parseServerArgs(["--port", "70000"], {})).toThrow(UsageError);
  expect(() => parseServerArgs(["--port", "abc"], {})).toThrow(/--port "abc"/);
  expect(() => parseServerArgs(["--log-level", "loud"], {})).toThrow(/--log-level "loud"/);
  expect(() => parseServerArgs(["--disk-free-limit", "-1"], {})).toThrow(/--disk-free-limit/);
  expect(() => parseServerArgs(["extra"], {})).toThrow(/Unexpected argument "extra"/);
  expect(() => parseServerArgs(["--nope"], {})).toThrow();
});

test("TLS flags map to the amqps listener options", () => {
  expect(parseServerArgs(
    [
      "--tls-port",
      "5671",
      "--tls-cert",
      "c.pem",
      "--tls-key",
      "k.pem",
      "--tls-ca",
      "ca.pem",
      "--tls-verify-peer",
      "--tls-fail-if-no-peer-cert",
    ],
    {},
  )).toEqual({ tlsPort: 5671, tlsCert: "c.pem", tlsKey: "k.pem", tlsCa: "ca.pem", tlsVerifyPeer: true, tlsFailIfNoPeerCert: true });
  // The certificate and key may come from the config file: startBroker checks them (tests/unit/config_file.test.ts).
  expect(parseServerArgs(["--tls-port", "5671"], {})).toEqual({ tlsPort: 5671 });
  expect(() => parseServerArgs(["--tls-port", "x", "--tls-cert", "c", "--tls-key", "k"], {})).toThrow(/--tls-port "x"/);
});

test("--help is recognised", () => {
  expect(parseServerArgs(["--help"], {})).toBe("help");
});

test("--http-port, --metrics-port and --definitions; RABBITMQ_DEFINITIONS_FILE", () => {
  expect(parseServerArgs(["--http-port", "0", "--metrics-port", "15693", "--definitions", "/tmp/d.json"], {}))
    .toEqual({ httpPort: 0, metricsPort: 15693, definitionsFile: "/tmp/d.json" });
  expect(parseServerArgs([], { RABBITMQ_DEFINITIONS_FILE: "/etc/defs.json" })).toEqual({ definitionsFile: "/etc/defs.json" });
  expect(() => parseServerArgs(["--http-port", "x"], {})).toThrow(/--http-port "x"/);
  expect(() => parseServerArgs(["--metrics-port", "99999"], {})).toThrow(/--metrics-port "99999"/);
});

test("--config and RABBITMQ_CONFIG_FILE name the config file; the flag wins", () => {
  expect(parseServerArgs(["--config", "/etc/warren.conf"], {})).toEqual({ configFile: "/etc/warren.conf" });
  expect(parseServerArgs([], { RABBITMQ_CONFIG_FILE: "/etc/rabbitmq/rabbitmq" })).toEqual({ configFile: "/etc/rabbitmq/rabbitmq" });
  expect(parseServerArgs(["--config", "a.conf"], { RABBITMQ_CONFIG_FILE: "b.conf" })).toEqual({ configFile: "a.conf" });
});

test("--https-port; none turns a listener off", () => {
  expect(parseServerArgs(["--https-port", "15671", "--http-port", "none", "--port", "none", "--metrics-port", "none"], {}))
    .toEqual({ httpsPort: 15671, httpPort: null, port: null, metricsPort: null });
  expect(() => parseServerArgs(["--https-port", "x"], {})).toThrow(/--https-port "x": expected a port number 0-65535 or none/);
});
