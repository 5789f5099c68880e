// Warren's library surface: start a broker in-process (tests, embedding) and its types.
export { startBroker, type StartOptions } from "./src/server.ts";
export type { AmqpBroker as Broker } from "./src/connection/channel.ts";
export { DEFAULTS, type BrokerOptions, type LogLevel } from "./src/config.ts";
export { createLogger, type Logger } from "./src/log.ts";
export { ManagementError, type VhostOptions } from "./src/broker/management.ts";
export type { User, UserLimits, Permission, TopicPermission } from "./src/auth/users.ts";
export type { VhostLimits } from "./src/broker/vhost.ts";
