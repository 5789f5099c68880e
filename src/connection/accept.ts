// Where the AMQP connection layer is assembled: a connection gets the handshake handlers and
// opens channels with the method handlers. connection.ts and channel.ts import no handler; the
// handlers import them; this module, above both, joins them (src/server.ts calls it per socket).
import type { TcpSocket } from "../runtime/tcp.ts";
import { type AmqpBroker, type AmqpConnection, Channel } from "./channel.ts";
import { Connection, type ConnectionProtocol } from "./connection.ts";
import { handleConnectionMethod, sendStart } from "./handlers/connection.ts";
import { CHANNEL_METHODS } from "./handlers/registry.ts";

const AMQP_0_9_1: ConnectionProtocol<Channel> = {
  start: sendStart,
  handle: handleConnectionMethod,
  openChannel: (connection, id) => new Channel(connection, id, CHANNEL_METHODS),
};

/** A new AMQP connection on an accepted socket, counted among the broker's connections. */
export function acceptConnection(broker: AmqpBroker, socket: TcpSocket): AmqpConnection {
  const connection = new Connection(broker, socket, AMQP_0_9_1);
  broker.connectionOpened(connection);
  return connection;
}
