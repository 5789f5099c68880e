// list_exchanges, list_bindings, list_connections, list_channels, list_consumers,
// close_connection and close_all_connections: the read side of
// /api/{exchanges,bindings,consumers}/{vhost}, /api/connections and /api/channels.
import { ApiError, apiPath } from "../client.ts";
import {
  BINDING_COLUMNS,
  BINDING_DEFAULT,
  CHANNEL_COLUMNS,
  CHANNEL_DEFAULT,
  type ColumnSet,
  CONNECTION_COLUMNS,
  CONNECTION_DEFAULT,
  CONSUMER_COLUMNS,
  CONSUMER_DEFAULT,
  EXCHANGE_COLUMNS,
  EXCHANGE_DEFAULT,
} from "../columns.ts";
import { columnsQuery, type Command, type Context, onNotFound, pickColumns, quote } from "../command.ts";
import { CtlUsageError } from "../errors.ts";
import { noVhost } from "./vhosts.ts";

function wholeNumber(value: unknown, option: string): number {
  const n = Number(value);
  if (typeof value !== "string" || !/^\d+$/.test(value)) {
    throw new CtlUsageError(`${option} must be a whole number, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** DELETE /api/connections/{name}; one that closed meanwhile is not an error. */
async function closeIfOpen(ctx: Context, name: string, explanation: string): Promise<boolean> {
  try {
    await ctx.api.delete(apiPath("connections", name), {}, { "x-reason": explanation });
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return false;
    throw err;
  }
}

interface Listing {
  name: string;
  summary: string;
  columns: ColumnSet;
  defaults: string[];
  /** Whether -p narrows it to a vhost (the path then ends in the vhost). */
  scoped: boolean;
  resource: string;
  banner(vhost: string): string;
}

function listing(l: Listing): Command {
  return {
    name: l.name,
    group: "Monitoring",
    summary: l.summary,
    usage: `${l.scoped ? "[--vhost <vhost>] " : ""}[<column> ...]`,
    arity: [0, Infinity],
    columns: l.columns,
    async run(ctx: Context) {
      const columns = pickColumns(ctx, l.columns, l.defaults);
      const vhost = ctx.global.vhost;
      const query = columnsQuery(columns);
      const rows = l.scoped
        ? await onNotFound(() => ctx.api.get<Record<string, unknown>[]>(apiPath(l.resource, vhost), query), () => noVhost(vhost))
        : await ctx.api.get<Record<string, unknown>[]>(apiPath(l.resource), query);
      ctx.out.list(l.banner(vhost), columns, rows);
    },
  };
}

export const LISTING_COMMANDS: Command[] = [
  listing({
    name: "list_exchanges",
    summary: "Lists exchanges",
    columns: EXCHANGE_COLUMNS,
    defaults: EXCHANGE_DEFAULT,
    scoped: true,
    resource: "exchanges",
    banner: (v) => `Listing exchanges for vhost ${v} ...`,
  }),
  listing({
    name: "list_bindings",
    summary: "Lists all bindings on a vhost",
    columns: BINDING_COLUMNS,
    defaults: BINDING_DEFAULT,
    scoped: true,
    resource: "bindings",
    banner: (v) => `Listing bindings for vhost ${v}...`,
  }),
  listing({
    name: "list_connections",
    summary: "Lists AMQP 0-9-1 connections for the node",
    columns: CONNECTION_COLUMNS,
    defaults: CONNECTION_DEFAULT,
    scoped: false,
    resource: "connections",
    banner: () => "Listing connections ...",
  }),
  listing({
    name: "list_channels",
    summary: "Lists all channels in the node",
    columns: CHANNEL_COLUMNS,
    defaults: CHANNEL_DEFAULT,
    scoped: false,
    resource: "channels",
    banner: () => "Listing channels ...",
  }),
  listing({
    name: "list_consumers",
    summary: "Lists all consumers for a vhost",
    columns: CONSUMER_COLUMNS,
    defaults: CONSUMER_DEFAULT,
    scoped: true,
    resource: "consumers",
    banner: (v) => `Listing consumers in vhost ${v} ...`,
  }),
  {
    name: "close_connection",
    group: "Operations",
    summary: "Closes a connection (320 CONNECTION_FORCED with the explanation)",
    usage: "<connection name> <explanation>",
    arity: [2, 2],
    details: 'The connection name is what list_connections name (or pid) shows, e.g. "127.0.0.1:50412 -> 127.0.0.1:5672".',
    async run(ctx) {
      const [name, explanation] = ctx.args as [string, string];
      ctx.out.info(`Closing connection ${name}, reason: ${explanation}...`);
      await onNotFound(
        () => ctx.api.delete(apiPath("connections", name), {}, { "x-reason": explanation }),
        () => `Connection ${quote(name)} not found`,
      );
    },
  },
  {
    name: "close_all_connections",
    group: "Operations",
    summary: "Closes all connections in a virtual host, or on the node with --global",
    usage: "[-p <vhost>] [--global] [--per-connection-delay <ms>] [--limit <n>] <explanation>",
    arity: [1, 1],
    options: { global: { type: "boolean" }, "per-connection-delay": { type: "string" }, limit: { type: "string" } },
    details: "Each client gets 320 CONNECTION_FORCED with the explanation. Without --global only the connections\n" +
      "of -p (default /) close; --limit N closes at most N (0: all), --per-connection-delay waits between them.",
    async run(ctx) {
      const [explanation] = ctx.args as [string];
      const delayMs = wholeNumber(ctx.options["per-connection-delay"] ?? "0", "--per-connection-delay");
      const limit = wholeNumber(ctx.options["limit"] ?? "0", "--limit");
      const vhost = ctx.global.vhost;
      const global = ctx.options["global"] === true;
      const open = await ctx.api.get<{ name: string; vhost: string }[]>(apiPath("connections"), { columns: "name,vhost" });
      const chosen = global ? open : open.filter((c) => c.vhost === vhost);
      const targets = limit > 0 ? chosen.slice(0, limit) : chosen;
      ctx.out.info(
        `Closing ${targets.length} connection(s) ${global ? "on the node" : `in vhost ${quote(vhost)}`}, reason: ${explanation}...`,
      );
      for (const [i, c] of targets.entries()) {
        if (i > 0 && delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
        await closeIfOpen(ctx, c.name, explanation);
      }
    },
  },
];
