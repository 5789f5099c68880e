#!/usr/bin/env bun
// The executable: `warren [server] [flags]`, `warren ctl …`, `warren plugins …`. (`warren perf` comes later.)
import { startBroker } from "./server.ts";
import { runCtl } from "./cli/ctl/mod.ts";
import { runPlugins } from "./cli/plugins.ts";
import { parseServerArgs, SERVER_USAGE, UsageError } from "./cli/server_args.ts";

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "ctl") return await runCtl(rest);
  if (command === "plugins") return await runPlugins(rest);
  if (command === "perf") {
    console.error(`warren ${command}: not available in this version yet`);
    return 2;
  }
  const args = command === "server" ? rest : argv;
  let options;
  try {
    options = parseServerArgs(args, process.env);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`warren: ${(err as Error).message}\n\n${SERVER_USAGE}`);
      return 2;
    }
    throw err;
  }
  if (options === "help") {
    console.log(SERVER_USAGE);
    return 0;
  }
  let broker;
  try {
    broker = await startBroker(options);
  } catch (err) {
    console.error(`warren: cannot start: ${(err as Error).message}`);
    return 1;
  }
  const shutdown = (signal: string) => {
    broker.log.info(`${signal} received: stopping`);
    void broker.stop().then(() => process.exit(0));
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
  return await new Promise<number>(() => {}); // runs until a signal
}

process.exitCode = await main(process.argv.slice(2));
if (process.exitCode !== 0) process.exit(process.exitCode);
