// Broker options and their defaults (RabbitMQ's where it has one).

export type LogLevel = "debug" | "info" | "warning" | "error" | "none";

export interface BrokerOptions {
  /** AMQP port; 0 picks a free one (logged, and on Broker.port). */
  port: number;
  /** Address to listen on; "::" listens on every IPv4 and IPv6 address. */
  bind: string;
  /** Management HTTP API port (RabbitMQ's 15672); 0 picks a free one, null turns it off. */
  httpPort: number | null;
  /** Prometheus metrics port (RabbitMQ's 15692); 0 picks a free one, null turns it off. */
  metricsPort: number | null;
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
}

export const DEFAULTS: Readonly<BrokerOptions> = {
  port: 5672,
  bind: "::",
  httpPort: 15672,
  metricsPort: 15692,
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
  maxMessageSize: 128 * 1024 * 1024,
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
  return out;
}

export function resolveOptions(...layers: Partial<BrokerOptions>[]): BrokerOptions {
  return Object.assign({}, DEFAULTS, ...layers) as BrokerOptions;
}
