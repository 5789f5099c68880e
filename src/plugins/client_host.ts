// What a plugin that serves clients of another protocol (MQTT) gets of the broker, beyond the
// vhosts it routes through: its own listeners (TCP, or TLS with the broker's amqps settings),
// logins with the AMQP rules (credentials, loopback users, vhost access, connection limits), a
// place in /api/connections, and the store's group commit for acknowledgements that must wait
// for durability. Queues, bindings and publishes go through the Vhost and broker/publish.ts, as
// the AMQP handlers do.
import type { Broker } from "../broker/broker.ts";
import type { ProtocolConnection } from "../broker/client_connection.ts";
import type { PublishContext } from "../broker/publish.ts";
import type { Vhost } from "../broker/vhost.ts";
import type { User } from "../auth/users.ts";
import { listenTcp, type TcpHandler, type TcpListener, type TcpSocket } from "../runtime/tcp.ts";
import { listenTls } from "../runtime/tls.ts";
import { listening } from "../runtime/listen_error.ts";
import { listenHttp } from "../runtime/http.ts";

export interface ClientListenOptions {
  /** For the log and errors: "MQTT", "MQTT over TLS". */
  readonly name: string;
  /** As /api/overview lists listeners and the protocol-listener health check names them: "mqtt", "mqtt/ssl". */
  readonly protocol: string;
  /** Address to bind (default: the broker's --bind). */
  readonly bind?: string;
  readonly port: number;
  /** TLS with the amqps certificate, key, CA and peer-verification settings. */
  readonly tls?: boolean;
}

export interface ClientLogin {
  readonly username: string;
  /** undefined: a client certificate login (the user is the certificate's CN, no password). */
  readonly password: string | undefined;
  readonly vhost: string;
  readonly peerAddress: string;
}

/** credentials: unknown user or bad password; vhost: no such vhost; refused: loopback, vhost access, limits. */
export type ClientLoginResult =
  | { ok: true; user: User; vhost: Vhost }
  | { ok: false; kind: "credentials" | "vhost" | "refused"; reason: string };

export interface ClientHost {
  /** Settings given under the plugin's keys (warren.conf `mqtt.*`, `--mqtt-port`), as written. */
  readonly settings: Readonly<Record<string, string>>;
  /**
   * Opens a listener; each accepted socket counts against the broker's socket limit (over it the
   * socket is dropped before a byte is read). Throws a clear error when the port is taken.
   */
  listen(options: ClientListenOptions, accept: (socket: TcpSocket) => TcpHandler): TcpListener;
  /**
   * Accepts WebSockets on `path` of the management API's port(s) (HTTP and HTTPS), offering
   * `protocol` as the subprotocol; binary messages are the byte stream. Returns the function
   * that removes the endpoint. Throws when the path is taken.
   */
  webSocket(path: string, protocol: string, accept: (socket: TcpSocket) => TcpHandler): () => void;
  /**
   * An HTTP listener of its own that accepts WebSockets on `path` only (anything else is 404),
   * as RabbitMQ's Web MQTT listens on 15675; listed, counted and limited as `listen`'s sockets.
   */
  webSocketListener(
    options: ClientListenOptions,
    path: string,
    protocol: string,
    accept: (socket: TcpSocket) => TcpHandler,
  ): TcpListener;
  /** Checks a login as the AMQP handshake does (counted in the auth_attempts metrics). */
  login(login: ClientLogin): ClientLoginResult;
  /** The connection is open: listed in /api/connections, closed with its user or vhost. */
  opened(connection: ProtocolConnection): void;
  closed(connection: ProtocolConnection): void;
  /** Runs `fn` once everything written so far is durable (at once without a store). */
  afterCommit(fn: () => void): void;
  /** A publisher into `vhost`, counted in the broker's totals (reuse it per connection). */
  publisher(vhost: Vhost): PublishContext;
}

const REFUSED: TcpHandler = { onData() {}, onDrain() {}, onClose() {} };

/** A plugin's listener, in /api/overview's listeners until it stops. */
function listed(broker: Broker, entry: Broker["protocolListeners"][number], stop: () => void): TcpListener {
  broker.protocolListeners.push(entry);
  return {
    port: entry.port,
    stop() {
      stop();
      const at = broker.protocolListeners.indexOf(entry);
      if (at >= 0) broker.protocolListeners.splice(at, 1);
    },
  };
}

export function createClientHost(broker: Broker): ClientHost {
  const o = broker.options;
  return {
    settings: o.pluginSettings,
    listen(options, accept) {
      const bind = options.bind ?? o.bind;
      const admit = admitted(broker, accept);
      let listener: TcpListener;
      if (!options.tls) listener = listening(options.name, bind, options.port, () => listenTcp(bind, options.port, admit));
      else {
        if (o.tlsCert === undefined || o.tlsKey === undefined) {
          throw new Error(`${options.name} needs the TLS certificate and key (--tls-cert, --tls-key, ssl_options.*)`);
        }
        const files = { cert: o.tlsCert, key: o.tlsKey, ca: o.tlsCa, verifyPeer: o.tlsVerifyPeer, failIfNoPeerCert: o.tlsFailIfNoPeerCert };
        listener = listening(options.name, bind, options.port, () => listenTls(bind, options.port, files, admit));
      }
      return listed(broker, { protocol: options.protocol, bind, port: listener.port, tls: options.tls === true }, () => listener.stop());
    },
    webSocketListener(options, path, protocol, accept) {
      const bind = options.bind ?? o.bind;
      const endpoints = new Map([[path, { protocol, accept: admitted(broker, accept) }]]);
      const notFound = () => new Response("Not Found", { status: 404 });
      const http = listening(options.name, bind, options.port, () => listenHttp(bind, options.port, notFound, undefined, endpoints));
      return listed(broker, { protocol: options.protocol, bind, port: http.port, tls: false }, () => http.stop());
    },
    webSocket(path, protocol, accept) {
      if (broker.webSocketPaths.has(path)) throw new Error(`the WebSocket path ${path} is taken`);
      const endpoint = { protocol, accept: admitted(broker, accept) };
      broker.webSocketPaths.set(path, endpoint);
      return () => {
        if (broker.webSocketPaths.get(path) === endpoint) broker.webSocketPaths.delete(path);
      };
    },
    login(login) {
      const result = checkLogin(broker, login);
      if (result.ok) broker.stats.authSucceeded++;
      else broker.stats.authFailed++;
      return result;
    },
    opened(connection) {
      broker.protocolConnections.add(connection);
      broker.stats.connectionsOpened++;
    },
    closed(connection) {
      if (broker.protocolConnections.delete(connection)) broker.stats.connectionsClosed++;
    },
    afterCommit(fn) {
      if (broker.store) broker.store.afterCommit(fn);
      else fn();
    },
    publisher(vhost) {
      return { scope: vhost, stats: broker.stats, confirm: true, queues: new Set() };
    },
  };
}

/** `accept` behind the socket limit: over it, the socket is dropped before a byte is read. */
function admitted(broker: Broker, accept: (socket: TcpSocket) => TcpHandler): (socket: TcpSocket) => TcpHandler {
  return (socket) => {
    const open = broker.connections.size + broker.closingConnections.size + broker.protocolConnections.size;
    if (!broker.sockets.admit(open, `${socket.remoteAddress}:${socket.remotePort}`)) {
      socket.terminate();
      return REFUSED;
    }
    return accept(socket);
  };
}

function checkLogin(broker: Broker, login: ClientLogin): ClientLoginResult {
  const { username, password } = login;
  let user: User | undefined;
  if (password === undefined) {
    user = broker.users.get(username);
    if (!user) return { ok: false, kind: "credentials", reason: `user '${username}' - invalid credentials` };
  } else {
    const result = broker.users.login(username, password);
    if (!result.ok) return { ok: false, kind: "credentials", reason: result.reason };
    user = result.user;
  }
  if (broker.options.loopbackUsers.includes(user.name) && !isLoopback(login.peerAddress)) {
    return { ok: false, kind: "refused", reason: `user '${user.name}' can only connect via localhost` };
  }
  const vhost = broker.vhosts.get(login.vhost);
  if (!vhost) return { ok: false, kind: "vhost", reason: `vhost ${login.vhost} not found` };
  const all = [...broker.connections, ...broker.protocolConnections];
  const vhostLimit = vhost.limits["max-connections"];
  if (vhostLimit !== undefined && vhostLimit >= 0 && all.filter((c) => c.vhost === vhost).length >= vhostLimit) {
    return {
      ok: false,
      kind: "refused",
      reason: `access to vhost '${vhost.name}' refused for user '${user.name}': connection limit (${vhostLimit}) is reached`,
    };
  }
  const userLimit = user.limits["max-connections"];
  if (userLimit !== undefined && userLimit >= 0 && all.filter((c) => c.user?.name === user.name).length >= userLimit) {
    return {
      ok: false,
      kind: "refused",
      reason: `connection refused for user '${user.name}': user connection limit (${userLimit}) is reached`,
    };
  }
  if (!broker.users.permission(user.name, vhost.name)) {
    return { ok: false, kind: "refused", reason: `access to vhost '${vhost.name}' refused for user '${user.name}'` };
  }
  return { ok: true, user, vhost };
}

function isLoopback(address: string): boolean {
  const a = address.startsWith("::ffff:") ? address.slice(7) : address;
  return a === "::1" || a.startsWith("127.");
}
