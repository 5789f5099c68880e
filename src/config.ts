// Broker options and their defaults (RabbitMQ's where it has one).

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
  /** --plugins a,b: exactly these plugins (and their dependencies) run; null: not given. */
  plugins: string[] | null;
  /**
   * RabbitMQ's enabled_plugins file (--enabled-plugins-file, RABBITMQ_ENABLED_PLUGINS_FILE);
   * null: <dataDir>/enabled_plugins, used only if it exists (else every plugin runs).
   */
  enabledPluginsFile: string | null;
  /** Third-party plugins: .js/.ts modules in this directory (--plugins-dir, RABBITMQ_PLUGINS_DIR). */
  pluginsDir: string | null;
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
  plugins: null,
  enabledPluginsFile: null,
  pluginsDir: null,
  maxMessageSize: 128 * 1024 * 1024,
  httpMaxBodySize: 20_000_000,
  fsync: true,
  memoryHighWatermark: 0.4,
  diskFreeLimit: 50_000_000,
};

/** RabbitMQ image environment variables that override the defaults. */
export function optionsFromEnv(env: Record<string, string | undefined>): Partial<BrokerOptions> {
  const out: Partial<BrokerOptions> = {};
  if (env.RABBITMQ_DEFAULT_USER) out.defaultUser = env.RABBITMQ_DEFAULT_USER;
  if (env.RABBITMQ_DEFAULT_PASS !== undefined) out.defaultPass = env.RABBITMQ_DEFAULT_PASS;
  if (env.RABBITMQ_DEFAULT_VHOST) out.defaultVhost = env.RABBITMQ_DEFAULT_VHOST;
  if (env.RABBITMQ_DEFINITIONS_FILE) out.definitionsFile = env.RABBITMQ_DEFINITIONS_FILE;
  if (env.RABBITMQ_CONFIG_FILE) out.configFile = env.RABBITMQ_CONFIG_FILE;
  if (env.RABBITMQ_ENABLED_PLUGINS_FILE) out.enabledPluginsFile = env.RABBITMQ_ENABLED_PLUGINS_FILE;
  if (env.RABBITMQ_PLUGINS_DIR) out.pluginsDir = env.RABBITMQ_PLUGINS_DIR;
  return out;
}

/**
 * Defaults, then each layer over the one before (config file, then environment and flags).
 * An HTTPS port with no HTTP port set in any layer turns plain HTTP off, as RabbitMQ does.
 */
export function resolveOptions(...layers: Partial<BrokerOptions>[]): BrokerOptions {
  const set: Partial<BrokerOptions> = Object.assign({}, ...layers);
  const resolved = Object.assign({}, DEFAULTS, set) as BrokerOptions;
  if (set.httpsPort != null && set.httpPort === undefined) resolved.httpPort = null;
  return resolved;
}

/** Settings that cannot work together; throws a message naming them. */
export function checkOptions(o: BrokerOptions): void {
  if (o.port === null && o.tlsPort === undefined) {
    throw new Error("No AMQP listener: the plain listener is off (listeners.tcp = none) and no TLS listener is set (listeners.ssl.default or --tls-port)");
  }
  if (o.tlsPort !== undefined && (o.tlsCert === undefined || o.tlsKey === undefined)) {
    throw new Error("The TLS listener needs a certificate and a key (--tls-cert and --tls-key, or ssl_options.certfile and ssl_options.keyfile)");
  }
  if (o.httpsPort !== null && ((o.httpsCert ?? o.tlsCert) === undefined || (o.httpsKey ?? o.tlsKey) === undefined)) {
    throw new Error("The HTTPS listener needs a certificate and a key (management.ssl.certfile and management.ssl.keyfile, or --tls-cert and --tls-key)");
  }
}
