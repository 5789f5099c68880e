// Broker options and their defaults (RabbitMQ's where it has one).

import { hostname } from "node:os";
import { join } from "node:path";

export type LogLevel = "debug" | "info" | "warning" | "error" | "none";

export interface BrokerOptions {
  /** AMQP port; 0 picks a free one (logged, and on Broker.port); null: no plain listener (listeners.tcp = none). */
  port: number | null;
  /** Address to listen on; "::" listens on every IPv4 and IPv6 address. */
  bind: string;
  /** Addresses of single listeners (the config file's `ip:port` forms); the others listen on `bind`. */
  listenAddresses: ListenAddresses;
  /**
   * Management HTTP API port (RabbitMQ's 15672); 0 picks a free one, null turns it off. Left
   * unset while httpsPort is set, it is off, as RabbitMQ's management.ssl without management.tcp.
   */
  httpPort: number | null;
  /** Management API over HTTPS (RabbitMQ's management.ssl.port, usually 15671); null: none. */
  httpsPort: number | null;
  /** PEM files of the HTTPS listener; each unset one falls back to tlsCert / tlsKey / tlsCa. */
  httpsCert: string | undefined;
  httpsKey: string | undefined;
  httpsCa: string | undefined;
  /** Prometheus metrics port (RabbitMQ's 15692); 0 picks a free one, null turns it off. */
  metricsPort: number | null;
  /** A warren.conf (rabbitmq.conf format) read by startBroker beneath the other options; null: none. */
  configFile: string | null;
  /** A definitions JSON file imported at boot (RabbitMQ's load_definitions). */
  definitionsFile: string | null;
  dataDir: string;
  logLevel: LogLevel;
  /** Largest frame the broker accepts and offers in connection.tune (0 = no limit). */
  frameMax: number;
  /** Most channels per connection offered in connection.tune (0 = no limit). */
  channelMax: number;
  /** Heartbeat interval in seconds offered in connection.tune (0 = off). */
  heartbeat: number;
  /** A client must finish the handshake (up to connection.open) within this many ms. */
  handshakeTimeoutMs: number;
  /** How long to wait for a client's close-ok after the broker sent connection.close. */
  closeTimeoutMs: number;
  defaultUser: string;
  defaultPass: string;
  defaultVhost: string;
  /** Memory alarm threshold: ≤ 1 is a fraction of the memory limit (cgroup or host), > 1 bytes. */
  memoryHighWatermark: number;
  /** Disk alarm when free space in the data dir's file system drops below this many bytes. */
  diskFreeLimit: number;
  /** Commits survive power loss (fsync); off: they survive a process crash only. */
  fsync: boolean;
  /** The store gives space freed by acks back to the file system while running (docs/storage.md). */
  storeReclaim: boolean;
  /** µs the event loop keeps polling after a socket read instead of sleeping (0: off; runtime/busy_wait.ts). */
  busyWaitUs: number;
  /** The store's commits run on a thread of their own once there are messages to write (storage/sqlite_commits.ts). */
  writerThread: boolean;
  /** Bytes of the disk reserve file that lets the store finish its writes on a full disk. */
  diskReserveBytes: number;
  /** Largest message body accepted (RabbitMQ's max_message_size, 128 MiB by default). */
  maxMessageSize: number;
  /** Largest management API request body (RabbitMQ's management.http.max_body_size). */
  httpMaxBodySize: number;
  /** Users in this list may only connect from loopback (RabbitMQ's loopback_users). */
  loopbackUsers: string[];
  /** amqps port (RabbitMQ's listeners.ssl); undefined: no TLS listener. 0 picks a free one. */
  tlsPort: number | undefined;
  /** PEM files: the server's certificate (chain) and key, and the CAs that sign client certificates. */
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  tlsCa: string | undefined;
  /** ssl_options.verify = verify_peer: ask for a client certificate and refuse one that does not verify. */
  tlsVerifyPeer: boolean;
  /** ssl_options.fail_if_no_peer_cert: with verify_peer, also refuse clients without a certificate. */
  tlsFailIfNoPeerCert: boolean;
  /**
   * RabbitMQ's consumer_timeout: a channel whose oldest unacknowledged delivery is older than
   * this is closed with 406 (30 minutes, as RabbitMQ 3.10); null: no timeout.
   */
  consumerTimeoutMs: number | null;
  /** Tags of the default user created at first boot (default_user_tags.*). */
  defaultUserTags: string[];
  /** The default user's permissions on the default vhost (default_permissions.*). */
  defaultPermissions: { configure: string; write: string; read: string };
  /** Log lines as text (RabbitMQ's plaintext) or one JSON object each (log.console.formatter = json). */
  logFormat: "text" | "json";
  /** The management API under this path (management.path_prefix, e.g. "/rabbitmq"); "" for none. */
  httpPathPrefix: string;
  /** AMQP 0-9-1 over WebSocket on the management API's port(s), at this path; null: off. */
  amqpWebSocketPath: string | null;
  /** Origins the management API answers CORS requests from (management.cors.allow_origins.*; "*" any). */
  corsAllowOrigins: string[];
  /** Seconds browsers may cache a CORS preflight (management.cors.max_age; RabbitMQ's default 1800). */
  corsMaxAge: number;
  /** The node's name (RABBITMQ_NODENAME); undefined: `rabbit@<short hostname>`, as RabbitMQ. */
  nodeName: string | undefined;
  /** rabbitmq.conf's cluster_name: the cluster name until one is set over the API; undefined: the node name. */
  clusterName: string | undefined;
  /** --plugins a,b: exactly these plugins (and their dependencies) run; null: not given. */
  plugins: string[] | null;
  /**
   * RabbitMQ's enabled_plugins file (--enabled-plugins-file, RABBITMQ_ENABLED_PLUGINS_FILE);
   * null: <dataDir>/enabled_plugins, used only if it exists (else every plugin runs).
   */
  enabledPluginsFile: string | null;
  /** Third-party plugins: .js/.ts modules in this directory (--plugins-dir, RABBITMQ_PLUGINS_DIR). */
  pluginsDir: string | null;
  /**
   * Plugins' own settings as written (warren.conf keys under PLUGIN_KEY_PREFIXES, and flags such
   * as --mqtt-port): "mqtt.listeners.tcp.default" -> "1883", static shovels as
   * "shovel.<name>.<key>" -> value ("shovel.<name>.dest-uri.1" for list items). Each plugin
   * checks its own.
   */
  pluginSettings: Record<string, string>;
  /**
   * connection.start's server-properties set by the operator (warren.conf `server_properties.<key>`,
   * RabbitMQ's `server_properties` in advanced.config): added to, or replacing, Warren's own
   * (`product`, `version`, ...); never `capabilities`.
   */
  serverProperties: Record<string, string>;
}

/** Per-listener addresses; a missing one is BrokerOptions.bind. */
export interface ListenAddresses {
  amqp?: string;
  amqps?: string;
  http?: string;
  https?: string;
  metrics?: string;
}

export const DEFAULTS: Readonly<BrokerOptions> = {
  port: 5672,
  bind: "::",
  listenAddresses: {},
  httpPort: 15672,
  httpsPort: null,
  httpsCert: undefined,
  httpsKey: undefined,
  httpsCa: undefined,
  metricsPort: 15692,
  configFile: null,
  definitionsFile: null,
  dataDir: "./warren-data",
  logLevel: "info",
  frameMax: 131072,
  channelMax: 2047,
  heartbeat: 60,
  handshakeTimeoutMs: 10_000,
  closeTimeoutMs: 3_000,
  defaultUser: "guest",
  defaultPass: "guest",
  defaultVhost: "/",
  loopbackUsers: ["guest"],
  tlsPort: undefined,
  tlsCert: undefined,
  tlsKey: undefined,
  tlsCa: undefined,
  tlsVerifyPeer: false,
  tlsFailIfNoPeerCert: false,
  consumerTimeoutMs: 1_800_000,
  defaultUserTags: ["administrator"],
  defaultPermissions: { configure: ".*", write: ".*", read: ".*" },
  logFormat: "text",
  httpPathPrefix: "",
  amqpWebSocketPath: "/ws/amqp",
  corsAllowOrigins: [],
  corsMaxAge: 1800,
  nodeName: undefined,
  clusterName: undefined,
  plugins: null,
  enabledPluginsFile: null,
  pluginsDir: null,
  pluginSettings: {},
  serverProperties: {},
  maxMessageSize: 128 * 1024 * 1024,
  httpMaxBodySize: 20_000_000,
  fsync: true,
  storeReclaim: true,
  busyWaitUs: 0,
  writerThread: false,
  diskReserveBytes: 16 * 1024 * 1024,
  memoryHighWatermark: 0.4,
  diskFreeLimit: 50_000_000,
};

/** An environment variable with a value Warren cannot use (the start stops, naming it). */
export class EnvError extends Error {}

/**
 * RabbitMQ's environment variables (the image's and rabbitmq-env.conf's) that mean something
 * for Warren, over the config file and under the flags. envWarnings names the others.
 */
export function optionsFromEnv(env: Record<string, string | undefined>): Partial<BrokerOptions> {
  const out: Partial<BrokerOptions> = {};
  if (env.RABBITMQ_NODE_PORT) {
    const port = Number(env.RABBITMQ_NODE_PORT);
    if (!/^\d+$/.test(env.RABBITMQ_NODE_PORT) || port > 65535) {
      throw new EnvError(`RABBITMQ_NODE_PORT "${env.RABBITMQ_NODE_PORT}" is not a port number`);
    }
    out.port = port;
  }
  if (env.RABBITMQ_NODE_IP_ADDRESS) out.listenAddresses = { amqp: env.RABBITMQ_NODE_IP_ADDRESS };
  // The node's data directory: RABBITMQ_MNESIA_DIR, else <RABBITMQ_MNESIA_BASE>/<node name>.
  if (env.RABBITMQ_MNESIA_DIR) out.dataDir = env.RABBITMQ_MNESIA_DIR;
  else if (env.RABBITMQ_MNESIA_BASE) out.dataDir = join(env.RABBITMQ_MNESIA_BASE, qualifiedNodeName(env.RABBITMQ_NODENAME || "rabbit"));
  if (env.RABBITMQ_DEFAULT_USER) out.defaultUser = env.RABBITMQ_DEFAULT_USER;
  if (env.RABBITMQ_DEFAULT_PASS !== undefined) out.defaultPass = env.RABBITMQ_DEFAULT_PASS;
  if (env.RABBITMQ_DEFAULT_VHOST) out.defaultVhost = env.RABBITMQ_DEFAULT_VHOST;
  if (env.RABBITMQ_DEFINITIONS_FILE) out.definitionsFile = env.RABBITMQ_DEFINITIONS_FILE;
  if (env.RABBITMQ_CONFIG_FILE) out.configFile = env.RABBITMQ_CONFIG_FILE;
  if (env.RABBITMQ_NODENAME) out.nodeName = qualifiedNodeName(env.RABBITMQ_NODENAME);
  if (env.RABBITMQ_ENABLED_PLUGINS_FILE) out.enabledPluginsFile = env.RABBITMQ_ENABLED_PLUGINS_FILE;
  if (env.RABBITMQ_PLUGINS_DIR) out.pluginsDir = env.RABBITMQ_PLUGINS_DIR;
  return out;
}

/** RabbitMQ variables that change nothing for Warren: each gets a warning line at boot. */
const ENV_IGNORED: [names: RegExp, why: string][] = [
  [/^RABBITMQ_(ENABLED_PLUGINS|PLUGINS_EXPAND_DIR)$/, "use the enabled_plugins file (RABBITMQ_ENABLED_PLUGINS_FILE) or --plugins"],
  [/^RABBITMQ_(LOG_BASE|LOGS|LOG|UPGRADE_LOG)$/, "Warren logs to standard output (log.console.level sets the level)"],
  [
    /^RABBITMQ_(DIST_PORT|ERLANG_COOKIE|USE_LONGNAME|CTL_DIST_PORT_MIN|CTL_DIST_PORT_MAX|CTL_ERL_ARGS)$/,
    "Warren has no Erlang distribution (warren ctl uses the management API)",
  ],
  [
    /^RABBITMQ_(SERVER_START_ARGS|SERVER_ADDITIONAL_ERL_ARGS|SERVER_ERL_ARGS|SERVER_CODE_PATH|IO_THREAD_POOL_SIZE|MAX_NUMBER_OF_PROCESSES|MAX_NUMBER_OF_ATOMS|SCHEDULER_BIND_TYPE|DISTRIBUTION_BUFFER_SIZE|KERNEL_POLL)$/,
    "Warren does not run on the Erlang VM",
  ],
  [
    /^RABBITMQ_(ADVANCED_CONFIG_FILE|CONFIG_FILES|CONF_ENV_FILE)$/,
    "not supported: use RABBITMQ_CONFIG_FILE (its conf.d/ directory is read too)",
  ],
  [
    /^RABBITMQ_(PID_FILE|FEATURE_FLAGS_FILE|QUORUM_DIR|STREAM_DIR|GENERATED_CONFIG_DIR|SCHEMA_DIR|HOME)$/,
    "Warren keeps everything in its data directory (RABBITMQ_MNESIA_DIR)",
  ],
];

/** One warning per RABBITMQ_* variable that is set but means nothing for Warren. */
export function envWarnings(env: Record<string, string | undefined>): string[] {
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith("RABBITMQ_") || env[name] === undefined) continue;
    const match = ENV_IGNORED.find(([names]) => names.test(name));
    if (match) warnings.push(`Ignoring environment variable ${name}: ${match[1]}`);
  }
  return warnings;
}

/** A node name without a host part gets this host's short name, as RabbitMQ qualifies `rabbit`. */
export function qualifiedNodeName(name: string, host = shortHostname()): string {
  return name.includes("@") ? name : `${name}@${host}`;
}

/** The default node name: `rabbit@<short hostname>`, what tools and dashboards expect. */
export function defaultNodeName(): string {
  return qualifiedNodeName("rabbit");
}

function shortHostname(): string {
  return hostname().split(".")[0] || "localhost";
}

/**
 * Defaults, then each layer over the one before (config file, then environment and flags).
 * An HTTPS port with no HTTP port set in any layer turns plain HTTP off, as RabbitMQ does.
 */
export function resolveOptions(...layers: Partial<BrokerOptions>[]): BrokerOptions {
  const set: Partial<BrokerOptions> = Object.assign({}, ...layers);
  const resolved = Object.assign({}, DEFAULTS, set) as BrokerOptions;
  // Listener addresses merge per listener: RABBITMQ_NODE_IP_ADDRESS leaves the file's HTTP address.
  resolved.listenAddresses = Object.assign({}, ...layers.map((l) => l.listenAddresses ?? {}));
  resolved.pluginSettings = Object.assign({}, ...layers.map((l) => l.pluginSettings ?? {}));
  resolved.serverProperties = Object.assign({}, ...layers.map((l) => l.serverProperties ?? {}));
  if (set.httpsPort != null && set.httpPort === undefined) resolved.httpPort = null;
  return resolved;
}

/** Settings that cannot work together; throws a message naming them. */
export function checkOptions(o: BrokerOptions): void {
  if (o.port === null && o.tlsPort === undefined) {
    throw new Error(
      "No AMQP listener: the plain listener is off (listeners.tcp = none) and no TLS listener is set (listeners.ssl.default or --tls-port)",
    );
  }
  if (o.tlsPort !== undefined && (o.tlsCert === undefined || o.tlsKey === undefined)) {
    throw new Error(
      "The TLS listener needs a certificate and a key (--tls-cert and --tls-key, or ssl_options.certfile and ssl_options.keyfile)",
    );
  }
  if (o.httpsPort !== null && ((o.httpsCert ?? o.tlsCert) === undefined || (o.httpsKey ?? o.tlsKey) === undefined)) {
    throw new Error(
      "The HTTPS listener needs a certificate and a key (management.ssl.certfile and management.ssl.keyfile, or --tls-cert and --tls-key)",
    );
  }
}
