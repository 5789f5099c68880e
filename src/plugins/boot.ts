// Which plugins run at boot, as RabbitMQ decides: --plugins when given; else the enabled_plugins
// file (--enabled-plugins-file, RABBITMQ_ENABLED_PLUGINS_FILE, or <data-dir>/enabled_plugins);
// else every available plugin (the built-ins and those in --plugins-dir).
import { join } from "node:path";
import { BUILTIN_PLUGINS } from "../../plugins/mod.ts";
import type { Broker } from "../broker/broker.ts";
import { PluginError } from "../broker/plugin_status.ts";
import { readEnabledPluginsFile } from "./enabled_file.ts";
import { type AvailablePlugin, PluginManager } from "./manager.ts";
import { loadPluginsDir } from "./third_party.ts";

/**
 * RabbitMQ plugins whose work Warren always does (the management API, Prometheus, the shovel and
 * federation management parts): accepted in enabled_plugins files and by `warren plugins`, no-ops.
 */
export const ALWAYS_ON = [
  "rabbitmq_management",
  "rabbitmq_management_agent",
  "rabbitmq_web_dispatch",
  "rabbitmq_prometheus",
  "rabbitmq_shovel_management",
  "rabbitmq_federation_management",
];

export async function loadPlugins(broker: Broker): Promise<PluginManager> {
  const o = broker.options;
  const available: AvailablePlugin[] = BUILTIN_PLUGINS.map((plugin) => ({ plugin, source: "built-in" }));
  if (o.pluginsDir !== null) available.push(...await loadPluginsDir(o.pluginsDir));
  const file = o.enabledPluginsFile ?? join(o.dataDir, "enabled_plugins");
  const known = new Set(available.map((a) => a.plugin.name));
  let explicit: string[];
  if (o.plugins !== null) {
    explicit = o.plugins.filter((n) => !ALWAYS_ON.includes(n));
    const unknown = explicit.filter((n) => !known.has(n));
    if (unknown.length > 0) {
      throw new PluginError(
        `--plugins names unknown plugin(s) ${unknown.join(", ")}; available: ${[...known].sort().join(", ") || "none"}`,
      );
    }
    broker.log.info(`plugins: from --plugins: ${explicit.join(", ") || "none"}`);
  } else {
    const fromFile = readEnabledPluginsFile(file);
    if (fromFile !== null) {
      // As RabbitMQ: a name in the file that no plugin has is reported and left out.
      const missing = fromFile.filter((n) => !known.has(n) && !ALWAYS_ON.includes(n));
      if (missing.length > 0) broker.log.warning(`plugins: ${file} names plugin(s) that are not available: ${missing.join(", ")}`);
      explicit = fromFile.filter((n) => known.has(n));
      broker.log.info(`plugins: from ${file}: ${explicit.join(", ") || "none"}`);
    } else if (o.enabledPluginsFile !== null) {
      explicit = [];
      broker.log.warning(`plugins: enabled plugins file ${file} does not exist: no plugins enabled`);
    } else {
      explicit = available.map((a) => a.plugin.name);
    }
  }
  return new PluginManager(broker, available, explicit, file);
}
