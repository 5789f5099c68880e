import { readFileSync } from "node:fs";
import { type BrokerOptions, checkOptions, DEFAULTS, resolveOptions } from "./config.ts";
import { loadConfigFile, type LoadedConfig } from "./config_file.ts";
import { createLogger, type Logger } from "./log.ts";
import { Broker } from "./broker/broker.ts";
import { acceptConnection } from "./connection/accept.ts";
import type { AmqpBroker } from "./connection/channel.ts";
import { listenTcp, type TcpHandler, type TcpSocket } from "./runtime/tcp.ts";
import { fileHandlesFor } from "./broker/socket_limit.ts";
import { listenTls } from "./runtime/tls.ts";
import { listening } from "./runtime/listen_error.ts";
import { requestBusyWait } from "./runtime/busy_wait.ts";
import { availableParallelism } from "node:os";
import { startConsumerTimeout } from "./connection/consumer_timeout.ts";
import { recover } from "./broker/recovery.ts";
import { importDefinitions } from "./broker/definitions.ts";
import { startHttpListeners } from "./http/listeners.ts";
import { SqliteStore } from "../storage/sqlite_store.ts";
import { VERSION } from "./version.ts";
import { BUSY_WAIT_SUPPORTED, RUNTIME_VERSION } from "./runtime/platform.ts";
import { THREADS_SUPPORTED } from "./runtime/thread.ts";
import { loadPlugins } from "./plugins/boot.ts";
import type { PluginManager } from "./plugins/manager.ts";

export interface StartOptions extends Partial<BrokerOptions> {
  /** Where log lines go (default: stdout at options.logLevel). */
  logger?: Logger;
  /** Lines to log as warnings at boot (the executable's ignored environment variables). */
  warnings?: string[];
}

/**
 * Starts a broker and resolves once every listener accepts connections. With `configFile`,
 * that file's settings lie beneath the options given (which carry the environment and flags).
 */
export async function startBroker(options: StartOptions = {}): Promise<AmqpBroker> {
  const { logger, warnings: startWarnings = [], ...rest } = options;
  const config: LoadedConfig | null = rest.configFile != null ? loadConfigFile(rest.configFile) : null;
  const resolved = resolveOptions(config?.options ?? {}, rest);
  checkOptions(resolved);
  const log = logger ?? createLogger(resolved.logLevel, undefined, resolved.logFormat);
  const started = performance.now();
  log.info(`Starting Warren ${VERSION} on ${RUNTIME_VERSION}`);
  log.info(`Config file(s): ${config?.files.join(", ") ?? "(none)"}`);
  for (const warning of [...(config?.warnings ?? []), ...startWarnings]) log.warning(warning);
  log.info(`data directory: ${resolved.dataDir}`);
  if (resolved.writerThread && !THREADS_SUPPORTED) {
    log.warning(`the store's writer thread (--writer-thread) left off: ${RUNTIME_VERSION} does not support it`);
  } else if (resolved.writerThread) log.info("the store's commits run on a writer thread (--writer-thread)");
  const store = SqliteStore.open(resolved.dataDir, {
    fsync: resolved.fsync,
    log,
    reclaim: resolved.storeReclaim ? {} : false,
    diskReserveBytes: resolved.diskReserveBytes,
    writerThread: resolved.writerThread,
  });
  const broker: AmqpBroker = new Broker(resolved, log, store);
  let plugins: PluginManager;
  try {
    // Plugins register their exchange types and parameter components before recovery, so what
    // is stored of them comes back.
    plugins = await loadPlugins(broker);
    plugins.registerEnabled();
    broker.plugins = plugins;
    const fresh = store.isFresh;
    if (!fresh) recover(broker, store);
    else if (resolved.definitionsFile === null) {
      log.info("Will seed default virtual host and user...");
      broker.createDefaults();
    } else log.info("Will not seed default virtual host and user: have definitions to load...");
    if (resolved.definitionsFile !== null) {
      await loadDefinitionsFile(broker, resolved.definitionsFile);
      if (fresh && defaultUserGiven(resolved)) {
        log.info(`Creating the given default user '${resolved.defaultUser}' as well`);
        broker.createGivenDefaultUser();
      }
      if (fresh) store.markDefaultsCreated(); // initialised: the next boot recovers what is stored
    }
    broker.globalParameters.ensureClusterId();
    // rabbit_nodes:seed_user_provided_cluster_name: a configured cluster_name becomes the
    // cluster_name global parameter at every boot (global parameters, definitions, overview).
    if (resolved.clusterName !== undefined) {
      log.info(`Setting cluster name to '${resolved.clusterName}' as configured`);
      broker.globalParameters.set("cluster_name", resolved.clusterName);
    }
    store.commit();
  } catch (err) {
    store.close();
    throw err;
  }
  let running: string[];
  try {
    broker.beforeStop(() => plugins.stopAll());
    const startedPlugins = await plugins.startEnabled();
    listen(broker);
    plugins.listening();
    running = [...startHttpListeners(broker, plugins.httpRoutes()), ...startedPlugins];
  } catch (err) {
    await broker.stop();
    throw err;
  }
  const list = running.length > 0 ? ` (${running.join(", ")})` : "";
  log.info(`Server startup complete; ${running.length} plugins started${list}. Ready in ${(performance.now() - started).toFixed(1)} ms`);
  return broker;
}

/**
 * --busy-wait-us: the loop polls after socket reads instead of sleeping. With one CPU the polling
 * would take the time the clients need to answer, so it stays off there.
 */
function startBusyWait(broker: AmqpBroker): void {
  const us = broker.options.busyWaitUs;
  if (us === 0) return;
  if (!BUSY_WAIT_SUPPORTED) {
    broker.log.warning(`busy waiting (--busy-wait-us ${us}) left off: ${RUNTIME_VERSION} does not support it`);
    return;
  }
  if (availableParallelism() < 2) {
    broker.log.warning(`busy waiting (--busy-wait-us ${us}) left off: this machine has one CPU`);
    return;
  }
  broker.onStop(requestBusyWait(us));
  broker.log.info(`busy waiting ${us} µs after each socket read (--busy-wait-us)`);
}

/** The handler of a socket refused over the socket limit (already terminated). */
const REFUSED: TcpHandler = { onData() {}, onDrain() {}, onClose() {} };

/**
 * Opens the AMQP listeners (plain and TLS) and accepts connections on them; the broker stops
 * them (its stop hooks) before it closes the connections.
 */
function listen(broker: AmqpBroker): void {
  const accept = (socket: TcpSocket): TcpHandler => {
    // Over the socket limit: closed at once, before a byte is read (descriptors stay free).
    // Sockets still open after close-ok (waiting for the client to close) count too.
    if (!broker.sockets.admit(broker.connections.size + broker.closingConnections.size, `${socket.remoteAddress}:${socket.remotePort}`)) {
      socket.terminate();
      return REFUSED;
    }
    return acceptConnection(broker, socket);
  };
  const o = broker.options;
  // As file_handle_cache logs it at boot.
  broker.log.info(`Limiting to approx ${fileHandlesFor(broker.sockets.fdLimit)} file handles (${broker.sockets.total} sockets)`);
  if (o.port === null && o.tlsPort === undefined) throw new Error("No AMQP listener: the plain listener is off and no TLS listener is set");
  if (o.port !== null) {
    const bind = o.listenAddresses.amqp ?? o.bind;
    const listener = listening("AMQP", bind, o.port, () => listenTcp(bind, o.port!, accept));
    broker.amqpListener = listener;
    broker.onStop(() => listener.stop());
    broker.log.info(`started TCP listener on ${formatBind(bind)}:${listener.port}`);
  }
  if (o.tlsPort !== undefined) {
    if (o.tlsCert === undefined || o.tlsKey === undefined) {
      throw new Error("A TLS listener needs a certificate and a key (--tls-cert, --tls-key)");
    }
    const bind = o.listenAddresses.amqps ?? o.bind;
    const files = { cert: o.tlsCert, key: o.tlsKey, ca: o.tlsCa, verifyPeer: o.tlsVerifyPeer, failIfNoPeerCert: o.tlsFailIfNoPeerCert };
    const listener = listening("AMQP over TLS (amqps)", bind, o.tlsPort, () => listenTls(bind, o.tlsPort!, files, accept));
    broker.tlsListener = listener;
    broker.onStop(() => listener.stop());
    broker.log.info(`started TLS (SSL) listener on ${formatBind(bind)}:${listener.port}`);
  }
  listenWebSocket(broker, accept);
  startBusyWait(broker);
  broker.alarms.start();
  const consumerTimeout = startConsumerTimeout(broker);
  if (consumerTimeout) broker.onStop(() => consumerTimeout.cancel());
}

/**
 * AMQP 0-9-1 over WebSocket (web_amqp091.ws_path, /ws/amqp by default) on the management API's
 * port(s), as LavinMQ serves it and CloudAMQP's amqp-client connects from browsers: binary messages
 * carry the protocol's bytes, and each accepted WebSocket is an AMQP connection like a socket.
 */
function listenWebSocket(broker: AmqpBroker, accept: (socket: TcpSocket) => TcpHandler): void {
  const path = broker.options.amqpWebSocketPath;
  if (path === null || (broker.options.httpPort === null && broker.options.httpsPort === null)) return;
  if (broker.webSocketPaths.has(path)) throw new Error(`web_amqp091.ws_path: the WebSocket path ${path} is taken (web_mqtt.ws_path?)`);
  broker.webSocketPaths.set(path, { protocol: "amqp", accept });
  broker.onStop(() => void broker.webSocketPaths.delete(path));
  broker.log.info(`AMQP 0-9-1 over WebSocket on the management API's port, path ${path}`);
}

function formatBind(bind: string): string {
  return bind.includes(":") ? `[${bind}]` : bind;
}

/** Whether the default user or password differs from guest/guest (set by environment or config). */
function defaultUserGiven(options: BrokerOptions): boolean {
  return options.defaultUser !== DEFAULTS.defaultUser || options.defaultPass !== DEFAULTS.defaultPass;
}

/** As RabbitMQ's load_definitions: applied at every boot (idempotent); a bad file stops the boot. */
async function loadDefinitionsFile(broker: Broker, path: string): Promise<void> {
  broker.log.info(`Applying definitions from file at '${path}'`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`Cannot read definitions file '${path}': ${(err as Error).message}`);
  }
  try {
    await importDefinitions(broker, parsed, undefined, (line) => broker.log.info(line));
  } catch (err) {
    throw new Error(`Definitions file '${path}' was not imported: ${(err as Error).message}`);
  }
  broker.log.info(`Imported definitions from '${path}'`);
}
