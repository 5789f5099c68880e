// Warren's library surface: start a broker in-process (tests, embedding) and its types.
export { startBroker, type StartOptions } from "./src/server.ts";
export type { Broker } from "./src/broker/broker.ts";
export { DEFAULTS, type BrokerOptions, type LogLevel } from "./src/config.ts";
export { createLogger, type Logger } from "./src/log.ts";
