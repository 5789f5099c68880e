// `warren ctl [global options] <command> [command options] [args]`: finds the command, then
// parses the global options and the command's own with node:util parseArgs, anywhere on the line.
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { Connection } from "./client.ts";
import { CtlUsageError } from "./errors.ts";

export type OptionSpecs = NonNullable<ParseArgsConfig["options"]>;
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export const GLOBAL_OPTIONS = {
  host: { type: "string" },
  port: { type: "string" },
  username: { type: "string" },
  password: { type: "string" },
  vhost: { type: "string", short: "p" },
  formatter: { type: "string" },
  quiet: { type: "boolean", short: "q" },
  silent: { type: "boolean", short: "s" },
  "no-table-headers": { type: "boolean" },
  timeout: { type: "string", short: "t" },
  help: { type: "boolean", short: "?" },
  node: { type: "string", short: "n" },
  tls: { type: "boolean" },
  cacert: { type: "string" },
} as const satisfies OptionSpecs;

export const GLOBAL_USAGE = `Global options:
  --host HOST          broker host (default 127.0.0.1, or WARREN_CTL_HOST)
  --port PORT          management API port (default 15672, or WARREN_CTL_PORT)
  --username USER      (default guest, or WARREN_CTL_USERNAME)
  --password PASS      (default guest, or WARREN_CTL_PASSWORD)
  -p, --vhost VHOST    virtual host of vhost-scoped commands (default /)
  --formatter F        table (default) or json
  -q, --quiet          no informational lines ("Listing queues ...")
  -s, --silent         as --quiet, and no table header row
  --no-table-headers   no table header row
  --tls                use HTTPS (a management API on management.ssl / --https-port)
  --cacert FILE        PEM CA certificates that sign the server's certificate (implies --tls)
  -t, --timeout SEC    give up on a request after SEC seconds (default 60; 0 waits forever)
  -?, --help           this help, or the command's`;

export type Formatter = "table" | "json";

export interface GlobalOptions {
  connection: Connection;
  vhost: string;
  /** Whether -p/--vhost was given (some commands then narrow to that vhost). */
  vhostGiven: boolean;
  formatter: Formatter;
  quiet: boolean;
  silent: boolean;
  noHeaders: boolean;
  help: boolean;
}

export interface ParsedLine {
  command: string | undefined;
  global: GlobalOptions;
  options: OptionValues;
  args: string[];
}

/** The command name: the first positional once every known option has taken its value. */
export function findCommand(argv: string[], allOptions: OptionSpecs): { name: string | undefined; rest: string[] } {
  const { tokens } = parseArgs({ args: argv, options: allOptions, strict: false, allowPositionals: true, tokens: true });
  const first = tokens.find((t) => t.kind === "positional");
  if (!first) return { name: undefined, rest: argv };
  return { name: first.value, rest: [...argv.slice(0, first.index), ...argv.slice(first.index + 1)] };
}

/** Parses the line without the command name, with the global options and `commandOptions`. */
export function parseLine(
  command: string | undefined,
  rest: string[],
  commandOptions: OptionSpecs,
  env: Record<string, string | undefined>,
): ParsedLine {
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...GLOBAL_OPTIONS, ...commandOptions }, strict: true, allowPositionals: true });
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) throw new CtlUsageError((err as Error).message, command);
    throw err;
  }
  const values = parsed.values as OptionValues;
  const str = (key: string) => {
    const v = values[key];
    return typeof v === "string" ? v : undefined;
  };
  if (str("node") !== undefined) {
    throw new CtlUsageError(
      "--node is not used: warren ctl talks to the management HTTP API, not to an Erlang node; use --host and --port",
      command,
    );
  }
  const formatter = str("formatter") ?? "table";
  if (formatter !== "table" && formatter !== "json") {
    throw new CtlUsageError(`--formatter "${formatter}" is not supported: use table or json`, command);
  }
  const timeout = str("timeout") ?? "60";
  if (!/^\d+(\.\d+)?$/.test(timeout)) throw new CtlUsageError(`--timeout "${timeout}" is not a number of seconds`, command);
  const portText = str("port") ?? env.WARREN_CTL_PORT ?? "15672";
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new CtlUsageError(`--port "${portText}" is not a port number`, command);
  const vhost = str("vhost");
  const global: GlobalOptions = {
    connection: {
      host: str("host") ?? env.WARREN_CTL_HOST ?? "127.0.0.1",
      port,
      username: str("username") ?? env.WARREN_CTL_USERNAME ?? "guest",
      password: str("password") ?? env.WARREN_CTL_PASSWORD ?? "guest",
      timeoutMs: Math.round(Number(timeout) * 1000),
      tls: values.tls === true || str("cacert") !== undefined,
      caFile: str("cacert"),
    },
    vhost: vhost ?? "/",
    vhostGiven: vhost !== undefined,
    formatter,
    quiet: values.quiet === true || values.silent === true,
    silent: values.silent === true,
    noHeaders: values.silent === true || values["no-table-headers"] === true,
    help: values.help === true,
  };
  const options: OptionValues = {};
  for (const key of Object.keys(commandOptions)) options[key] = values[key];
  return { command, global, options, args: parsed.positionals };
}
