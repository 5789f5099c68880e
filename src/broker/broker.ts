import { type BrokerOptions, defaultNodeName } from "../config.ts";
import type { Logger } from "../log.ts";
import { type User, type UserLimits, Users } from "../auth/users.ts";
import * as management from "./management.ts";
import type { Permission } from "../auth/permissions.ts";
import type { TcpListener } from "../runtime/tcp.ts";
import type { HttpListener, WebSocketEndpoint } from "../runtime/http.ts";
import type { ClientConnection, ProtocolConnection } from "./client_connection.ts";
import { Vhost, type VhostLimits } from "./vhost.ts";
import type { Store } from "../../storage/store.ts";
import { ExchangeTypes } from "./exchange_types.ts";
import { BrokerEvents } from "./events.ts";
import { PolicyValidators } from "./policy.ts";
import type { PluginControl } from "./plugin_status.ts";
import { Alarms } from "./alarms.ts";
import { PartialBodies } from "./partial_bodies.ts";
import { SocketLimit, socketsLimitFor } from "./socket_limit.ts";
import { raiseFileDescriptorLimit } from "../runtime/system.ts";
import { setMemoryPressure } from "./queue.ts";
import { type DeadLetterCounters, GlobalCounters } from "./stats.ts";
import { GlobalParameters } from "./global_parameters.ts";
import { RuntimeParameters, vhostLimitsComponent } from "./parameters.ts";

/**
 * One running broker: its users, vhosts and connections. Created by startBroker() (src/server.ts),
 * which opens the listeners and accepts connections. Everything a connection needs to reach is
 * here; `C` is the connection type (the AMQP layer's, see AmqpBroker in src/connection/channel.ts)
 * and `R` what a direct reply-to name leads to (an AMQP channel), so that this module imports
 * nothing from src/connection.
 */
export class Broker<C extends ClientConnection = ClientConnection, R = unknown> {
  readonly users = new Users();
  readonly vhosts = new Map<string, Vhost>();
  readonly connections = new Set<C>();
  /** Connections of other protocols, served by plugins (MQTT); see PluginContext.clients. */
  readonly protocolConnections = new Set<ProtocolConnection>();
  /**
   * Connections that answered the client's connection.close and wait for it to close the socket:
   * no longer listed or counted, but their sockets are dropped when the broker stops.
   */
  readonly closingConnections = new Set<C>();
  /** Direct reply-to consumers' channels by reply-to suffix (src/connection/direct_reply_to.ts). */
  readonly replyChannels = new Map<string, R>();
  /** Broker-wide message and churn counters (management API, Prometheus). */
  readonly stats = new GlobalCounters();
  /** When the broker was created (uptime). */
  readonly startedAt = Date.now();
  /** The AMQP listeners, opened and stopped by src/server.ts; here for their ports. */
  amqpListener: TcpListener | undefined;
  tlsListener: TcpListener | undefined;
  /** The management API and Prometheus listeners (set by startBroker unless turned off). */
  httpListener: HttpListener | undefined;
  httpsListener: HttpListener | undefined;
  metricsListener: HttpListener | undefined;
  /** Plugins' listeners (MQTT), for /api/overview and the protocol-listener health check. */
  readonly protocolListeners: { protocol: string; bind: string; port: number; tls: boolean }[] = [];
  /** WebSocket endpoints on the management API's port (a plugin's, e.g. MQTT over WebSocket on /ws). */
  readonly webSocketPaths = new Map<string, WebSocketEndpoint>();
  private stopping: Promise<void> | undefined;
  /** Run by stop(): listeners, samplers. */
  private readonly stopHooks: (() => void)[] = [];
  private readonly beforeStopHooks: (() => Promise<void>)[] = [];
  /** More Prometheus exposition text for /metrics (running plugins' metrics). */
  readonly metricsSources: (() => string)[] = [];
  /** The plugins (set by server.ts once they are loaded). */
  plugins: PluginControl | undefined;

  readonly alarms: Alarms;
  /** AMQP sockets allowed by the descriptor limit (src/broker/socket_limit.ts). */
  readonly sockets: SocketLimit;
  /**
   * Bytes held in partially received message bodies on every connection; each 16 MiB of growth
   * has the memory alarm look again at once rather than at its next tick.
   */
  readonly partialBodies = new PartialBodies(() => this.alarms.check());
  /** Per-vhost runtime parameters by component (vhost-limits; plugins register more). */
  readonly parameters = new RuntimeParameters(this);
  readonly globalParameters: GlobalParameters;
  /** Exchange types: the built-in four, and those plugins register. */
  readonly exchangeTypes = new ExchangeTypes();
  /** Policy keys plugins add (federation-upstream, …), checked with the built-in ones. */
  readonly policyValidators = new PolicyValidators();
  /** Changes to exchanges, queues, bindings and policies, for plugins that react to them. */
  readonly events = new BrokerEvents((err) => this.log.error(`event listener failed: ${(err as Error).stack ?? err}`));

  /** Counters of dead-lettered messages, which vhosts (VhostContext) bump. */
  get deadLettered(): DeadLetterCounters {
    return this.stats.deadLettered;
  }

  /**
   * The cluster name: the cluster_name global parameter once set (PUT /api/cluster-name), else
   * rabbitmq.conf's cluster_name, else the node name, as RabbitMQ.
   */
  get clusterName(): string {
    const name = this.globalParameters.get("cluster_name");
    return typeof name === "string" ? name : this.options.clusterName ?? this.alarms.node;
  }

  /** `store` is null for a broker that keeps nothing on disk. */
  constructor(readonly options: BrokerOptions, readonly log: Logger, readonly store: Store | null) {
    this.globalParameters = new GlobalParameters(store);
    this.parameters.register(vhostLimitsComponent(this));
    const fds = raiseFileDescriptorLimit()?.soft ?? 0;
    this.sockets = new SocketLimit(fds, socketsLimitFor(fds), log);
    this.alarms = new Alarms(
      {
        memoryHighWatermark: options.memoryHighWatermark,
        diskFreeLimit: options.diskFreeLimit,
        dataDir: options.dataDir,
        node: options.nodeName ?? defaultNodeName(),
        ...(store?.space ? { store: () => store.space!() } : {}),
      },
      log,
    );
    store?.onFullChange?.(() => this.alarms.check());
    this.alarms.onChange((active) => {
      setMemoryPressure(active.has("memory"));
      store?.diskAlarm?.(active.has("disk"));
      for (const connection of this.connections) connection.onAlarmChange(active);
      for (const connection of this.protocolConnections) connection.onAlarmChange(active);
    });
  }

  /** First boot: the default vhost and user, as RabbitMQ creates them (and stores them). */
  createDefaults(): void {
    const { defaultVhost, defaultUser, defaultPass, defaultUserTags, defaultPermissions } = this.options;
    this.addVhost(defaultVhost);
    this.addUser(defaultUser, defaultPass, defaultUserTags);
    this.setPermissions(defaultUser, defaultVhost, defaultPermissions);
    this.store?.markDefaultsCreated();
  }

  /**
   * A fresh node that loads definitions does not seed the defaults (RabbitMQ's rule), but a
   * default user given explicitly (RABBITMQ_DEFAULT_USER/PASS) is still created, unlike in
   * RabbitMQ: an administrator with full permissions on the default vhost.
   */
  createGivenDefaultUser(): void {
    const { defaultVhost, defaultUser, defaultPass } = this.options;
    if (!this.vhosts.has(defaultVhost)) this.addVhost(defaultVhost);
    this.addUser(defaultUser, defaultPass, this.users.get(defaultUser)?.tags ?? this.options.defaultUserTags);
    if (this.users.permission(defaultUser, defaultVhost) === undefined) {
      this.setPermissions(defaultUser, defaultVhost, this.options.defaultPermissions);
    }
  }

  /** The AMQP port actually bound (differs from options.port when that was 0). */
  get port(): number {
    if (this.options.port === null) {
      throw new Error("Cannot read the broker's port: the plain AMQP listener is off (listeners.tcp = none); the amqps port is tlsPort");
    }
    if (!this.amqpListener) throw new Error("Cannot read the broker's port: it is not listening");
    return this.amqpListener.port;
  }

  /** Whether the plain AMQP listener is on (off with listeners.tcp = none). */
  get hasPlainListener(): boolean {
    return this.amqpListener !== undefined;
  }

  /** The management API port actually bound (differs from options.httpPort when that was 0). */
  get httpPort(): number {
    if (!this.httpListener) throw new Error("Cannot read the broker's HTTP port: the management API is not listening");
    return this.httpListener.port;
  }

  /** The management API's HTTPS port actually bound. */
  get httpsPort(): number {
    if (!this.httpsListener) throw new Error("Cannot read the broker's HTTPS port: the management API has no HTTPS listener");
    return this.httpsListener.port;
  }

  /** The Prometheus port actually bound. */
  get metricsPort(): number {
    if (!this.metricsListener) throw new Error("Cannot read the broker's metrics port: Prometheus metrics are not listening");
    return this.metricsListener.port;
  }

  /** The amqps port actually bound (undefined without a TLS listener). */
  get tlsPort(): number | undefined {
    return this.tlsListener?.port;
  }

  /** The listen address as it appears in connection names. */
  get listenAddress(): string {
    const bind = this.options.listenAddresses.amqp ?? this.options.bind;
    return bind === "::" || bind === "0.0.0.0" ? "127.0.0.1" : bind;
  }

  // ---------------------------------------------------------------- management (management.ts)
  // Persisted through the store; a missing user or vhost, or bad input, throws a ManagementError.

  /** Creates a vhost, or updates the options given for an existing one. */
  addVhost(name: string, opts?: management.VhostOptions): Vhost {
    return management.addVhost(this, name, opts);
  }
  /** Closes the vhost's connections (320) and removes everything in it, stored messages too. */
  /** Resolves once everything of it is gone (at once unless it has many queues; management.ts). */
  deleteVhost(name: string): Promise<void> {
    return management.deleteVhost(this, name);
  }
  setVhostLimits(vhost: string, limits: VhostLimits): void {
    management.setVhostLimits(this, vhost, limits);
  }
  /** Creates or updates a user (undefined password: the user cannot log in with PLAIN/AMQPLAIN). */
  addUser(name: string, password: string | undefined, tags: string[] = []): User {
    return management.addUser(this, name, password, tags);
  }
  addUserWithHash(name: string, hash: string, algorithm: string, tags: string[] = []): User {
    return management.addUserWithHash(this, name, hash, algorithm, tags);
  }
  changePassword(name: string, password: string): void {
    management.changePassword(this, name, password);
  }
  clearPassword(name: string): void {
    management.clearPassword(this, name);
  }
  /** Removes the user and its permissions and closes its connections (320). */
  deleteUser(name: string): void {
    management.deleteUser(this, name);
  }
  setUserTags(name: string, tags: string[]): void {
    management.setUserTags(this, name, tags);
  }
  setUserLimits(name: string, limits: UserLimits): void {
    management.setUserLimits(this, name, limits);
  }
  setPermissions(user: string, vhost: string, permission: Permission): void {
    management.setPermissions(this, user, vhost, permission);
  }
  clearPermissions(user: string, vhost: string): void {
    management.clearPermissions(this, user, vhost);
  }
  setTopicPermissions(user: string, vhost: string, exchange: string, write: string, read: string): void {
    management.setTopicPermissions(this, user, vhost, exchange, write, read);
  }
  /** One exchange's topic permission, or every one of the user's in the vhost. */
  clearTopicPermissions(user: string, vhost: string, exchange?: string): void {
    management.clearTopicPermissions(this, user, vhost, exchange);
  }
  /** Permissions as rows, optionally of one user and/or vhost (users.list() lists users). */
  listPermissions(filter?: { user?: string; vhost?: string }) {
    return this.users.listPermissions(filter);
  }
  listTopicPermissions(filter?: { user?: string; vhost?: string }) {
    return this.users.listTopicPermissions(filter);
  }

  /** Registers something to stop with the broker. */
  onStop(hook: () => void): void {
    this.stopHooks.push(hook);
  }

  /** Registers work to finish before the broker stops listening and closes connections (plugins). */
  beforeStop(hook: () => Promise<void>): void {
    this.beforeStopHooks.push(hook);
  }

  /** A connection was accepted (src/server.ts). */
  connectionOpened(connection: C): void {
    this.connections.add(connection);
    this.stats.connectionsOpened++;
  }

  connectionClosed(connection: C): void {
    if (this.connections.delete(connection)) this.stats.connectionsClosed++;
  }

  /** The connection sent close-ok to the client's close; only its socket remains (until closed). */
  connectionClosing(connection: C): void {
    this.connectionClosed(connection);
    this.closingConnections.add(connection);
  }

  /**
   * Stops listening and closes every connection with 320 CONNECTION_FORCED, waiting briefly for
   * clients to answer close-ok before dropping their sockets.
   */
  stop(reason = "broker forced connection closure with reason 'shutdown'"): Promise<void> {
    this.stopping ??= this.runBeforeStop().then(() =>
      new Promise<void>((resolve) => {
        for (const hook of this.stopHooks.splice(0)) hook();
        this.alarms.stop();
        setMemoryPressure(false); // process-wide: a stopped broker must not leave it on
        for (const connection of this.connections) connection.forceClose(reason);
        for (const connection of this.protocolConnections) connection.terminate(); // their plugins stopped first
        for (const connection of this.closingConnections) connection.terminate();
        const deadline = Math.min(this.options.closeTimeoutMs, 1000);
        const started = Date.now();
        const poll = () => {
          if (this.connections.size === 0 || Date.now() - started >= deadline) {
            for (const connection of this.connections) connection.terminate();
            for (const vhost of this.vhosts.values()) for (const queue of vhost.queues.values()) queue.stopTimers();
            this.store?.close();
            this.log.info("Warren stopped");
            resolve();
          } else setTimeout(poll, 10); // not unref'd: the process stays up until shutdown is done
        };
        poll();
      })
    );
    return this.stopping;
  }

  private async runBeforeStop(): Promise<void> {
    for (const hook of this.beforeStopHooks.splice(0)) {
      try {
        await hook();
      } catch (err) {
        this.log.error(`while stopping: ${(err as Error).message}`);
      }
    }
  }
}
