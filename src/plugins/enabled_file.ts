// RabbitMQ's enabled_plugins file: one Erlang term, a list of plugin names as atoms, ended by a
// full stop: `[rabbitmq_management,rabbitmq_shovel].` Comments (%) and any whitespace allowed.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export class EnabledPluginsError extends Error {}

/** The names in the file's text; throws EnabledPluginsError naming the file and the problem. */
export function parseEnabledPlugins(text: string, file: string): string[] {
  const src = text.replace(/%[^\n]*/g, "");
  const fail = (what: string): never => {
    throw new EnabledPluginsError(`${file}: ${what}; expected a list of plugin names such as [rabbitmq_shovel,rabbitmq_federation].`);
  };
  const m = /^\s*\[([\s\S]*)\]\s*\.\s*$/.exec(src);
  if (!m) return fail(src.trim() === "" ? "the file is empty" : "not an Erlang list ending with '.'");
  const body = m[1]!.trim();
  if (body === "") return [];
  const names: string[] = [];
  for (const raw of body.split(",")) {
    const item = raw.trim();
    const quoted = /^'((?:[^'\\]|\\.)+)'$/.exec(item)?.[1]?.replace(/\\(.)/g, "$1");
    const atom = /^[a-z][A-Za-z0-9_@]*$/.test(item) ? item : quoted;
    if (atom === undefined) return fail(`'${item}' is not a plugin name`);
    if (!names.includes(atom)) names.push(atom);
  }
  return names;
}

export function formatEnabledPlugins(names: readonly string[]): string {
  const atoms = names.map((n) => (/^[a-z][A-Za-z0-9_@]*$/.test(n) ? n : `'${n.replace(/['\\]/g, "\\$&")}'`));
  return `[${atoms.join(",")}].\n`;
}

/** The file's plugin names, or null when it does not exist. */
export function readEnabledPluginsFile(path: string): string[] | null {
  if (!existsSync(path)) return null;
  return parseEnabledPlugins(readFileSync(path, "utf8"), path);
}

/** Writes the file atomically (a crash leaves the old or the new list, never half of one). */
export function writeEnabledPluginsFile(path: string, names: readonly string[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, formatEnabledPlugins(names));
  renameSync(tmp, path);
}
