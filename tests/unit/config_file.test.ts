import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkOptions, resolveOptions } from "../../src/config.ts";
import { ConfigFileError, loadConfigFile, locateConfigFile, parseConfig } from "../../src/config_file.ts";
import { applySettings, parseBytes } from "../../src/config_keys.ts";

const dir = mkdtempSync(join(tmpdir(), "warren-conf-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The options and warnings of a config file's text. */
function apply(text: string) {
  return applySettings(parseConfig(text, "warren.conf"), "warren.conf");
}

test("comments, blank lines, trimmed key = value, trailing comments and quoted values", () => {
  const entries = parseConfig(
    "# a comment\n\n   # indented comment\n  heartbeat   =   30  \r\ndefault_pass = secret # trailing\n" +
      "default_user = 'a#b c'  # quoted keeps '#'\nloopback_users.user\\.name = true\n",
    "f.conf",
  );
  expect(entries.map(({ key, value, line }) => [key, value, line])).toEqual([
    ["heartbeat", "30", 4],
    ["default_pass", "secret", 5],
    ["default_user", "a#b c", 6],
    ["loopback_users.user\\.name", "true", 7],
  ]);
  expect(entries[3]!.path).toEqual(["loopback_users", "user.name"]);
});

test("syntax errors name the file and the line", () => {
  expect(() => parseConfig("heartbeat = 1\nnot a setting\n", "/etc/w.conf"))
    .toThrow('Error in config file /etc/w.conf line 2: expected "key = value", got "not a setting"');
  expect(() => parseConfig("\n\nheart beat = 1", "w.conf")).toThrow(/w\.conf line 3: invalid key "heart beat"/);
  expect(() => parseConfig("heartbeat =   # nothing", "w.conf")).toThrow(/line 1: no value for "heartbeat"/);
  expect(() => parseConfig("default_pass = 'open", "w.conf")).toThrow(/line 1: unterminated quoted value/);
  expect(() => parseConfig("include conf.d/*.conf", "w.conf")).toThrow(/line 1: "include" is not supported/);
  expect(() => parseConfig("x", "w.conf")).toThrow(ConfigFileError);
});

test("every supported key maps onto broker options", () => {
  const { options, warnings } = apply(`
listeners.tcp.default = 5673
listeners.ssl.default = 5674
ssl_options.cacertfile = /certs/ca.pem
ssl_options.certfile = /certs/server.pem
ssl_options.keyfile = /certs/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = true
default_user = admin
default_pass = s3cret
default_vhost = main
loopback_users = none
load_definitions = /defs.json
plugins_dir = /opt/warren/plugins
enabled_plugins_file = /etc/warren/enabled_plugins
vm_memory_high_watermark.absolute = 2GB
disk_free_limit.absolute = 1GiB
heartbeat = 30
frame_max = 65536
channel_max = 100
handshake_timeout = 5000
management.tcp.port = 15680
management.tcp.ip = 127.0.0.1
management.ssl.port = 15681
management.ssl.ip = ::1
management.ssl.cacertfile = /certs/http-ca.pem
management.ssl.certfile = /certs/http.pem
management.ssl.keyfile = /certs/http.key
prometheus.tcp.port = 15699
prometheus.tcp.ip = 10.0.0.1
log.console.level = warning
max_message_size = 1048576
`);
  expect(warnings).toEqual([]);
  expect(options).toEqual({
    port: 5673,
    tlsPort: 5674,
    tlsCa: "/certs/ca.pem",
    tlsCert: "/certs/server.pem",
    tlsKey: "/certs/server.key",
    tlsVerifyPeer: true,
    tlsFailIfNoPeerCert: true,
    defaultUser: "admin",
    defaultPass: "s3cret",
    defaultVhost: "main",
    loopbackUsers: [],
    definitionsFile: "/defs.json",
    pluginsDir: "/opt/warren/plugins",
    enabledPluginsFile: "/etc/warren/enabled_plugins",
    memoryHighWatermark: 2_000_000_000,
    diskFreeLimit: 1024 ** 3,
    heartbeat: 30,
    frameMax: 65536,
    channelMax: 100,
    handshakeTimeoutMs: 5000,
    httpPort: 15680,
    httpsPort: 15681,
    httpsCa: "/certs/http-ca.pem",
    httpsCert: "/certs/http.pem",
    httpsKey: "/certs/http.key",
    metricsPort: 15699,
    logLevel: "warning",
    maxMessageSize: 1_048_576,
    listenAddresses: { http: "127.0.0.1", https: "::1", metrics: "10.0.0.1" },
  });
});

test("the RabbitMQ image's default config loads: loopback_users.guest = false, log.console = true", () => {
  expect(apply("loopback_users.guest = false\nlog.console = true\n").options).toEqual({ loopbackUsers: [] });
});

test("listeners: ip:port, none, any listener name, only one of each kind", () => {
  expect(apply("listeners.tcp.default = 127.0.0.1:5672").options).toEqual({ port: 5672, listenAddresses: { amqp: "127.0.0.1" } });
  expect(apply("listeners.tcp.local = ::1:5672").options).toEqual({ port: 5672, listenAddresses: { amqp: "::1" } });
  expect(apply("listeners.ssl.1 = [::]:5671").options).toEqual({ tlsPort: 5671, listenAddresses: { amqps: "::" } });
  expect(apply("listeners.tcp.default = 0").options).toEqual({ port: 0 }); // a free port, as --port 0
  expect(apply("listeners.tcp = none\nlisteners.tcp.default = 5672").options).toEqual({ port: null });
  expect(apply("listeners.ssl = none").options).toEqual({ tlsPort: undefined });
  expect(() => apply("listeners.tcp.a = 5672\nlisteners.tcp.b = 5673"))
    .toThrow(
      "Error in config file warren.conf line 2: Warren has one AMQP listener, but listeners.tcp.a (line 1) and listeners.tcp.b both set one",
    );
  expect(() => apply("\nlisteners.tcp.default = 70000")).toThrow(
    /line 2: invalid value "70000" for listeners.tcp.default: expected a port number 0-65535/,
  );
  expect(() => apply("listeners.tcp = off")).toThrow(/line 1: invalid value "off" for listeners.tcp: expected none/);
});

test("loopback_users as RabbitMQ translates it: none wins, else only the users set to true", () => {
  expect(apply("loopback_users.guest = true\nloopback_users.ops = true\nloopback_users.dev = false").options.loopbackUsers)
    .toEqual(["guest", "ops"]);
  expect(apply("loopback_users.ops = true").options.loopbackUsers).toEqual(["ops"]);
  expect(apply("loopback_users = none\nloopback_users.ops = true").options.loopbackUsers).toEqual([]);
  expect(() => apply("loopback_users.ops = yes")).toThrow(/invalid value "yes" for loopback_users.ops: expected true or false/);
});

test("information units as RabbitMQ reads them: k/kiB = 1024, kB/KB = 1000, M and G alike", () => {
  expect(parseBytes("100")).toBe(100);
  for (const unit of ["k", "K", "kiB", "KiB", "KIB", "kib"]) expect(parseBytes(`2${unit}`)).toBe(2048);
  for (const unit of ["kB", "KB", "kb", "Kb"]) expect(parseBytes(`2${unit}`)).toBe(2000);
  for (const unit of ["m", "M", "MiB", "MIB", "mib"]) expect(parseBytes(`3${unit}`)).toBe(3 * 1024 ** 2);
  for (const unit of ["MB", "mb", "Mb"]) expect(parseBytes(`3${unit}`)).toBe(3_000_000);
  for (const unit of ["g", "G", "GiB", "GIB", "gib"]) expect(parseBytes(`1${unit}`)).toBe(1024 ** 3);
  for (const unit of ["GB", "gb", "Gb"]) expect(parseBytes(`1${unit}`)).toBe(1_000_000_000);
  for (const bad of ["1.5GB", "1 GB", "1TB", "-1", "GB", "1b"]) expect(parseBytes(bad)).toBeUndefined();
  expect(apply("disk_free_limit.absolute = 500MB").options.diskFreeLimit).toBe(500_000_000);
  expect(() => apply("disk_free_limit.absolute = 1.5GB")).toThrow(/invalid value "1.5GB" for disk_free_limit.absolute: expected bytes/);
});

test("memory watermark: relative fraction, absolute bytes, relative wins when both are set", () => {
  expect(apply("vm_memory_high_watermark.relative = 0.6").options.memoryHighWatermark).toBe(0.6);
  expect(apply("vm_memory_high_watermark.absolute = 512MiB").options.memoryHighWatermark).toBe(512 * 1024 ** 2);
  expect(apply("vm_memory_high_watermark.absolute = 1G\nvm_memory_high_watermark.relative = 0.5").options.memoryHighWatermark).toBe(0.5);
  expect(() => apply("vm_memory_high_watermark.relative = 1.5")).toThrow(/expected a fraction of the memory limit from 0 to 1/);
  expect(() => apply("vm_memory_high_watermark.relative = lots")).toThrow(/invalid value "lots"/);
  expect(() => apply("vm_memory_high_watermark.absolute = 1")).toThrow(/expected at least 2 bytes/);
});

test("log levels: RabbitMQ's names onto Warren's; log.console = false silences", () => {
  const level = (text: string) => apply(text).options.logLevel;
  expect(level("log.console.level = debug")).toBe("debug");
  expect(level("log.console.level = info")).toBe("info");
  expect(level("log.console.level = notice")).toBe("warning");
  expect(level("log.console.level = critical")).toBe("error");
  expect(level("log.console.level = none")).toBe("none");
  expect(level("log.console = false\nlog.console.level = debug")).toBe("none");
  expect(() => apply("log.console.level = loud")).toThrow(/invalid value "loud" for log.console.level: expected one of debug, info/);
});

test("values are checked with messages naming the key, the value and the line", () => {
  const bad: [string, RegExp][] = [
    ["heartbeat = -1", /invalid value "-1" for heartbeat/],
    ["frame_max = 1000", /invalid value "1000" for frame_max: expected bytes: 0 \(no limit\) or at least 4096/],
    ["channel_max = 70000", /invalid value "70000" for channel_max/],
    ["max_message_size = 600000000", /max_message_size: expected bytes from 1 to 536870912/],
    ["ssl_options.verify = maybe", /ssl_options.verify: expected verify_peer or verify_none/],
    ["ssl_options.fail_if_no_peer_cert = 1", /fail_if_no_peer_cert: expected true or false/],
    ["management.tcp.port = http", /management.tcp.port: expected a port number/],
  ];
  for (const [text, message] of bad) {
    expect(() => apply(`# line 1\n${text}`)).toThrow(message);
    expect(() => apply(`# line 1\n${text}`)).toThrow(/^Error in config file warren\.conf line 2: /);
  }
  expect(apply("frame_max = 0\nheartbeat = 0\nchannel_max = 0").options).toEqual({ frameMax: 0, heartbeat: 0, channelMax: 0 });
});

test("an unknown key stops the boot, naming the key and the line", () => {
  expect(() => apply("heartbeat = 10\nhearbeat = 10"))
    .toThrow("Error in config file warren.conf line 2: you've tried to set hearbeat, but there is no setting with that name in Warren");
  // A real RabbitMQ key that Warren does not support is refused too, rather than silently ignored.
  expect(() => apply("stomp.listeners.tcp.default = 61613")).toThrow(/line 1: you've tried to set stomp.listeners.tcp.default/);
  // The MQTT plugin's keys are kept as written for the plugin, which checks them when it starts.
  expect(apply("mqtt.listeners.tcp.default = 1883\nweb_mqtt.ws_path = /mqtt").options.pluginSettings)
    .toEqual({ "mqtt.listeners.tcp.default": "1883", "web_mqtt.ws_path": "/mqtt" });
  expect(() => apply("listeners.tcp.default.extra = 1")).toThrow(/you've tried to set listeners.tcp.default.extra/);
  expect(() => apply("listeners\\.tcp = none")).toThrow(/you've tried to set listeners\\.tcp/);
});

test("RabbitMQ keys that mean nothing on one Warren node are accepted with one warning each", () => {
  const { options, warnings } = apply(
    "log.file = false\nlog.file.level = debug\ncluster_partition_handling = ignore\ncluster_formation.peer_discovery_backend = classic_config\n" +
      "collect_statistics_interval = 10000\nmanagement.rates_mode = none\nheartbeat = 5\n",
  );
  expect(options).toEqual({ heartbeat: 5 });
  expect(warnings).toEqual([
    "Ignoring log.file (config file warren.conf line 1): Warren logs to standard output only",
    "Ignoring log.file.level (config file warren.conf line 2): Warren logs to standard output only",
    "Ignoring cluster_partition_handling (config file warren.conf line 3): Warren runs as a single node",
    "Ignoring cluster_formation.peer_discovery_backend (config file warren.conf line 4): Warren runs as a single node",
    "Ignoring collect_statistics_interval (config file warren.conf line 5): Warren's statistics are counters read when asked for",
    "Ignoring management.rates_mode (config file warren.conf line 6): Warren's statistics are counters read when asked for",
  ]);
});

test("cluster_name sets the cluster name (shown by overview and in connection.start)", () => {
  expect(apply("cluster_name = edge-site-1").options).toEqual({ clusterName: "edge-site-1" });
});

test("server_properties.<key> sets connection.start's server-properties; capabilities cannot be set", () => {
  const file = apply("server_properties.product = RabbitMQ\nserver_properties.version = 3.10.8").options;
  expect(file).toEqual({ serverProperties: { product: "RabbitMQ", version: "3.10.8" } });
  expect(resolveOptions(file, { serverProperties: { information: "site 7" } }).serverProperties)
    .toEqual({ product: "RabbitMQ", version: "3.10.8", information: "site 7" });
  expect(() => apply("server_properties.capabilities = none")).toThrow(/line 1.*capabilities are the broker's own/);
});

test("management.ssl.* alone sets up HTTPS on 15671 and turns plain HTTP off, as RabbitMQ", () => {
  const file = apply("management.ssl.certfile = /c.pem\nmanagement.ssl.keyfile = /k.pem").options;
  expect(file).toEqual({ httpsPort: 15671, httpsCert: "/c.pem", httpsKey: "/k.pem" });
  expect(resolveOptions(file)).toMatchObject({ httpsPort: 15671, httpPort: null });
  // With management.tcp.* too, both listen; a flag's --http-port also keeps plain HTTP on.
  const both = apply("management.ssl.port = 15671\nmanagement.tcp.ip = 0.0.0.0").options;
  expect(resolveOptions(both)).toMatchObject({ httpsPort: 15671, httpPort: 15672 });
  expect(resolveOptions(file, { httpPort: 0 })).toMatchObject({ httpsPort: 15671, httpPort: 0 });
  expect(resolveOptions({})).toMatchObject({ httpsPort: null, httpPort: 15672 });
});

test("precedence: defaults < config file < environment and flags", () => {
  const file = apply("heartbeat = 30\ndefault_user = fromfile\nframe_max = 8192").options;
  const resolved = resolveOptions(file, { defaultUser: "fromenv", frameMax: 4096 });
  expect(resolved).toMatchObject({ heartbeat: 30, defaultUser: "fromenv", frameMax: 4096, channelMax: 2047 });
});

test("options that cannot work together are refused", () => {
  expect(() => checkOptions(resolveOptions({ port: null })))
    .toThrow(/No AMQP listener: the plain listener is off \(listeners.tcp = none\) and no TLS listener is set/);
  expect(() => checkOptions(resolveOptions({ tlsPort: 5671, tlsCert: "c.pem" }))).toThrow(/The TLS listener needs a certificate and a key/);
  expect(() => checkOptions(resolveOptions({ httpsPort: 15671 }))).toThrow(/The HTTPS listener needs a certificate and a key/);
  expect(() => checkOptions(resolveOptions({ httpsPort: 15671, tlsCert: "c", tlsKey: "k" }))).not.toThrow();
  expect(() => checkOptions(resolveOptions({ port: null, tlsPort: 0, tlsCert: "c", tlsKey: "k" }))).not.toThrow();
});

test("the file is found as RabbitMQ finds RABBITMQ_CONFIG_FILE: as given, or with .conf added", () => {
  writeFileSync(join(dir, "rabbitmq.conf"), "heartbeat = 7\n");
  writeFileSync(join(dir, "old.config"), "[{rabbit, []}].\n");
  expect(locateConfigFile(join(dir, "rabbitmq.conf"))).toBe(join(dir, "rabbitmq.conf"));
  expect(locateConfigFile(join(dir, "rabbitmq"))).toBe(join(dir, "rabbitmq.conf"));
  expect(loadConfigFile(join(dir, "rabbitmq"))).toEqual({
    file: join(dir, "rabbitmq.conf"),
    files: [join(dir, "rabbitmq.conf")],
    options: { heartbeat: 7 },
    warnings: [],
  });
  expect(() => locateConfigFile(join(dir, "missing"))).toThrow(
    `Cannot read config file ${join(dir, "missing")}: there is no such file (nor ${join(dir, "missing")}.conf)`,
  );
  expect(() => locateConfigFile(join(dir, "old"))).toThrow(/the Erlang-term format \(\.config\) is not supported/);
  expect(() => locateConfigFile(join(dir, "old.config"))).toThrow(/the Erlang-term format/);
  expect(() => locateConfigFile(dir)).toThrow(/there is no such file/);
});

test("errors from a file on disk name its path", () => {
  const file = join(dir, "bad.conf");
  writeFileSync(file, "# ok\nheartbeat = 10\nwhatever = 1\n");
  expect(() => loadConfigFile(file)).toThrow(`Error in config file ${file} line 3: you've tried to set whatever`);
});

test("every example in docs/configuration.md loads", () => {
  const doc = readFileSync(join(import.meta.dir, "../../docs/configuration.md"), "utf8");
  const examples = [...doc.matchAll(/```ini\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(examples.length).toBeGreaterThanOrEqual(3);
  for (const example of examples) expect(() => apply(example)).not.toThrow();
});
