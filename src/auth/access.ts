// Permission checks on AMQP operations, with rabbit_access_control's refusal texts. The
// handlers call these exactly where rabbit_channel calls check_*_permitted.
//
// They take the narrow views below, not a connection or channel: an AMQP connection and channel
// fit them, and so will other protocols' (MQTT). src/auth imports nothing from src/connection.
import { accessRefused } from "../amqp/errors.ts";
import { resourceName } from "../broker/names.ts";
import type { PermissionKind } from "./permissions.ts";
import type { Users } from "./users.ts";

export type ResourceKind = "queue" | "exchange";

/** Who asks, in which vhost, checked against which users (an open connection). */
export interface AccessSubject {
  readonly user: { readonly name: string } | undefined;
  readonly vhost: { readonly name: string } | undefined;
  readonly broker: { readonly users: Users };
}

/** The exchange a topic permission is checked on. */
export interface TopicExchange {
  readonly name: string;
  readonly type: string;
}

/** A publisher (a channel) that caches its last publish verdicts. */
export interface PublishVerdicts {
  readonly connection: AccessSubject;
  writeAllowedExchange: string | undefined;
  writeAllowedVersion: number;
  topicAllowedExchange: unknown;
  topicAllowedKey: string;
  topicAllowedVersion: number;
}

/** check_resource_access: the user's regex for `kind` must match the resource name. */
export function checkAccess(connection: AccessSubject, resource: ResourceKind, name: string, kind: PermissionKind): void {
  const user = connection.user!;
  const vhost = connection.vhost!.name;
  // rabbit_access_control checks the default exchange under the name amq.default.
  const checked = resource === "exchange" && name === "" ? "amq.default" : name;
  const permission = connection.broker.users.permission(user.name, vhost);
  if (permission && permission.test[kind].test(checked)) return;
  throw accessRefused(`access to ${resourceName(resource, checked, vhost)} refused for user '${user.name}'`);
}

export const checkConfigure = (c: AccessSubject, resource: ResourceKind, name: string) => checkAccess(c, resource, name, "configure");
export const checkWrite = (c: AccessSubject, resource: ResourceKind, name: string) => checkAccess(c, resource, name, "write");
export const checkRead = (c: AccessSubject, resource: ResourceKind, name: string) => checkAccess(c, resource, name, "read");

/** check_topic_authorisation: only topic exchanges; write on publish, read on bind. */
export function checkTopic(connection: AccessSubject, exchange: TopicExchange, routingKey: string, kind: "write" | "read"): void {
  if (exchange.type !== "topic") return;
  const user = connection.user!.name;
  const vhost = connection.vhost!.name;
  if (connection.broker.users.topicAllowed(user, vhost, exchange.name, kind, routingKey)) return;
  throw accessRefused(`access to topic '${routingKey}' in exchange '${exchange.name}' in vhost '${vhost}' refused for user '${user}'`);
}

/**
 * basic.publish: write on the exchange (looked up by name first, as RabbitMQ checks before the
 * exchange lookup), then, once the exchange is known, the topic permission. A channel keeps the
 * last verdict, so a stream of publishes to one exchange costs one comparison each; any
 * permission change bumps Users.version and drops it.
 */
export function checkPublishWrite(channel: PublishVerdicts, exchangeName: string): void {
  const version = channel.connection.broker.users.version;
  if (channel.writeAllowedExchange === exchangeName && channel.writeAllowedVersion === version) return;
  checkWrite(channel.connection, "exchange", exchangeName);
  channel.writeAllowedExchange = exchangeName;
  channel.writeAllowedVersion = version;
}

export function checkPublishTopic(channel: PublishVerdicts, exchange: TopicExchange, routingKey: string): void {
  if (exchange.type !== "topic") return;
  const version = channel.connection.broker.users.version;
  if (
    channel.topicAllowedKey === routingKey && channel.topicAllowedExchange === exchange &&
    channel.topicAllowedVersion === version
  ) return;
  checkTopic(channel.connection, exchange, routingKey, "write");
  channel.topicAllowedExchange = exchange;
  channel.topicAllowedKey = routingKey;
  channel.topicAllowedVersion = version;
}
