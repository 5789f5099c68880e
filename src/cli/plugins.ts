// `warren plugins list|enable|disable`: rabbitmq-plugins' commands, output and exit codes. On a
// running node they go through the management API (/api/plugins), which starts or stops the
// plugins at once and records the change in the node's enabled_plugins file; with --offline they
// only edit that file (--enabled-plugins-file, RABBITMQ_ENABLED_PLUGINS_FILE, or
// <--data-dir>/enabled_plugins), for the next boot.
import { hostname } from "node:os";
import { join } from "node:path";
import { BUILTIN_PLUGINS } from "../../plugins/mod.ts";
import type { PluginStatus } from "../broker/plugin_status.ts";
import { ALWAYS_ON } from "../plugins/boot.ts";
import { readEnabledPluginsFile, writeEnabledPluginsFile } from "../plugins/enabled_file.ts";
import { VERSION } from "../version.ts";
import { GLOBAL_USAGE, type OptionSpecs, parseLine } from "./ctl/args.ts";
import { ApiClient, apiPath } from "./ctl/client.ts";
import { CtlError, CtlUsageError, ExitCode } from "./ctl/errors.ts";
import { defaultIo, type Io } from "./ctl/mod.ts";

const OPTIONS = {
  offline: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  minimal: { type: "boolean", short: "m" },
  "enabled-only": { type: "boolean", short: "E" },
  "implicitly-enabled": { type: "boolean", short: "e" },
  "data-dir": { type: "string" },
  "enabled-plugins-file": { type: "string" },
} as const satisfies OptionSpecs;

export const PLUGINS_USAGE = `Usage: warren plugins <command> [options]

Commands:
  list [pattern] [-v] [-m] [-E] [-e]   list plugins (E = explicitly enabled, e = implicitly, * = running);
                                        with --offline, as the enabled_plugins file says
  enable <plugin> ... [--offline]       enable plugins (and what they require)
  disable <plugin> ... [--offline]      disable plugins (and what requires them)

Options:
  --offline                    only edit the enabled_plugins file (the node applies it at its next boot)
  --enabled-plugins-file FILE  the file --offline edits (default RABBITMQ_ENABLED_PLUGINS_FILE, else <data-dir>/enabled_plugins)
  --data-dir DIR               the broker's data directory (default ./warren-data)

${GLOBAL_USAGE}`;

export async function runPlugins(argv: string[], io: Io = defaultIo()): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === "help" || command === "--help" || command === "-h") {
      io.stdout(PLUGINS_USAGE + "\n");
      return command === undefined ? ExitCode.USAGE : ExitCode.OK;
    }
    if (command !== "list" && command !== "enable" && command !== "disable") {
      throw new CtlUsageError(`unknown command '${command}': use list, enable or disable`);
    }
    const line = parseLine(command, rest, OPTIONS, io.env);
    const opts = line.options;
    if (command === "list") {
      const source = opts.offline === true ? offlineStatus(enabledFile(opts, io.env)) : onlineStatus(new ApiClient(line.global.connection));
      return list(await source, line.args[0], opts, io);
    }
    if (line.args.length === 0) throw new CtlUsageError(`${command}: name at least one plugin`);
    const offline = opts.offline === true;
    if (offline) return offlineChange(command, line.args, enabledFile(opts, io.env), io);
    return await onlineChange(new ApiClient(line.global.connection), command, line.args, io);
  } catch (err) {
    if (err instanceof CtlUsageError) {
      io.stderr(`Error (argument validation): ${err.message}\n\n${PLUGINS_USAGE}\n`);
      return ExitCode.USAGE;
    }
    if (err instanceof CtlError) {
      io.stderr(`Error:\n${err.message}\n`);
      return err.code;
    }
    throw err;
  }
}

function enabledFile(opts: Record<string, unknown>, env: Record<string, string | undefined>): string {
  const given = opts["enabled-plugins-file"];
  if (typeof given === "string") return given;
  if (env.RABBITMQ_ENABLED_PLUGINS_FILE) return env.RABBITMQ_ENABLED_PLUGINS_FILE;
  const dataDir = typeof opts["data-dir"] === "string" ? opts["data-dir"] : "./warren-data";
  return join(dataDir, "enabled_plugins");
}

async function nodeName(api: ApiClient): Promise<string> {
  const overview = await api.get<{ node?: string }>("/api/overview");
  return overview.node ?? `rabbit@${hostname()}`;
}

/** The node's plugins as it reports them. */
async function onlineStatus(api: ApiClient): Promise<{ node: string; plugins: PluginStatus[] }> {
  return { node: await nodeName(api), plugins: await api.get<PluginStatus[]>("/api/plugins") };
}

/** --offline: the built-in plugins as the enabled_plugins file enables them (none shown running). */
async function offlineStatus(file: string): Promise<{ node: string; plugins: PluginStatus[] }> {
  const explicit = readEnabledPluginsFile(file) ?? BUILTIN_PLUGINS.map((p) => p.name);
  const implicit = new Set<string>();
  const visit = (name: string) => {
    for (const dep of BUILTIN_PLUGINS.find((p) => p.name === name)?.requires ?? []) {
      if (!implicit.has(dep)) {
        implicit.add(dep);
        visit(dep);
      }
    }
  };
  explicit.forEach(visit);
  const plugins = BUILTIN_PLUGINS.map((p) => ({
    name: p.name,
    description: p.description,
    version: p.version ?? VERSION,
    requires: p.requires ?? [],
    source: "built-in",
    running: false,
    enabled: explicit.includes(p.name) ? "explicit" as const : implicit.has(p.name) ? "implicit" as const : false as const,
  }));
  return { node: `rabbit@${hostname()}`, plugins };
}

function list(
  status: { node: string; plugins: PluginStatus[] },
  pattern: string | undefined,
  opts: Record<string, unknown>,
  io: Io,
): number {
  const node = status.node;
  const re = new RegExp(pattern ?? ".*");
  const plugins = status.plugins.filter((p) => re.test(p.name))
    .filter((p) => (opts["enabled-only"] ? p.enabled === "explicit" : opts["implicitly-enabled"] ? p.enabled !== false : true));
  if (opts.minimal) {
    for (const p of plugins) io.stdout(`${p.name}\n`);
    return ExitCode.OK;
  }
  io.stdout(`Listing plugins with pattern "${pattern ?? ".*"}" ...\n`);
  io.stdout(" Configured: E = explicitly enabled; e = implicitly enabled\n");
  io.stdout(` | Status: * = running on ${node}\n`);
  io.stdout(" |/\n");
  const width = Math.max(0, ...plugins.map((p) => p.name.length));
  for (const p of plugins) {
    const mark = `${p.enabled === "explicit" ? "E" : p.enabled === "implicit" ? "e" : " "}${p.running ? "*" : " "}`;
    io.stdout(`[${mark}] ${p.name.padEnd(width)} ${p.version}\n`);
    if (opts.verbose) {
      io.stdout(`     ${p.description}\n`);
      if (p.requires.length > 0) io.stdout(`     Dependencies: ${p.requires.join(", ")}\n`);
      io.stdout(`     Source: ${p.source}\n`);
    }
  }
  return ExitCode.OK;
}

async function onlineChange(api: ApiClient, command: "enable" | "disable", names: string[], io: Io): Promise<number> {
  const node = await nodeName(api);
  const known = new Set((await api.get<PluginStatus[]>("/api/plugins")).map((p) => p.name));
  const real = names.filter((n) => !ALWAYS_ON.includes(n));
  const unknown = real.filter((n) => !known.has(n));
  if (unknown.length > 0) throw new CtlError(ExitCode.DATA, `The following plugins could not be found:\n  ${unknown.join("\n  ")}`);
  io.stdout(`${command === "enable" ? "Enabling" : "Disabling"} plugins on node ${node}:\n${names.join("\n")}\n`);
  const changed: string[] = [];
  let after: PluginStatus[] = [];
  for (const name of real) {
    const answer = await api.put(apiPath("plugins", name), { enabled: command === "enable" }) as {
      started?: string[];
      stopped?: string[];
      plugins: PluginStatus[];
    };
    changed.push(...(answer.started ?? answer.stopped ?? []));
    after = answer.plugins;
  }
  if (real.length === 0) after = await api.get<PluginStatus[]>("/api/plugins");
  io.stdout("The following plugins have been configured:\n");
  for (const p of after.filter((x) => x.enabled !== false)) io.stdout(`  ${p.name}\n`);
  io.stdout(`Applying plugin configuration to ${node}...\n`);
  if (changed.length === 0) io.stdout(`Plugin configuration unchanged.\n`);
  else {
    io.stdout(`The following plugins have been ${command === "enable" ? "enabled" : "disabled"}:\n`);
    for (const name of changed) io.stdout(`  ${name}\n`);
    io.stdout(`\n${command === "enable" ? "started" : "stopped"} ${changed.length} plugins.\n`);
  }
  return ExitCode.OK;
}

function offlineChange(command: "enable" | "disable", names: string[], file: string, io: Io): number {
  const available = BUILTIN_PLUGINS.map((p) => p.name);
  const unknown = names.filter((n) => !available.includes(n) && !ALWAYS_ON.includes(n));
  if (unknown.length > 0) throw new CtlError(ExitCode.DATA, `The following plugins could not be found:\n  ${unknown.join("\n  ")}`);
  // No file yet means every built-in plugin runs: that is the list a first change starts from.
  const current = readEnabledPluginsFile(file) ?? available;
  const next = command === "enable"
    ? [...current, ...names.filter((n) => !current.includes(n))]
    : current.filter((n) => !names.includes(n) && !dependsOn(n, names));
  writeEnabledPluginsFile(file, next);
  io.stdout(`${command === "enable" ? "Enabling" : "Disabling"} plugins on node rabbit@${hostname()}:\n${names.join("\n")}\n`);
  io.stdout("The following plugins have been configured:\n");
  for (const name of next) io.stdout(`  ${name}\n`);
  io.stdout(`Offline change; changes will take effect at broker restart.\n`);
  return ExitCode.OK;
}

/** Whether built-in plugin `name` requires one of `disabled` (directly or not). */
function dependsOn(name: string, disabled: readonly string[], seen = new Set<string>()): boolean {
  if (seen.has(name)) return false;
  seen.add(name);
  const requires = BUILTIN_PLUGINS.find((p) => p.name === name)?.requires ?? [];
  return requires.some((r) => disabled.includes(r) || dependsOn(r, disabled, seen));
}
