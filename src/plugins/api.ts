// What a plugin is: a value exported by plugins/<name>/mod.ts (or a third-party module loaded
// with --plugins-dir) with a RabbitMQ-style name and optional parts. The core registers the parts
// of every enabled plugin before recovery (so stored exchanges of a plugin's type come back),
// calls start() once the broker is recovered, and stop() when it stops or the plugin is disabled.
// A plugin touches only its own folder and these interfaces; if it needs more, the interface grows.
import type { Context } from "hono";
import type { Broker } from "../broker/broker.ts";
import type { ExchangeType } from "../broker/exchange_types.ts";
import type { ParameterSpec } from "../broker/parameters.ts";
import type { PolicyValidator } from "../broker/policy.ts";
import type { HttpEnv } from "../http/auth.ts";
import type { Logger } from "../log.ts";
import type { PluginMigration, PluginTables } from "../../storage/plugin_tables.ts";
import type { ClientHost } from "./client_host.ts";

export interface Plugin {
  /** RabbitMQ's name for it: rabbitmq_consistent_hash_exchange, rabbitmq_shovel, … */
  readonly name: string;
  /** One line, shown by `warren plugins list -v` and the management API. */
  readonly description: string;
  readonly version?: string;
  /** Plugins that must be enabled (and are started) before this one. */
  readonly requires?: readonly string[];
  /**
   * Its own tables: numbered SQL migrations, applied when it is registered (tracked per plugin);
   * ctx.tables then writes inside the store's group commit and reads.
   */
  readonly migrations?: readonly PluginMigration[];
  /** Policy keys it adds (federation-upstream, …), validated with RabbitMQ's texts. */
  readonly policyValidators?: readonly PolicyValidator[];
  /**
   * Exchange types it provides (validate, router, intercept): a list, or a function of the
   * context for types that keep per-broker state (x-delayed-message's held messages), called
   * once when the plugin is registered.
   */
  readonly exchangeTypes?: readonly ExchangeType[] | ((ctx: PluginContext) => readonly ExchangeType[]);
  /**
   * Runtime-parameter components it provides (shovel, federation-upstream, …): validate,
   * notify, notifyClear. The core stores and recovers their values and, once the plugin has
   * started, notifies it of each one it already has.
   */
  parameters?(ctx: PluginContext): readonly ParameterSpec[];
  /**
   * Management API routes, mounted at boot under the same authentication as the built-in ones
   * (so also for a plugin enabled later); a path goes to the first running plugin that has it, 404 when none.
   */
  routes?(routes: PluginRoutes, ctx: PluginContext): void;
  /** Prometheus exposition lines (# HELP, # TYPE, samples) appended to /metrics. */
  metrics?(ctx: PluginContext): string;
  /** The broker is recovered and about to listen (or the plugin was enabled at runtime). */
  start?(ctx: PluginContext): void | Promise<void>;
  /**
   * The broker accepts AMQP connections: after start at boot (start runs before the listeners
   * open), right after start when enabled at runtime. Links that may point at this broker's own
   * listener (shovels, federation) connect from here, not from start.
   */
  listening?(ctx: PluginContext): void;
  /** The broker stops, or the plugin is disabled at runtime. */
  stop?(ctx: PluginContext): void | Promise<void>;
}

export type RouteHandler = (c: Context<HttpEnv>) => Response | Promise<Response>;

/** Where a plugin adds management API routes (hono paths, e.g. "/api/shovels/:vhost"). */
export interface PluginRoutes {
  get(path: string, handler: RouteHandler): void;
  put(path: string, handler: RouteHandler): void;
  post(path: string, handler: RouteHandler): void;
  delete(path: string, handler: RouteHandler): void;
}

export interface PluginContext {
  readonly broker: Broker;
  /** Log lines prefixed with the plugin's name. */
  readonly log: Logger;
  /** Its tables, when it has migrations and the store has SQL. */
  readonly tables: PluginTables | undefined;
  /**
   * For plugins that serve clients of another protocol (MQTT): listeners, logins with the AMQP
   * rules, a place in /api/connections, the group commit, settings (src/plugins/client_host.ts).
   */
  readonly clients: ClientHost;
}

/** Type guard for a module's export: what a third-party module must export as `plugin` or default. */
export function isPlugin(value: unknown): value is Plugin {
  if (typeof value !== "object" || value === null) return false;
  const p = value as Record<string, unknown>;
  return typeof p.name === "string" && p.name !== "" && typeof p.description === "string";
}
