#!/usr/bin/env bun
// The executable: `warren [server] [flags]`, `warren ctl …`, `warren plugins …`, `warren perf …`.
// The ctl, plugins and perf commands are imported when run: the server never evaluates them,
// which keeps its idle memory down (docs/memory.md).
import { startBroker } from "./server.ts";
import type { PerfControl } from "./cli/perf/mod.ts";
import { parseServerArgs, SERVER_USAGE, UsageError } from "./cli/server_args.ts";
import { VERSION } from "./version.ts";
import { EnvError, envWarnings } from "./config.ts";
import { startupDone } from "./runtime/platform.ts";

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // Only the server's boot runs with the raised JIT threshold: a command runs at full speed.
  if (command === "ctl" || command === "plugins" || command === "perf") startupDone();
  if (command === "ctl") return await (await import("./cli/ctl/mod.ts")).runCtl(rest);
  if (command === "plugins") return await (await import("./cli/plugins.ts")).runPlugins(rest);
  if (command === "perf") {
    // Ctrl-C ends the run early with a report of what was measured; a second one exits at once.
    const control: PerfControl = {};
    process.once("SIGINT", () => {
      control.interrupt?.();
      process.once("SIGINT", () => process.exit(130));
    });
    return await (await import("./cli/perf/mod.ts")).runPerf(rest, undefined, control);
  }
  const args = command === "server" ? rest : argv;
  let options;
  try {
    options = parseServerArgs(args, process.env);
  } catch (err) {
    if (err instanceof EnvError) {
      console.error(`warren: cannot start: ${err.message}`);
      return 2;
    }
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
  if (options === "version") {
    console.log(`warren ${VERSION}`);
    return 0;
  }
  let broker;
  try {
    broker = await startBroker({ ...options, warnings: envWarnings(process.env) });
  } catch (err) {
    console.error(`warren: cannot start: ${(err as Error).message}`);
    return 1;
  }
  startupDone();
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
