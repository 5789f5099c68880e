// `warren [server] [flags]`: flags and environment variables → BrokerOptions.
import { parseArgs } from "node:util";
import { type BrokerOptions, type LogLevel, optionsFromEnv } from "../config.ts";
import { LOG_LEVELS } from "../log.ts";

export const SERVER_USAGE = `Usage: warren [server] [options]      run the broker
       warren ctl <command> [args]     manage a running broker, rabbitmqctl-style
                                       (warren ctl help lists the commands)
       warren --version                print the version

Options:
  --config FILE       read settings from a warren.conf (rabbitmq.conf format)
  --port N            AMQP port (default 5672; 0 picks a free port; none: no plain listener)
  --bind ADDR         listen address (default ::, every interface)
  --http-port N       management HTTP API port (default 15672; 0 picks a free port; none: off)
  --https-port N      management API over HTTPS (with --tls-cert and --tls-key; alone, it turns plain HTTP off)
  --metrics-port N    Prometheus metrics port (default 15692; 0 picks a free port; none: off)
  --definitions FILE  import a definitions JSON file at boot
  --data-dir DIR      where durable state lives (default ./warren-data)
  --log-level LEVEL   debug | info | warning | error | none (default info)
  --no-fsync          commits survive a process crash, not a power cut (faster)
  --no-reclaim        keep space freed by acks in the store file instead of giving it back (benchmarks)
  --busy-wait-us N    keep polling sockets N µs after each read instead of sleeping (default 0: off);
                      faster request/reply round trips for more CPU (docs/performance.md)
  --writer-thread     the store's commits run on a second thread: more persistent throughput for
                      many publishers whose consumers lag, for more memory (docs/storage.md; Bun only)
  --memory-high-watermark N   memory alarm: fraction of the memory limit (<= 1, default 0.4) or bytes
  --disk-free-limit N         disk alarm below N bytes free in the data dir (default 50000000)
  --max-message-size N        largest message body accepted, in bytes (default 134217728)
  --mqtt-port N|none  MQTT listener (default 1883; the rabbitmq_mqtt plugin)
  --tls-port N        amqps listener (with --tls-cert and --tls-key; 0 picks a free port)
  --tls-cert FILE     server certificate (PEM, may hold the chain)
  --tls-key FILE      server private key (PEM)
  --tls-ca FILE       CA certificates that sign client certificates (PEM)
  --tls-verify-peer   ask clients for a certificate and refuse one that does not verify
  --tls-fail-if-no-peer-cert   with --tls-verify-peer, also refuse clients without one
  --plugins A,B       run exactly these plugins (and what they require); "" runs none
  --enabled-plugins-file FILE  RabbitMQ's enabled_plugins file (default <data-dir>/enabled_plugins)
  --plugins-dir DIR   load third-party plugins (.js/.ts modules) from DIR
  -h, --help          show this help
  -V, --version       print the version

Environment (as the RabbitMQ image):
  RABBITMQ_DEFAULT_USER, RABBITMQ_DEFAULT_PASS, RABBITMQ_DEFAULT_VHOST,
  RABBITMQ_DEFINITIONS_FILE, RABBITMQ_CONFIG_FILE (as --config; ".conf" may be left out),
  RABBITMQ_ENABLED_PLUGINS_FILE, RABBITMQ_PLUGINS_DIR, RABBITMQ_NODENAME (default
  rabbit@<short hostname>), RABBITMQ_NODE_PORT (as --port), RABBITMQ_NODE_IP_ADDRESS (the AMQP
  listener's address), RABBITMQ_MNESIA_DIR (as --data-dir; or RABBITMQ_MNESIA_BASE/<node name>);
  other RABBITMQ_* variables are ignored with a warning

Precedence: defaults < config file < environment < flags.`;

export class UsageError extends Error {}

export function parseServerArgs(argv: string[], env: Record<string, string | undefined>): Partial<BrokerOptions> | "help" | "version" {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: "string" },
      port: { type: "string" },
      bind: { type: "string" },
      "http-port": { type: "string" },
      "https-port": { type: "string" },
      "metrics-port": { type: "string" },
      definitions: { type: "string" },
      "data-dir": { type: "string" },
      "log-level": { type: "string" },
      "no-fsync": { type: "boolean" },
      "no-reclaim": { type: "boolean" },
      "busy-wait-us": { type: "string" },
      "writer-thread": { type: "boolean" },
      "memory-high-watermark": { type: "string" },
      "disk-free-limit": { type: "string" },
      "max-message-size": { type: "string" },
      "tls-port": { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "tls-ca": { type: "string" },
      "tls-verify-peer": { type: "boolean" },
      "tls-fail-if-no-peer-cert": { type: "boolean" },
      plugins: { type: "string" },
      "enabled-plugins-file": { type: "string" },
      "plugins-dir": { type: "string" },
      "mqtt-port": { type: "string" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "V" },
    },
  });
  if (values.help) return "help";
  if (values.version) return "version";
  if (positionals.length > 0) throw new UsageError(`Unexpected argument "${positionals[0]}"`);
  const options: Partial<BrokerOptions> = optionsFromEnv(env);
  if (values.config !== undefined) options.configFile = values.config;
  if (values.port !== undefined) options.port = parsePortOrNone(values.port, "--port");
  if (values.bind !== undefined) {
    options.bind = values.bind;
    // The flag wins over RABBITMQ_NODE_IP_ADDRESS too.
    if (options.listenAddresses?.amqp !== undefined) delete options.listenAddresses.amqp;
  }
  if (values["http-port"] !== undefined) options.httpPort = parsePortOrNone(values["http-port"], "--http-port");
  if (values["https-port"] !== undefined) options.httpsPort = parsePortOrNone(values["https-port"], "--https-port");
  if (values["metrics-port"] !== undefined) options.metricsPort = parsePortOrNone(values["metrics-port"], "--metrics-port");
  if (values.definitions !== undefined) options.definitionsFile = values.definitions;
  if (values["data-dir"] !== undefined) options.dataDir = values["data-dir"];
  if (values["no-fsync"]) options.fsync = false;
  if (values["no-reclaim"]) options.storeReclaim = false;
  if (values["busy-wait-us"] !== undefined) options.busyWaitUs = parseBusyWait(values["busy-wait-us"]);
  if (values["writer-thread"]) options.writerThread = true;
  if (values.plugins !== undefined) options.plugins = values.plugins.split(",").map((p) => p.trim()).filter((p) => p !== "");
  if (values["enabled-plugins-file"] !== undefined) options.enabledPluginsFile = values["enabled-plugins-file"];
  if (values["plugins-dir"] !== undefined) options.pluginsDir = values["plugins-dir"];
  if (values["mqtt-port"] !== undefined) {
    // The MQTT plugin's listener (mqtt.listeners.tcp.default in warren.conf).
    const port = parsePortOrNone(values["mqtt-port"], "--mqtt-port");
    options.pluginSettings = { ...options.pluginSettings, "mqtt.listeners.tcp.default": port === null ? "none" : String(port) };
  }
  if (values["memory-high-watermark"] !== undefined) {
    options.memoryHighWatermark = parsePositive(values["memory-high-watermark"], "--memory-high-watermark");
  }
  if (values["disk-free-limit"] !== undefined) options.diskFreeLimit = parsePositive(values["disk-free-limit"], "--disk-free-limit");
  if (values["max-message-size"] !== undefined) options.maxMessageSize = parsePositive(values["max-message-size"], "--max-message-size");
  // Whether a TLS listener has its certificate and key is checked by startBroker: they may come from the config file.
  if (values["tls-port"] !== undefined) options.tlsPort = parsePort(values["tls-port"], "--tls-port");
  if (values["tls-cert"] !== undefined) options.tlsCert = values["tls-cert"];
  if (values["tls-key"] !== undefined) options.tlsKey = values["tls-key"];
  if (values["tls-ca"] !== undefined) options.tlsCa = values["tls-ca"];
  if (values["tls-verify-peer"]) options.tlsVerifyPeer = true;
  if (values["tls-fail-if-no-peer-cert"]) options.tlsFailIfNoPeerCert = true;
  if (values["log-level"] !== undefined) {
    const level = values["log-level"] as LogLevel;
    if (!LOG_LEVELS.includes(level)) {
      throw new UsageError(`Invalid --log-level "${values["log-level"]}": expected one of ${LOG_LEVELS.join(", ")}`);
    }
    options.logLevel = level;
  }
  return options;
}

function parsePositive(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`Invalid ${flag} "${text}": expected a positive number`);
  return value;
}

/** Microseconds of busy waiting: 0 (off) up to 10 ms, past which it is only wasted CPU. */
function parseBusyWait(text: string): number {
  const us = Number(text);
  if (!/^\d+$/.test(text) || us > MAX_BUSY_WAIT_US) {
    throw new UsageError(`Invalid --busy-wait-us "${text}": expected microseconds from 0 (off) to ${MAX_BUSY_WAIT_US}`);
  }
  return us;
}

const MAX_BUSY_WAIT_US = 10_000;

function parsePortOrNone(text: string, flag: string): number | null {
  if (text === "none") return null;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new UsageError(`Invalid ${flag} "${text}": expected a port number 0-65535 or none`);
  return port;
}

function parsePort(text: string, flag: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new UsageError(`Invalid ${flag} "${text}": expected a port number 0-65535`);
  return port;
}
