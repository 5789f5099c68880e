// `warren ctl`: rabbitmqctl-style subcommands over the management HTTP API. runCtl parses the
// line, runs one command and answers its exit code (sysexits, see errors.ts); it never exits
// the process, so tests call it in-process.
import { findCommand, GLOBAL_OPTIONS, GLOBAL_USAGE, type OptionSpecs, parseLine } from "./args.ts";
import { ApiClient } from "./client.ts";
import type { Command } from "./command.ts";
import { CtlError, CtlUsageError, ExitCode } from "./errors.ts";
import { type Io, Output } from "./output.ts";
import { ALARM_COMMANDS } from "./commands/alarms.ts";
import { DEFINITION_COMMANDS } from "./commands/definitions.ts";
import { FEDERATION_COMMANDS } from "./commands/federation.ts";
import { LISTING_COMMANDS } from "./commands/listings.ts";
import { MISC_COMMANDS } from "./commands/misc.ts";
import { LIFECYCLE_COMMANDS } from "./commands/lifecycle.ts";
import { closestName } from "./closest.ts";
import { PARAMETER_AND_LIMIT_COMMANDS } from "./commands/parameters.ts";
import { PERMISSION_COMMANDS } from "./commands/permissions.ts";
import { POLICY_COMMANDS } from "./commands/policies.ts";
import { QUEUE_COMMANDS } from "./commands/queues.ts";
import { SHOVEL_COMMANDS } from "./commands/shovels.ts";
import { STATUS_COMMANDS } from "./commands/status.ts";
import { USER_COMMANDS } from "./commands/users.ts";
import { VHOST_COMMANDS } from "./commands/vhosts.ts";
import { DELAYED_MESSAGE_COMMANDS } from "../../../plugins/delayed_message/ctl_commands.ts";

export { ExitCode } from "./errors.ts";
export type { Io } from "./output.ts";

export const COMMANDS: ReadonlyMap<string, Command> = new Map(
  [
    ...MISC_COMMANDS,
    ...LIFECYCLE_COMMANDS,
    ...STATUS_COMMANDS,
    ...ALARM_COMMANDS,
    ...USER_COMMANDS,
    ...PERMISSION_COMMANDS,
    ...VHOST_COMMANDS,
    ...QUEUE_COMMANDS,
    ...LISTING_COMMANDS,
    ...POLICY_COMMANDS,
    ...PARAMETER_AND_LIMIT_COMMANDS,
    ...DEFINITION_COMMANDS,
    ...SHOVEL_COMMANDS,
    ...FEDERATION_COMMANDS,
    ...DELAYED_MESSAGE_COMMANDS,
  ].map((c) => [c.name, c]),
);

const ALL_OPTIONS: OptionSpecs = Object.assign({}, GLOBAL_OPTIONS, ...[...COMMANDS.values()].map((c) => c.options ?? {}));

export function overallUsage(): string {
  const groups = new Map<string, Command[]>();
  for (const c of COMMANDS.values()) groups.set(c.group, [...(groups.get(c.group) ?? []), c]);
  const width = Math.max(...[...COMMANDS.keys()].map((n) => n.length), "help".length) + 2;
  const lines = ["Usage: warren ctl [global options] <command> [<command options>] [<args>]", "", "Commands:"];
  for (const [group, commands] of groups) {
    lines.push("", `${group}:`);
    if (group === "Help") lines.push(`   ${"help".padEnd(width)}Displays usage information for a command`);
    for (const c of commands) lines.push(`   ${c.name.padEnd(width)}${c.summary}`);
  }
  lines.push("", GLOBAL_USAGE, "", "Use 'warren ctl help <command>' to learn more about a specific command.");
  return lines.join("\n");
}

/** The usage line and summary; `full` adds the details, the columns and the global options. */
export function commandUsage(command: Command, full = true): string {
  const lines = [
    `Usage: warren ctl [global options] ${command.name}${command.usage ? " " + command.usage : ""}`,
    "",
    `${command.summary}.`,
  ];
  if (!full) return lines.join("\n");
  if (command.details) lines.push("", command.details);
  if (command.columns) lines.push("", `<column> must be one of ${[...command.columns.keys()].sort().join(", ")}`);
  lines.push("", GLOBAL_USAGE);
  return lines.join("\n");
}

export function defaultIo(): Io {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    async readStdin() {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
      return Buffer.concat(chunks).toString("utf8");
    },
    env: process.env,
  };
}

/** Runs `warren ctl <argv>`; answers the exit code. */
export async function runCtl(argv: string[], io: Io = defaultIo()): Promise<number> {
  let command: Command | undefined;
  try {
    const found = findCommand(argv, ALL_OPTIONS);
    if (found.name === "help") return help(parseLine("help", found.rest, {}, io.env).args, io);
    command = found.name === undefined ? undefined : COMMANDS.get(found.name);
    if (found.name !== undefined && !command) {
      io.stderr(notFound(found.name));
      return ExitCode.USAGE;
    }
    const line = parseLine(found.name, found.rest, command?.options ?? {}, io.env);
    if (!command) {
      if (line.global.help) {
        io.stdout(overallUsage() + "\n");
        return ExitCode.OK;
      }
      io.stderr(overallUsage() + "\n");
      return ExitCode.USAGE;
    }
    if (line.global.help) {
      io.stdout(commandUsage(command) + "\n");
      return ExitCode.OK;
    }
    const [min, max] = command.arity;
    if (line.args.length < min) throw new CtlUsageError("not enough arguments.");
    if (line.args.length > max) {
      throw new CtlUsageError(`too many arguments: ${line.args.slice(max).map((a) => JSON.stringify(a)).join(" ")}`);
    }
    await command.run({
      api: new ApiClient(line.global.connection),
      global: line.global,
      options: line.options,
      args: line.args,
      out: new Output(io, line.global),
      io,
    });
    return ExitCode.OK;
  } catch (err) {
    return report(err, command, io);
  }
}

/** One line: the unknown name and the closest command, as rabbitmqctl's "Did you mean". */
function notFound(name: string): string {
  const closest = closestName(name, [...COMMANDS.keys(), "help"]);
  const hint = closest === undefined ? "" : ` Did you mean '${closest}'?`;
  return `Command '${name}' not found.${hint} ('warren ctl help' lists the commands)\n`;
}

function help(args: string[], io: Io): number {
  const name = args[0];
  if (name === undefined) {
    io.stdout(overallUsage() + "\n");
    return ExitCode.OK;
  }
  const command = COMMANDS.get(name);
  if (!command) {
    io.stderr(notFound(name));
    return ExitCode.USAGE;
  }
  io.stdout(commandUsage(command) + "\n");
  return ExitCode.OK;
}

function report(err: unknown, command: Command | undefined, io: Io): number {
  if (err instanceof CtlUsageError) {
    io.stderr(`Error (argument validation): ${err.message}\n\n${command ? commandUsage(command, false) : overallUsage()}\n`);
    return err.code;
  }
  if (err instanceof CtlError) {
    // As rabbitmqctl: an unreachable node on one line, anything the node said below "Error:".
    const inline = err.code === ExitCode.UNAVAILABLE || err.code === ExitCode.TEMPFAIL;
    io.stderr(`Error:${inline ? " " : "\n"}${err.message}\n`);
    return err.code;
  }
  io.stderr(`Error: ${(err as Error)?.stack ?? String(err)}\n`);
  return ExitCode.SOFTWARE;
}
