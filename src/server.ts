import { resolveOptions, type BrokerOptions } from "./config.ts";
import { createLogger, type Logger } from "./log.ts";
import { Broker } from "./broker/broker.ts";
import { recover } from "./broker/recovery.ts";
import { SqliteStore } from "../storage/sqlite_store.ts";
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
  const store = SqliteStore.open(resolved.dataDir, { fsync: resolved.fsync, log });
  const broker = new Broker(resolved, log, store);
  try {
    if (store.isFresh) broker.createDefaults();
    else recover(broker, store);
    store.commit();
    broker.listen();
  } catch (err) {
    store.close();
    throw err;
  }
  log.info(`Server startup complete; 0 plugins started. Ready in ${(performance.now() - started).toFixed(1)} ms`);
  return broker;
}
