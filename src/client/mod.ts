// Warren's outbound AMQP 0-9-1 client, for links to other brokers (shovel, federation) and to
// this one (a URI without host). Built on the broker's own codec (src/amqp).
//
//   const conn = await connect({ uri: ["amqp://u:p@a:5672/%2f", "amqps://b?verify=verify_peer&cacertfile=/ca.pem"],
//                                connectionName: "Shovel s1", direct: { broker, user: "guest" } });
//   const ch = await conn.openChannel();
//   await ch.confirmSelect(); ch.onConfirm((seq, multiple, ack) => …); const seq = ch.publish("", "q", body, props);
//   await ch.qos(1000); await ch.consume("q", (d) => ch.ack(d.deliveryTag));
//   conn.onClose((err) => …);  conn.onBlocked((blocked, reason) => …);  await conn.close();
import type { Broker } from "../broker/broker.ts";
import type { FieldTable } from "../amqp/table.ts";
import { readPem } from "../runtime/tls.ts";
import { connectTcp, type ConnectTls } from "../runtime/tcp_connect.ts";
import { after } from "../runtime/timers.ts";
import { ClientConnection } from "./connection.ts";
import { connectDirect } from "./direct.ts";
import { ClientError, socketClosed } from "./errors.ts";
import { type AmqpUri, parseAmqpUri, withoutCredentials } from "./uri.ts";

export { ClientConnection } from "./connection.ts";
export {
  ClientChannel,
  type ConfirmListener,
  type ConsumeOptions,
  type Delivery,
  type ExchangeOptions,
  type QueueOptions,
  type Returned,
} from "./channel.ts";
export { ClientError } from "./errors.ts";
export { type AmqpUri, parseAmqpUri, UriError, withoutCredentials } from "./uri.ts";
export {
  type ConnectedNode,
  connectedNodeJson,
  type Failover,
  FAILOVER_HISTORY,
  type FailoverJson,
  failoverJson,
  NodeHistory,
} from "./node_history.ts";
export { type BasicProperties, decodeProperties, encodeProperties } from "../amqp/spec/properties.gen.ts";

export interface ConnectOptions {
  /** One URI or a list: each call picks one at random (RabbitMQ's shovel and federation do). */
  uri: string | readonly string[];
  /**
   * When the picked URI fails, try the others of the list, each picked at random from those
   * left, before giving up (rabbit_amqp091_shovel:make_conn_and_chan); without it one attempt.
   */
  tryEvery?: boolean;
  /** The client property connection_name (the management UI's user_provided_name). */
  connectionName?: string;
  /** Extra client properties, merged over ours. */
  clientProperties?: FieldTable;
  /**
   * Needed for URIs without host: the broker to reach in-process, and the user a direct link
   * without credentials in the URI acts as (trusted, no password: RabbitMQ's direct connections),
   * or a function picking one for the URI's vhost.
   */
  direct?: { broker: Broker; user: string | ((vhost: string) => string) };
}

/** Picks a URI, connects and completes the handshake; rejects with a ClientError or UriError. */
export async function connect(options: ConnectOptions): Promise<ClientConnection> {
  const list = typeof options.uri === "string" ? [options.uri] : options.uri;
  if (list.length === 0) throw new ClientError("no URI to connect to", 0, "client");
  if (!options.tryEvery || list.length === 1) return connectUri(parseAmqpUri(pickOne(list)), options);
  let left = [...new Set(list)];
  const failures: string[] = [];
  for (;;) {
    const text = pickOne(left);
    try {
      return await connectUri(parseAmqpUri(text), options);
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      left = left.filter((u) => u !== text);
      failures.push(left.length === 0 && failures.length === 0 ? err.message : `${withoutCredentials(text)}: ${err.message}`);
      if (left.length === 0) throw new ClientError(failures.join("; "), err.code, err.by, err.method);
    }
  }
}

function pickOne(list: readonly string[]): string {
  return list[Math.floor(Math.random() * list.length)]!;
}

/** Connects to one parsed URI. */
export async function connectUri(uri: AmqpUri, options: Omit<ConnectOptions, "uri">): Promise<ClientConnection> {
  const external = uri.direct && uri.username === undefined;
  const connection = new ClientConnection(uri, {
    connectionName: options.connectionName,
    clientProperties: options.clientProperties,
    external,
  });
  let handshake: Promise<void> | undefined;
  const attach = (socket: Parameters<ClientConnection["attach"]>[0]) => {
    handshake = connection.attach(socket);
    return connection;
  };
  const timer = after(uri.connectionTimeoutMs, () => {
    connection.fail(socketClosed(`connection timed out: no connection.open-ok within ${uri.connectionTimeoutMs} ms`), true);
  });
  try {
    if (uri.direct) {
      if (!options.direct) {
        throw new ClientError(`${uri.uri} names no host (this broker), and no broker was given to reach directly`, 0, "client");
      }
      const user = options.direct.user;
      connectDirect(options.direct.broker, attach, external ? (typeof user === "string" ? user : user(uri.vhost)) : undefined);
    } else {
      await connectTcp(uri.host, uri.port, attach, uri.tls ? tlsOptions(uri) : undefined).catch((err: Error) => {
        throw socketClosed(`cannot connect to ${uri.host}:${uri.port}: ${describe(err)}`);
      });
    }
    await handshake;
    return connection;
  } catch (err) {
    connection.terminate();
    throw err;
  } finally {
    timer.cancel();
  }
}

function tlsOptions(uri: AmqpUri): ConnectTls {
  const sni = uri.serverNameIndication;
  return {
    ...(uri.cacertfile !== undefined ? { ca: readPem("CA file", uri.cacertfile) } : {}),
    ...(uri.certfile !== undefined ? { cert: readPem("certificate", uri.certfile) } : {}),
    ...(uri.keyfile !== undefined ? { key: readPem("key", uri.keyfile) } : {}),
    rejectUnauthorized: uri.verify === "verify_peer",
    ...(sni !== undefined && sni !== "disable" ? { serverName: sni } : {}),
  };
}

/** Socket errors as "connection refused (ECONNREFUSED)". */
function describe(err: Error & { code?: string }): string {
  if (err.code === "ECONNREFUSED") return "connection refused (ECONNREFUSED)";
  if (err.code === "ENOTFOUND") return "host not found (ENOTFOUND)";
  return err.code !== undefined && !err.message.includes(err.code) ? `${err.message} (${err.code})` : err.message;
}
