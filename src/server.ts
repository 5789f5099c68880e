import { resolveOptions, type BrokerOptions } from "./config.ts";
import { createLogger, type Logger } from "./log.ts";
import { Broker } from "./broker/broker.ts";
import { VERSION } from "./version.ts";

export interface StartOptions extends Partial<BrokerOptions> {
  /** Where log lines go (default: stdout at options.logLevel). */
  logger?: Logger;
}

/** Starts a broker and resolves once every listener accepts connections. */
export async function startBroker(options: StartOptions = {}): Promise<Broker> {
  const { logger, ...rest } = options;
  const resolved = resolveOptions(rest);
  const log = logger ?? createLogger(resolved.logLevel);
  const started = performance.now();
  log.info(`Starting Warren ${VERSION} on Bun ${Bun.version}`);
  log.info(`data directory: ${resolved.dataDir}`);
  const broker = new Broker(resolved, log);
  broker.listen();
  log.info(`Server startup complete; 0 plugins started. Ready in ${(performance.now() - started).toFixed(1)} ms`);
  return broker;
}
