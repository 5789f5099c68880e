// Channel 0: the handshake (start, secure, tune, open) and connection close.
import { accessRefused, AmqpError, commandInvalid, notAllowed, syntaxError } from "../../amqp/errors.ts";
import { Reader } from "../../amqp/reader.ts";
import { FRAME_MIN_SIZE, ReplyCode } from "../../amqp/spec/constants.gen.ts";
import { type AmqpMethod, type ConnectionStartOk, MethodId } from "../../amqp/spec/methods.gen.ts";
import { decodeTable, type FieldTable, Typed } from "../../amqp/table.ts";
import { decodeUtf8, encodeUtf8 } from "../../amqp/utf8.ts";
import type { User } from "../../auth/users.ts";
import type { AmqpConnection as Connection } from "../channel.ts";
import { VERSION } from "../../version.ts";
import { RUNTIME_VERSION } from "../../runtime/platform.ts";

const MECHANISMS = ["PLAIN", "AMQPLAIN"];
/** EXTERNAL (rabbitmq_auth_mechanism_ssl) is offered on TLS connections with a verified client certificate. */
const EXTERNAL = "EXTERNAL";

function mechanisms(connection: Connection): string[] {
  return connection.socket.tls?.peerCommonName() !== undefined ? [...MECHANISMS, EXTERNAL] : MECHANISMS;
}

/** RabbitMQ's capabilities table, so clients enable the extensions they know. */
const CAPABILITIES: FieldTable = {
  publisher_confirms: true,
  exchange_exchange_bindings: true,
  "basic.nack": true,
  consumer_cancel_notify: true,
  "connection.blocked": true,
  consumer_priorities: true,
  authentication_failure_close: true,
  per_consumer_qos: true,
  direct_reply_to: true,
};

function serverProperties(connection: Connection): FieldTable {
  return {
    capabilities: CAPABILITIES,
    cluster_name: new Typed("S", connection.broker.clusterName),
    copyright: "Copyright (c) the Warren authors",
    information: "Licensed under the MIT license. See https://github.com/warren-broker/warren",
    platform: RUNTIME_VERSION,
    product: "Warren",
    version: VERSION,
    // The operator's (server_properties.<key>; config_keys.ts refuses capabilities).
    ...connection.broker.options.serverProperties,
  };
}

export function sendStart(connection: Connection): void {
  connection.state = "starting";
  connection.send(0, {
    id: MethodId.ConnectionStart,
    versionMajor: 0,
    versionMinor: 9,
    serverProperties: serverProperties(connection),
    mechanisms: encodeUtf8(mechanisms(connection).join(" ")),
    locales: encodeUtf8("en_US"),
  });
}

export function handleConnectionMethod(connection: Connection, method: AmqpMethod): void {
  const state = connection.state;
  switch (method.id) {
    case MethodId.ConnectionStartOk:
      if (state === "starting") return startOk(connection, method);
      break;
    case MethodId.ConnectionSecureOk:
      // Neither PLAIN nor AMQPLAIN sends a challenge, so secure-ok is never expected.
      break;
    case MethodId.ConnectionTuneOk:
      if (state === "tuning") return tuneOk(connection, method.frameMax, method.channelMax, method.heartbeat);
      break;
    case MethodId.ConnectionOpen:
      if (state === "opening") return open(connection, method.virtualHost);
      break;
    case MethodId.ConnectionClose:
      // Valid once open; during the handshake it is an unexpected method, as in RabbitMQ.
      if (state === "running") return connection.onClientClose();
      if (state === "closing") return connection.onClientClose();
      break;
    case MethodId.ConnectionCloseOk:
      if (state === "closing") return connection.closeSocket();
      break;
    case MethodId.ConnectionUpdateSecret:
      if (state === "running") return updateSecret(connection, method.reason);
      break;
  }
  if (state === "closing") return; // RabbitMQ ignores other channel-0 methods while closing
  throw new AmqpError(ReplyCode.CHANNEL_ERROR, `unexpected method in connection state ${state}`);
}

/**
 * connection.update-secret, as RabbitMQ's internal backend answers it: the backend keeps no
 * credential state, so the new secret itself is not checked; the user is looked up again and
 * must still exist and have access to the connection's vhost. The connection stays open.
 */
function updateSecret(connection: Connection, reason: string): void {
  const broker = connection.broker;
  const name = connection.user!.name;
  const vhost = connection.vhost!.name;
  broker.log.debug(`connection ${connection.name} of user '${name}': asked to update secret, reason: ${reason}`);
  const user = broker.users.get(name);
  if (!user) throw notAllowed("New secret was refused by one of the backends");
  if (!broker.users.permission(name, vhost)) throw notAllowed(`access to vhost '${vhost}' refused for user '${name}'`);
  connection.user = user;
  connection.send(0, { id: MethodId.ConnectionUpdateSecretOk });
  broker.log.info(`connection ${connection.name}: user '${name}' updated secret, reason: ${reason}`);
}

function startOk(connection: Connection, m: ConnectionStartOk): void {
  connection.clientProperties = m.clientProperties;
  const caps = m.clientProperties["capabilities"];
  connection.capabilities = caps !== null && typeof caps === "object" && !Array.isArray(caps) && !(caps instanceof Uint8Array)
    ? (caps as FieldTable)
    : {};
  if (!mechanisms(connection).includes(m.mechanism)) throw commandInvalid(`unknown authentication mechanism '${m.mechanism}'`);
  connection.authMechanism = m.mechanism;
  let user: User;
  if (m.mechanism === EXTERNAL) {
    user = authenticateExternal(connection);
  } else {
    const [username, password] = m.mechanism === "PLAIN" ? parsePlain(m.response) : parseAmqplain(m.response);
    user = authenticate(connection, username, password);
  }
  connection.user = user;
  const { frameMax, channelMax, heartbeat } = connection.broker.options;
  connection.state = "tuning";
  connection.send(0, { id: MethodId.ConnectionTune, channelMax, frameMax, heartbeat });
}

function authenticate(connection: Connection, username: string, password: string): User {
  const result = connection.broker.users.login(username, password);
  if (!result.ok) throw refuse(connection, result.reason);
  return counted(connection, checkLoopback(connection, result.user));
}

/** A login that got through (rabbitmq_auth_attempts_succeeded_total); refuse() counts the others. */
function counted(connection: Connection, user: User): User {
  connection.broker.stats.authSucceeded++;
  return user;
}

/**
 * EXTERNAL: the user named by the client certificate's CN, with no password check (as
 * rabbit_auth_mechanism_ssl with ssl_cert_login_from = common_name).
 */
function authenticateExternal(connection: Connection): User {
  const name = connection.socket.tls?.peerCommonName();
  if (name === undefined) throw refuse(connection, "no verified client certificate");
  const user = connection.broker.users.get(name);
  if (!user) throw refuse(connection, `user '${name}' - invalid credentials`);
  return counted(connection, checkLoopback(connection, user));
}

function checkLoopback(connection: Connection, user: User): User {
  if (connection.broker.options.loopbackUsers.includes(user.name) && !connection.isLoopback) {
    throw refuse(connection, `user '${user.name}' can only connect via localhost`);
  }
  return user;
}

function refuse(connection: Connection, reason: string): AmqpError {
  connection.broker.stats.authFailed++;
  connection.broker.log.error(
    `Error on AMQP connection ${connection.name}, state: starting: ${connection.authMechanism} login refused: ${reason}`,
  );
  return accessRefused(`Login was refused using authentication mechanism ${connection.authMechanism}. For details see the broker logfile.`);
}

/** PLAIN: [authzid] NUL authcid NUL passwd (RFC 4616). */
function parsePlain(response: Uint8Array): [string, string] {
  const first = response.indexOf(0);
  const second = first < 0 ? -1 : response.indexOf(0, first + 1);
  if (second < 0) throw syntaxError(`PLAIN response is not well formed: expected [authzid]\\0user\\0password`);
  return [decodeUtf8(response, first + 1, second), decodeUtf8(response, second + 1, response.length)];
}

/** AMQPLAIN: a field table without its size prefix, with LOGIN and PASSWORD. */
function parseAmqplain(response: Uint8Array): [string, string] {
  const framed = new Uint8Array(4 + response.length);
  new DataView(framed.buffer).setUint32(0, response.length);
  framed.set(response, 4);
  const table = decodeTable(new Reader(framed));
  const login = table["LOGIN"];
  const password = table["PASSWORD"];
  if (typeof login !== "string" || typeof password !== "string") {
    throw syntaxError("AMQPLAIN response must hold LOGIN and PASSWORD strings");
  }
  return [login, password];
}

function tuneOk(connection: Connection, frameMax: number, channelMax: number, heartbeat: number): void {
  const options = connection.broker.options;
  checkNegotiated("frame_max", FRAME_MIN_SIZE, options.frameMax, frameMax);
  checkNegotiated("channel_max", 1, options.channelMax, channelMax);
  connection.applyTuning(frameMax, channelMax, heartbeat);
  connection.state = "opening";
}

/** As rabbit_reader: a client may lower the server's limits, never raise them or pick "none". */
function checkNegotiated(field: string, min: number, server: number, client: number): void {
  if (client !== 0 && client < min) {
    throw notAllowed(`negotiated ${field} = ${client} is lower than the minimum allowed value (${min})`);
  }
  if (server !== 0 && (client === 0 || client > server)) {
    throw notAllowed(`negotiated ${field} = ${client} is higher than the maximum allowed value (${server})`);
  }
}

function open(connection: Connection, vhostName: string): void {
  const broker = connection.broker;
  const user = connection.user!;
  const vhost = broker.vhosts.get(vhostName);
  // rabbit_reader's order: the vhost's connection limit, the user's, then vhost access.
  if (!vhost) throw notAllowed(`vhost ${vhostName} not found`);
  const vhostLimit = vhost.limits["max-connections"];
  if (vhostLimit !== undefined && vhostLimit >= 0 && countConnections(connection, (c) => c.vhost === vhost) >= vhostLimit) {
    throw notAllowed(`access to vhost '${vhostName}' refused for user '${user.name}': connection limit (${vhostLimit}) is reached`);
  }
  const userLimit = user.limits["max-connections"];
  if (userLimit !== undefined && userLimit >= 0 && countConnections(connection, (c) => c.user?.name === user.name) >= userLimit) {
    throw notAllowed(`connection refused for user '${user.name}': user connection limit (${userLimit}) is reached`);
  }
  if (!broker.users.permission(user.name, vhostName)) {
    throw notAllowed(`access to vhost '${vhostName}' refused for user '${user.name}'`);
  }
  connection.send(0, { id: MethodId.ConnectionOpenOk, knownHosts: "" });
  connection.markRunning(user, vhost);
  broker.log.info(`connection ${connection.name}: user '${user.name}' authenticated and granted access to vhost '${vhostName}'`);
}

/** Open connections (as RabbitMQ's connection tracking counts them) that match. */
function countConnections(self: Connection, match: (c: Connection) => boolean): number {
  let n = 0;
  for (const c of self.broker.connections) if (c !== self && c.state === "running" && match(c)) n++;
  return n;
}
