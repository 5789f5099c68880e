// What the broker needs of a client connection (AMQP, and later plugin protocols such as MQTT):
// enough to close it with a code, to tell it about alarms and to match it to a user or vhost.
// The connection layer implements it; nothing in src/broker imports src/connection.
import type { User } from "../auth/users.ts";
import type { AlarmResource } from "./alarms.ts";
import type { Vhost } from "./vhost.ts";

export interface ClientConnection {
  /** As RabbitMQ names connections in logs: "127.0.0.1:54321 -> 127.0.0.1:5672". */
  readonly name: string;
  /** Set once the client logged in (undefined during the handshake). */
  readonly user: User | undefined;
  readonly vhost: Vhost | undefined;
  /** Broker-initiated close (shutdown, vhost or user deletion): 320 CONNECTION_FORCED by default. */
  forceClose(reason: string, code?: number): void;
  /** Drops the socket at once. */
  terminate(): void;
  /** The set of resource alarms changed (an empty set: all cleared). */
  onAlarmChange(active: ReadonlySet<AlarmResource>): void;
}

/**
 * A connection of another protocol, served by a plugin (MQTT): listed in /api/connections and
 * closable there, closed with its user or vhost, told about alarms.
 */
export interface ProtocolConnection extends ClientConnection {
  /** As /api/connections shows it: "MQTT 3.1.1", "MQTT 5-0". */
  readonly protocol: string;
  /** Its /api/connections object (the core adds `node`). */
  describe(): Record<string, unknown>;
}
