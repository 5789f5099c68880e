// Warren's library surface: start a broker in-process (tests, embedding) and its types.
export { startBroker, type StartOptions } from "./src/server.ts";
export type { AmqpBroker as Broker } from "./src/connection/channel.ts";
export { type BrokerOptions, DEFAULTS, type LogLevel } from "./src/config.ts";
export { createLogger, type Logger } from "./src/log.ts";
export { ManagementError, type VhostOptions } from "./src/broker/management.ts";
export type { Permission, TopicPermission, User, UserLimits } from "./src/auth/users.ts";
export type { VhostLimits } from "./src/broker/vhost.ts";
