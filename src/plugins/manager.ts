// The plugin loader at run time: which plugins are available (built-in and third-party), which
// are enabled (explicitly, or implicitly as a dependency), registering their parts with the
// broker, starting and stopping them, and keeping the enabled_plugins file in step.
import type { Broker } from "../broker/broker.ts";
import type { ExchangeType } from "../broker/exchange_types.ts";
import type { ParameterSpec } from "../broker/parameters.ts";
import { type PluginControl, PluginError, type PluginStatus } from "../broker/plugin_status.ts";
import type { Logger } from "../log.ts";
import { VERSION } from "../version.ts";
import type { Plugin, PluginContext, PluginRoutes } from "./api.ts";
import type { PluginTables } from "../../storage/plugin_tables.ts";

/** A plugin's management routes, as the HTTP layer mounts them. */
export interface PluginRouteSource {
  name: string;
  running(): boolean;
  mount(routes: PluginRoutes): void;
}
import { writeEnabledPluginsFile } from "./enabled_file.ts";
import { type ClientHost, createClientHost } from "./client_host.ts";

export interface AvailablePlugin {
  plugin: Plugin;
  /** "built-in", or the file it was loaded from. */
  source: string;
}

export class PluginManager implements PluginControl {
  private readonly available = new Map<string, AvailablePlugin>();
  private explicit: string[];
  private readonly running = new Map<string, PluginContext>();
  /** The AMQP listeners are open (plugins started from now on hear `listening` at once). */
  private isListening = false;
  /** Each plugin's tables (migrated once, kept across disable and enable). */
  private readonly tables = new Map<string, PluginTables>();
  /** The exchange types each registered plugin made. */
  private readonly types = new Map<string, readonly ExchangeType[]>();
  /** The parameter specs each registered plugin made. */
  private readonly specs = new Map<string, readonly ParameterSpec[]>();
  /** What protocol plugins get of the broker (one, shared). */
  private clients: ClientHost | undefined;

  /**
   * `explicit`: the names enabled by name. `file`: where runtime changes are written (null: not
   * kept). Throws PluginError for a duplicate name, an unknown name or an unknown dependency.
   */
  constructor(
    private readonly broker: Broker,
    plugins: readonly AvailablePlugin[],
    explicit: readonly string[],
    private readonly file: string | null,
  ) {
    for (const p of plugins) {
      const other = this.available.get(p.plugin.name);
      if (other) throw new PluginError(`plugin ${p.plugin.name} (${p.source}) has the same name as the one from ${other.source}`);
      this.available.set(p.plugin.name, p);
    }
    for (const p of plugins) {
      for (const dep of p.plugin.requires ?? []) {
        if (!this.available.has(dep)) {
          throw new PluginError(`plugin ${p.plugin.name} (${p.source}) requires ${dep}, which is not available`);
        }
      }
    }
    this.explicit = [...explicit];
    this.closure(this.explicit); // unknown names stop the boot here
    broker.metricsSources.push(() => this.metricsText());
  }

  /** Every available plugin's routes, mounted once; each answers only while its plugin runs. */
  httpRoutes(): PluginRouteSource[] {
    return [...this.available.values()]
      .filter(({ plugin }) => plugin.routes !== undefined)
      .map(({ plugin }) => ({
        name: plugin.name,
        running: () => this.running.has(plugin.name),
        mount: (routes: PluginRoutes) => plugin.routes!(routes, this.running.get(plugin.name) ?? this.context(plugin)),
      }));
  }

  private metricsText(): string {
    let text = "";
    for (const [name, ctx] of this.running) {
      const metrics = this.available.get(name)!.plugin.metrics;
      if (metrics) text += metrics(ctx);
    }
    return text;
  }

  private context(plugin: Plugin): PluginContext {
    return {
      broker: this.broker,
      log: prefixed(this.broker.log, plugin.name),
      tables: this.tables.get(plugin.name),
      clients: this.clients ??= createClientHost(this.broker),
    };
  }

  /** The enabled plugins with their dependencies, each after what it requires. */
  private closure(names: readonly string[]): Plugin[] {
    const out: Plugin[] = [];
    const seen = new Set<string>();
    const visit = (name: string, path: string[]) => {
      if (seen.has(name)) return;
      if (path.includes(name)) throw new PluginError(`plugin dependency cycle: ${[...path, name].join(" -> ")}`);
      const entry = this.available.get(name);
      if (!entry) throw new PluginError(`unknown plugin ${name}; available: ${[...this.available.keys()].sort().join(", ") || "none"}`);
      for (const dep of entry.plugin.requires ?? []) visit(dep, [...path, name]);
      seen.add(name);
      out.push(entry.plugin);
    };
    for (const name of names) visit(name, []);
    return out;
  }

  /** Boot, before recovery: every enabled plugin's exchange types and parameter components. */
  registerEnabled(): void {
    for (const plugin of this.closure(this.explicit)) this.register(plugin);
  }

  /** Boot, after recovery: starts every enabled plugin; returns their names in start order. */
  async startEnabled(): Promise<string[]> {
    const started: string[] = [];
    for (const plugin of this.closure(this.explicit)) {
      await this.start(plugin);
      started.push(plugin.name);
    }
    return started;
  }

  /** Boot: the AMQP listeners are open; every running plugin hears it (and those started later, at once). */
  listening(): void {
    this.isListening = true;
    for (const [name, ctx] of this.running) this.announceListening(this.available.get(name)!.plugin, ctx);
  }

  private announceListening(plugin: Plugin, ctx: PluginContext): void {
    try {
      plugin.listening?.(ctx);
    } catch (err) {
      ctx.log.error(`failed once the broker listened: ${(err as Error).message}`);
    }
  }

  async stopAll(): Promise<void> {
    for (const name of [...this.running.keys()].reverse()) await this.stop(this.available.get(name)!.plugin);
  }

  list(): PluginStatus[] {
    const implicit = new Set(this.closure(this.explicit).map((p) => p.name));
    return [...this.available.values()]
      .map(({ plugin, source }) => ({
        name: plugin.name,
        description: plugin.description,
        version: plugin.version ?? VERSION,
        enabled: this.explicit.includes(plugin.name)
          ? "explicit" as const
          : implicit.has(plugin.name)
          ? "implicit" as const
          : false as const,
        running: this.running.has(plugin.name),
        requires: plugin.requires ?? [],
        source,
      }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /**
   * Enables and starts. If one fails to start, those started by this call are stopped again and
   * nothing is recorded: the enabled_plugins file never names a plugin that cannot start.
   */
  async enable(names: readonly string[]): Promise<string[]> {
    this.closure(names); // refuses unknown names before changing anything
    const explicit = [...this.explicit, ...names.filter((n) => !this.explicit.includes(n))];
    const started: Plugin[] = [];
    for (const plugin of this.closure(explicit)) {
      if (this.running.has(plugin.name)) continue;
      this.register(plugin);
      try {
        await this.start(plugin);
      } catch (err) {
        this.unregister(plugin);
        for (const p of started.reverse()) await this.stop(p);
        throw err;
      }
      started.push(plugin);
    }
    this.explicit = explicit;
    this.save();
    return started.map((p) => p.name);
  }

  async disable(names: readonly string[]): Promise<string[]> {
    for (const name of names) if (!this.available.has(name)) throw new PluginError(`unknown plugin ${name}`);
    // As rabbitmq-plugins: what requires a disabled plugin is disabled too.
    const off = new Set(names);
    for (let grew = true; grew;) {
      grew = false;
      for (const { plugin } of this.available.values()) {
        if (!off.has(plugin.name) && (plugin.requires ?? []).some((d) => off.has(d))) {
          off.add(plugin.name);
          grew = true;
        }
      }
    }
    this.explicit = this.explicit.filter((n) => !off.has(n));
    this.save();
    const keep = new Set(this.closure(this.explicit).map((p) => p.name));
    const stopped: string[] = [];
    for (const name of [...this.running.keys()].reverse()) {
      if (keep.has(name)) continue;
      await this.stop(this.available.get(name)!.plugin);
      stopped.push(name);
    }
    return stopped;
  }

  private register(plugin: Plugin): void {
    const broker = this.broker;
    if (plugin.migrations && plugin.migrations.length > 0 && broker.store?.pluginTables && !this.tables.has(plugin.name)) {
      try {
        this.tables.set(plugin.name, broker.store.pluginTables(plugin.name, plugin.migrations));
      } catch (err) {
        throw new PluginError(`plugin ${plugin.name}: its migrations failed: ${(err as Error).message}`);
      }
    }
    const given = plugin.exchangeTypes;
    const types = typeof given === "function" ? given(this.context(plugin)) : given ?? [];
    this.types.set(plugin.name, types);
    for (const type of types) {
      if (broker.exchangeTypes.get(type.name) === undefined) broker.exchangeTypes.register(type, plugin.name);
    }
    for (const validator of plugin.policyValidators ?? []) broker.policyValidators.register(validator);
    const specs = plugin.parameters?.(this.context(plugin)) ?? [];
    this.specs.set(plugin.name, specs);
    for (const spec of specs) if (!broker.parameters.has(spec.name)) broker.parameters.registerSpec(spec);
  }

  private async start(plugin: Plugin): Promise<void> {
    const ctx = this.context(plugin);
    this.running.set(plugin.name, ctx);
    try {
      await plugin.start?.(ctx);
      for (const spec of this.specs.get(plugin.name) ?? []) this.broker.parameters.activate(spec.name);
    } catch (err) {
      this.running.delete(plugin.name);
      throw new PluginError(`plugin ${plugin.name} failed to start: ${(err as Error).message}`);
    }
    if (this.isListening) this.announceListening(plugin, ctx);
  }

  /**
   * Stops a plugin and takes its parts back: new declares of its exchange types are refused
   * (503, as for any unknown type); exchanges already declared keep routing until they are
   * deleted or the broker restarts without the plugin (they stay stored for when it returns).
   */
  private async stop(plugin: Plugin): Promise<void> {
    const ctx = this.running.get(plugin.name);
    if (!ctx) return;
    this.running.delete(plugin.name);
    try {
      await plugin.stop?.(ctx);
    } catch (err) {
      ctx.log.error(`failed to stop cleanly: ${(err as Error).message}`);
    }
    this.unregister(plugin);
  }

  /** Takes back what register() added for the plugin (and nothing another plugin added). */
  private unregister(plugin: Plugin): void {
    for (const type of this.types.get(plugin.name) ?? []) {
      if (this.broker.exchangeTypes.get(type.name) === type) this.broker.exchangeTypes.unregister(type.name);
    }
    this.types.delete(plugin.name);
    for (const spec of this.specs.get(plugin.name) ?? []) this.broker.parameters.unregister(spec.name);
    for (const validator of plugin.policyValidators ?? []) this.broker.policyValidators.unregister(validator);
    this.specs.delete(plugin.name);
  }

  private save(): void {
    if (this.file !== null) writeEnabledPluginsFile(this.file, this.explicit);
  }
}

function prefixed(log: Logger, name: string): Logger {
  return {
    debug: (m: string) => log.debug(`${name}: ${m}`),
    info: (m: string) => log.info(`${name}: ${m}`),
    warning: (m: string) => log.warning(`${name}: ${m}`),
    error: (m: string) => log.error(`${name}: ${m}`),
    enabled: (level) => log.enabled(level),
  };
}
