// What each warren.conf key means: RabbitMQ's rabbitmq.conf keys that Warren supports, mapped
// onto BrokerOptions; a short list of RabbitMQ keys that mean nothing on one Warren node
// (accepted with a warning); every other key stops the boot, as RabbitMQ refuses a key it
// does not know. docs/configuration.md is the user-facing list.
import type { BrokerOptions, ListenAddresses, LogLevel } from "./config.ts";

/** One `key = value` line of a config file (parsed by config_file.ts). */
export interface ConfigEntry {
  /** The key's words, escaped dots already turned into dots. */
  path: string[];
  /** The key as written, for messages. */
  key: string;
  value: string;
  line: number;
  /** The file it is in, when settings come from several (the main file and conf.d/). */
  file?: string;
}

/** A bad config file; the message names the file and, where there is one, the line. */
export class ConfigFileError extends Error {}

type Fail = (why: string) => never;

/** Settings read so far; some keys only make sense together, resolved in finish(). */
interface State {
  o: Partial<BrokerOptions>;
  addresses: ListenAddresses;
  /** listeners.tcp / listeners.ssl: "none", or the entries of listeners.<kind>.<name>. */
  tcp: { none: boolean; listeners: Map<string, ConfigEntry> };
  ssl: { none: boolean; listeners: Map<string, ConfigEntry> };
  loopback: { none: boolean; users: Map<string, boolean> };
  memoryRelative: number | undefined;
  memoryAbsolute: number | undefined;
  logConsole: boolean | undefined;
  logLevel: LogLevel | undefined;
  defaultTags: Map<string, boolean>;
  defaultPermissions: { configure?: string; write?: string; read?: string };
  corsOrigins: Map<string, string>;
}

type Setter = (value: string, s: State, fail: Fail) => void;

// ------------------------------------------------------------------ value parsers

function integer(value: string, min: number, max: number, what: string, fail: Fail): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) fail(`expected ${what}`);
  return n;
}

const port = (value: string, fail: Fail) => integer(value, 0, 65535, "a port number 0-65535", fail);

function bool(value: string, fail: Fail): boolean {
  if (value === "true") return true;
  if (value === "false") return false;
  return fail(`expected true or false`);
}

const UNITS: Record<string, number> = {
  k: 1024,
  K: 1024,
  kiB: 1024,
  KiB: 1024,
  KIB: 1024,
  kib: 1024,
  m: 1024 ** 2,
  M: 1024 ** 2,
  MiB: 1024 ** 2,
  MIB: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  G: 1024 ** 3,
  GiB: 1024 ** 3,
  GIB: 1024 ** 3,
  gib: 1024 ** 3,
  kB: 1000,
  KB: 1000,
  kb: 1000,
  Kb: 1000,
  MB: 1000 ** 2,
  mb: 1000 ** 2,
  Mb: 1000 ** 2,
  GB: 1000 ** 3,
  gb: 1000 ** 3,
  Gb: 1000 ** 3,
};

/** RabbitMQ's information units (rabbit_resource_monitor_misc): k/K/kiB = 1024, kB/KB = 1000, and M, G alike. */
export function parseBytes(value: string): number | undefined {
  const m = /^(\d+)([A-Za-z]*)$/.exec(value);
  if (!m) return undefined;
  const unit = m[2]!;
  const multiplier = unit === "" ? 1 : UNITS[unit];
  return multiplier === undefined ? undefined : Number(m[1]) * multiplier;
}

function bytes(value: string, fail: Fail): number {
  return parseBytes(value) ?? fail(`expected bytes, as a whole number with an optional unit (k, kiB, KB, M, MiB, MB, G, GiB, GB)`);
}

function path(value: string): string {
  return value;
}

/** `5672`, `127.0.0.1:5672`, `::1:5672` or `[::1]:5672`, as cuttlefish's [integer, ip]. */
export function parseListener(value: string, fail: Fail): { port: number; address: string | undefined } {
  if (/^\d+$/.test(value)) return { port: port(value, fail), address: undefined };
  const colon = value.lastIndexOf(":");
  if (colon <= 0) fail(`expected a port or ip:port`);
  let address = value.slice(0, colon);
  if (address.startsWith("[") && address.endsWith("]")) address = address.slice(1, -1);
  return { port: port(value.slice(colon + 1), fail), address };
}

// RabbitMQ's log levels onto Warren's: notice shows what warning does (Warren has no notice
// messages), critical and above show errors.
const LOG_LEVELS: Record<string, LogLevel> = {
  debug: "debug",
  info: "info",
  notice: "warning",
  warning: "warning",
  error: "error",
  critical: "error",
  alert: "error",
  emergency: "error",
  none: "none",
};

// ------------------------------------------------------------------ the keys

const set = <K extends keyof BrokerOptions>(key: K, parse: (value: string, fail: Fail) => BrokerOptions[K]): Setter => (value, s, fail) => {
  s.o[key] = parse(value, fail);
};

/** Keys with a fixed name. */
const SETTINGS: Record<string, Setter> = {
  "listeners.tcp": (value, s, fail) => {
    if (value !== "none") fail(`expected none (or set listeners.tcp.default to a port)`);
    s.tcp.none = true;
  },
  "listeners.ssl": (value, s, fail) => {
    if (value !== "none") fail(`expected none (or set listeners.ssl.default to a port)`);
    s.ssl.none = true;
  },
  "ssl_options.cacertfile": set("tlsCa", path),
  "ssl_options.certfile": set("tlsCert", path),
  "ssl_options.keyfile": set("tlsKey", path),
  "ssl_options.verify": set("tlsVerifyPeer", (value, fail) => {
    if (value === "verify_peer") return true;
    if (value === "verify_none") return false;
    return fail(`expected verify_peer or verify_none`);
  }),
  "ssl_options.fail_if_no_peer_cert": set("tlsFailIfNoPeerCert", bool),
  "default_user": set("defaultUser", path),
  "default_pass": set("defaultPass", path),
  "default_vhost": set("defaultVhost", path),
  "loopback_users": (value, s, fail) => {
    if (value !== "none") fail(`expected none (or set loopback_users.<user> = true|false)`);
    s.loopback.none = true;
  },
  "load_definitions": set("definitionsFile", path),
  "cluster_name": set("clusterName", path),
  "management.load_definitions": set("definitionsFile", path),
  // Warren's: RabbitMQ sets these by environment only (RABBITMQ_PLUGINS_DIR, RABBITMQ_ENABLED_PLUGINS_FILE).
  "plugins_dir": set("pluginsDir", path),
  "enabled_plugins_file": set("enabledPluginsFile", path),
  "vm_memory_high_watermark.relative": (value, s, fail) => {
    const n = Number(value);
    if (!/^\d*\.?\d+$/.test(value) || n > 1) fail(`expected a fraction of the memory limit from 0 to 1`);
    s.memoryRelative = n;
  },
  "vm_memory_high_watermark.absolute": (value, s, fail) => {
    const n = bytes(value, fail);
    // Warren's memoryHighWatermark reads values up to 1 as fractions.
    if (n < 2) fail(`expected at least 2 bytes`);
    s.memoryAbsolute = n;
  },
  "disk_free_limit.absolute": set("diskFreeLimit", bytes),
  "heartbeat": set("heartbeat", (v, fail) => integer(v, 0, 65535, "seconds from 0 (off) to 65535", fail)),
  "frame_max": set("frameMax", (v, fail) => {
    const n = integer(v, 0, 2 ** 32 - 1, "bytes: 0 (no limit) or at least 4096", fail);
    return n !== 0 && n < 4096 ? fail(`expected bytes: 0 (no limit) or at least 4096`) : n;
  }),
  "channel_max": set("channelMax", (v, fail) => integer(v, 0, 65535, "a number of channels from 0 (no limit) to 65535", fail)),
  "max_message_size": set(
    "maxMessageSize",
    (v, fail) => integer(v, 1, 536_870_912, "bytes from 1 to 536870912 (512 MiB, RabbitMQ's limit)", fail),
  ),
  "consumer_timeout": set("consumerTimeoutMs", (v, fail) => integer(v, 1, 2 ** 31 - 1, "milliseconds", fail)),
  "handshake_timeout": set("handshakeTimeoutMs", (v, fail) => integer(v, 1, 2 ** 31 - 1, "milliseconds", fail)),
  "management.http.max_body_size": set("httpMaxBodySize", (v, fail) => integer(v, 1, 2 ** 31 - 1, "bytes", fail)),
  "management.tcp.port": set("httpPort", port),
  "management.tcp.ip": (value, s) => {
    s.addresses.http = value;
    s.o.httpPort ??= 15672;
  },
  "management.ssl.port": set("httpsPort", port),
  "management.ssl.ip": (value, s) => {
    s.addresses.https = value;
    s.o.httpsPort ??= 15671;
  },
  "management.ssl.certfile": (value, s) => {
    s.o.httpsCert = value;
    s.o.httpsPort ??= 15671;
  },
  "management.ssl.keyfile": (value, s) => {
    s.o.httpsKey = value;
    s.o.httpsPort ??= 15671;
  },
  "management.ssl.cacertfile": (value, s) => {
    s.o.httpsCa = value;
    s.o.httpsPort ??= 15671;
  },
  "prometheus.tcp.port": set("metricsPort", port),
  "prometheus.tcp.ip": (value, s) => {
    s.addresses.metrics = value;
  },
  "log.console": (value, s, fail) => {
    s.logConsole = bool(value, fail);
  },
  "log.console.formatter": set(
    "logFormat",
    (v, fail) => v === "json" ? "json" : v === "plaintext" ? "text" : fail(`expected json or plaintext`),
  ),
  "management.path_prefix": set("httpPathPrefix", (v, fail) => {
    const prefix = "/" + v.replace(/^\/+|\/+$/g, "");
    return /^\/[A-Za-z0-9._~!$&'()*+,;=:@%\/-]*$/.test(prefix)
      ? (prefix === "/" ? "" : prefix)
      : fail(`expected a URL path such as /rabbitmq`);
  }),
  // Warren's own key, shaped as web_mqtt.ws_path (RabbitMQ's web_amqp plugin speaks AMQP 1.0).
  "web_amqp091.ws_path": set(
    "amqpWebSocketPath",
    (v, fail) => v === "none" ? null : v.startsWith("/") ? v : fail("expected a path starting with / (or none)"),
  ),
  "management.cors.max_age": set("corsMaxAge", (v, fail) => integer(v, 0, 2 ** 31 - 1, "seconds", fail)),
  "log.console.level": (value, s, fail) => {
    s.logLevel = LOG_LEVELS[value] ?? fail(`expected one of ${Object.keys(LOG_LEVELS).join(", ")}`);
  },
};

/** Keys with a name in them: listeners.tcp.<name>, listeners.ssl.<name>, loopback_users.<user>. */
/** Keys under these words belong to plugins: kept as written, checked by the plugin at start. */
export const PLUGIN_KEY_PREFIXES = ["mqtt", "web_mqtt", "shovel"];

function namedSetting(entry: ConfigEntry): Setter | undefined {
  const [head, second, third] = entry.path;
  if (entry.path.length >= 2 && PLUGIN_KEY_PREFIXES.includes(head!)) {
    return (value, s) => void (s.o.pluginSettings = { ...s.o.pluginSettings, [entry.path.join(".")]: value });
  }
  if (entry.path.length === 2 && head === "server_properties") {
    // Warren's: RabbitMQ sets these in advanced.config ({rabbit, [{server_properties, [...]}]}).
    return (value, s, fail) => {
      if (second === "capabilities") fail(`capabilities are the broker's own and cannot be set`);
      s.o.serverProperties = { ...s.o.serverProperties, [second!]: value };
    };
  }
  if (entry.path.length === 3 && head === "listeners" && (second === "tcp" || second === "ssl")) {
    return (_value, s) => void s[second].listeners.set(third!, entry);
  }
  if (entry.path.length === 2 && head === "loopback_users") {
    return (value, s, fail) => void s.loopback.users.set(second!, bool(value, fail));
  }
  if (entry.path.length === 2 && head === "default_user_tags") {
    return (value, s, fail) => void s.defaultTags.set(second!, bool(value, fail));
  }
  if (entry.path.length === 2 && head === "default_permissions" && (second === "configure" || second === "write" || second === "read")) {
    return (value, s, fail) => {
      try {
        new RegExp(value);
      } catch {
        fail(`expected a regular expression`);
      }
      s.defaultPermissions[second] = value;
    };
  }
  if (entry.path.length === 2 && head === "auth_backends") {
    // The internal user database is what Warren has; another backend cannot be honoured.
    return (value, _s, fail) => {
      if (value !== "internal" && value !== "rabbit_auth_backend_internal") {
        fail(`Warren has only the internal user database (internal, rabbit_auth_backend_internal)`);
      }
    };
  }
  if (entry.path.length === 4 && head === "management" && second === "cors" && third === "allow_origins") {
    return (value, s) => void s.corsOrigins.set(entry.path[3]!, value);
  }
  return undefined;
}

/** RabbitMQ settings that mean nothing on one Warren node: accepted, with a warning each. */
const IGNORED: [match: (key: string) => boolean, why: string][] = [
  [
    (k) => k === "log.file" || k === "log.file.level" || k === "log.dir" || k.startsWith("log.file.rotation."),
    "Warren logs to standard output only",
  ],
  [(k) => k === "cluster_partition_handling" || k.startsWith("cluster_formation."), "Warren runs as a single node"],
  [(k) => k === "collect_statistics_interval" || k === "management.rates_mode", "Warren's statistics are counters read when asked for"],
  [(k) => k === "vm_memory_high_watermark_paging_ratio", "Warren's queues page their backlog past a fixed in-memory window"],
  [(k) => k === "num_acceptors.tcp" || k === "num_acceptors.ssl", "Warren accepts connections on its event loop"],
  [(k) => k === "management_agent.disable_metrics_collector", "Warren's statistics are counters read when asked for"],
  [(k) => k === "reverse_dns_lookups", "Warren shows peer addresses, not host names"],
  [(k) => k.startsWith("tcp_listen_options."), "Warren's sockets use the runtime's settings (TCP_NODELAY on)"],
];

// ------------------------------------------------------------------ applying a file

/** The options a config file sets, and a warning for each key it ignores. */
export function applySettings(entries: ConfigEntry[], file: string): { options: Partial<BrokerOptions>; warnings: string[] } {
  const s: State = {
    o: {},
    addresses: {},
    tcp: { none: false, listeners: new Map() },
    ssl: { none: false, listeners: new Map() },
    loopback: { none: false, users: new Map() },
    memoryRelative: undefined,
    memoryAbsolute: undefined,
    logConsole: undefined,
    logLevel: undefined,
    defaultTags: new Map(),
    defaultPermissions: {},
    corsOrigins: new Map(),
  };
  const warnings: string[] = [];
  const at = (entry: ConfigEntry) => `config file ${entry.file ?? file} line ${entry.line}`;
  for (const entry of entries) {
    const key = entry.path.join(".");
    const setter = (entry.path.some((w) => w.includes(".")) ? undefined : SETTINGS[key]) ?? namedSetting(entry);
    if (setter !== undefined) {
      setter(entry.value, s, (why) => {
        throw new ConfigFileError(`Error in ${at(entry)}: invalid value "${entry.value}" for ${entry.key}: ${why}`);
      });
      continue;
    }
    const ignored = IGNORED.find(([match]) => match(key));
    if (ignored !== undefined) {
      warnings.push(`Ignoring ${entry.key} (${at(entry)}): ${ignored[1]}`);
      continue;
    }
    throw new ConfigFileError(
      `Error in ${at(entry)}: you've tried to set ${entry.key}, but there is no setting with that name in Warren ` +
        `(RabbitMQ has no such setting, or Warren does not support it; docs/configuration.md lists the keys)`,
    );
  }
  finish(s, at);
  return { options: s.o, warnings };
}

/** Settings resolved from several keys, as RabbitMQ's schema translations do. */
function finish(s: State, at: (entry: ConfigEntry) => string): void {
  const o = s.o;
  for (const kind of ["tcp", "ssl"] as const) {
    const { none, listeners } = s[kind];
    const entries = [...listeners.values()];
    if (entries.length > 1) {
      throw new ConfigFileError(
        `Error in ${at(entries[1]!)}: Warren has one ${kind === "tcp" ? "AMQP" : "amqps"} listener, ` +
          `but ${entries[0]!.key} (line ${entries[0]!.line}) and ${entries[1]!.key} both set one`,
      );
    }
    const entry = entries[0];
    if (none) {
      if (kind === "tcp") o.port = null;
      else o.tlsPort = undefined;
    } else if (entry !== undefined) {
      const listener = parseListener(entry.value, (why) => {
        throw new ConfigFileError(`Error in ${at(entry)}: invalid value "${entry.value}" for ${entry.key}: ${why}`);
      });
      if (kind === "tcp") o.port = listener.port;
      else o.tlsPort = listener.port;
      if (listener.address !== undefined) s.addresses[kind === "tcp" ? "amqp" : "amqps"] = listener.address;
    }
  }
  // As RabbitMQ: "none" wins; otherwise only the users set to true, replacing the default list.
  if (s.loopback.none) o.loopbackUsers = [];
  else if (s.loopback.users.size > 0) o.loopbackUsers = [...s.loopback.users].filter(([, on]) => on).map(([name]) => name);
  // As RabbitMQ: relative wins when both are set.
  const memory = s.memoryRelative ?? s.memoryAbsolute;
  if (memory !== undefined) o.memoryHighWatermark = memory;
  // As loopback_users: the tags set to true replace the default [administrator].
  if (s.defaultTags.size > 0) o.defaultUserTags = [...s.defaultTags].filter(([, on]) => on).map(([tag]) => tag);
  if (Object.keys(s.defaultPermissions).length > 0) {
    o.defaultPermissions = { configure: ".*", write: ".*", read: ".*", ...s.defaultPermissions };
  }
  if (s.corsOrigins.size > 0) o.corsAllowOrigins = [...s.corsOrigins.values()];
  if (s.logConsole === false) o.logLevel = "none";
  else if (s.logLevel !== undefined) o.logLevel = s.logLevel;
  if (Object.keys(s.addresses).length > 0) o.listenAddresses = s.addresses;
}
