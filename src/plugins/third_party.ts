// Third-party plugins: every .js/.mjs/.ts module in --plugins-dir (or a folder there with a
// mod.ts/mod.js/index.js) that exports a plugin as `plugin` or as its default export. Works in
// the compiled executable too (the modules are loaded from disk at boot).
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { PluginError } from "../broker/plugin_status.ts";
import { isPlugin } from "./api.ts";
import type { AvailablePlugin } from "./manager.ts";

const MODULE = /\.(?:ts|js|mjs)$/;
const ENTRIES = ["mod.ts", "mod.js", "index.ts", "index.js"];

/** The plugin modules in `dir`, in name order; throws PluginError naming the file and the reason. */
export async function loadPluginsDir(dir: string): Promise<AvailablePlugin[]> {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new PluginError(`plugins directory ${root} does not exist or is not a directory`);
  }
  const files: string[] = [];
  for (const name of readdirSync(root).sort()) {
    if (name.startsWith(".") || name.endsWith(".d.ts")) continue;
    const path = join(root, name);
    if (statSync(path).isDirectory()) {
      const entry = ENTRIES.map((e) => join(path, e)).find((p) => existsSync(p));
      if (entry) files.push(entry);
    } else if (MODULE.test(name)) files.push(path);
  }
  const out: AvailablePlugin[] = [];
  for (const file of files) out.push({ plugin: await loadModule(file), source: file });
  return out;
}

async function loadModule(file: string) {
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (err) {
    throw new PluginError(`cannot load plugin module ${file}: ${(err as Error).message}`);
  }
  const candidate = mod.plugin ?? mod.default;
  if (!isPlugin(candidate)) {
    throw new PluginError(
      `plugin module ${file} exports no plugin (an object with a name and a description, as \`plugin\` or the default export)`,
    );
  }
  return candidate;
}
