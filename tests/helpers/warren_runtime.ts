// The command that runs the broker as a process, chosen in one place for every helper that
// spawns one (warren_process.ts, warren_command.ts, and broker.ts in process mode):
//   WARREN_CMD="…"        that command line (split on spaces), e.g. "dist/warren-deno"
//   WARREN_RUNTIME=deno   `deno run -A src/main.ts` with the repository's deno.json
//   WARREN_BIN=…          the built executable (CI's dist/warren)
//   (none)                `bun src/main.ts`
// With WARREN_CMD or WARREN_RUNTIME set, startTestBroker() starts that process instead of an
// in-process broker, so the protocol and differential suites run against the other runtime.
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..", "..");
const MAIN = join(ROOT, "src/main.ts");

/** The runtimes WARREN_RUNTIME names, as the command that runs src/main.ts. */
const RUNTIMES: Record<string, string[]> = {
  bun: [join(ROOT, "node_modules/.bin/bun"), MAIN],
  deno: [join(ROOT, "node_modules/.bin/deno"), "run", "-A", "--config", join(ROOT, "deno.json"), MAIN],
};

/** argv that runs src/main.ts on `runtime` ("bun" or "deno"). */
export function runtimeCommand(runtime: "bun" | "deno"): string[] {
  return RUNTIMES[runtime]!;
}

/** argv that starts `warren` (flags follow). */
export function warrenCommand(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.WARREN_CMD) return env.WARREN_CMD.trim().split(/\s+/);
  if (env.WARREN_RUNTIME) {
    const command = RUNTIMES[env.WARREN_RUNTIME];
    if (!command) throw new Error(`WARREN_RUNTIME="${env.WARREN_RUNTIME}": expected one of ${Object.keys(RUNTIMES).join(", ")}`);
    return command;
  }
  if (env.WARREN_BIN) return [env.WARREN_BIN];
  return RUNTIMES.bun!;
}

/** True when tests must start the broker as a process (WARREN_CMD or WARREN_RUNTIME is set). */
export function brokerAsProcess(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.WARREN_CMD || env.WARREN_RUNTIME);
}

/** What runs the broker, for skip messages and logs: "in-process", or the command. */
export function brokerDescription(): string {
  return brokerAsProcess() ? warrenCommand().join(" ") : "in-process";
}
