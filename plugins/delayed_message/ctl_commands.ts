// `warren ctl` commands for held delayed messages, over the plugin's management routes:
//   list_delayed_messages [--vhost <vhost>] <exchange> [--page N] [--page-size N] [<column> ...]
//   delete_delayed_message [--vhost <vhost>] <exchange> <id>
//   purge_delayed_messages [--vhost <vhost>] <exchange>
// src/cli/ctl/mod.ts lists them with the core's commands (the ctl runs without the plugins).
import { apiPath } from "../../src/cli/ctl/client.ts";
import { type Column, type ColumnSet, field } from "../../src/cli/ctl/columns.ts";
import { type Command, type Context, onNotFound, pickColumns } from "../../src/cli/ctl/command.ts";
import { CtlUsageError } from "../../src/cli/ctl/errors.ts";

const COLUMNS: ColumnSet = new Map<string, Column>(
  [
    field("id"),
    field("due"),
    field("delay"),
    field("published_at"),
    field("routing_key"),
    field("payload_bytes"),
    field("payload"),
    field("stored"),
    field("headers", "properties.headers"),
    field("message_id", "properties.message_id"),
  ].map((c) => [c.name, c]),
);
const DEFAULT_COLUMNS = ["id", "due", "delay", "routing_key", "payload_bytes", "stored"];

const notFound = (ctx: Context, exchange: string) => `Exchange '${exchange}' not found in vhost '${ctx.global.vhost}'`;

function positiveInteger(value: unknown, what: string, fallback: number): string {
  if (value === undefined) return String(fallback);
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CtlUsageError(`--${what} must be a positive integer`);
  return String(n);
}

export const DELAYED_MESSAGE_COMMANDS: Command[] = [
  {
    name: "list_delayed_messages",
    group: "Delayed messages",
    summary: "Lists the messages an x-delayed-message exchange holds, in due order",
    usage: "[--vhost <vhost>] <exchange> [--page <n>] [--page-size <n>] [<column> ...]",
    arity: [1, Infinity],
    columns: COLUMNS,
    options: { page: { type: "string" }, "page-size": { type: "string" } },
    async run(ctx) {
      const [exchange, ...rest] = ctx.args as [string, ...string[]];
      const columns = pickColumns({ ...ctx, args: rest }, COLUMNS, DEFAULT_COLUMNS);
      const vhost = ctx.global.vhost;
      const query = {
        page: positiveInteger(ctx.options.page, "page", 1),
        page_size: positiveInteger(ctx.options["page-size"], "page-size", 100),
      };
      const page = await onNotFound(
        () =>
          ctx.api.get<{ items: Record<string, unknown>[]; total_count: number }>(apiPath("exchanges", vhost, exchange, "delayed"), query),
        () => notFound(ctx, exchange),
      );
      ctx.out.list(
        `Listing delayed messages of exchange '${exchange}' in vhost '${vhost}' (${page.total_count} held) ...`,
        columns,
        page.items,
      );
    },
  },
  {
    name: "delete_delayed_message",
    group: "Delayed messages",
    summary: "Deletes one held message of an x-delayed-message exchange",
    usage: "[--vhost <vhost>] <exchange> <id>",
    arity: [2, 2],
    async run(ctx) {
      const [exchange, id] = ctx.args as [string, string];
      const vhost = ctx.global.vhost;
      ctx.out.info(`Deleting delayed message ${id} of exchange '${exchange}' in vhost '${vhost}' ...`);
      await onNotFound(
        () => ctx.api.delete(apiPath("exchanges", vhost, exchange, "delayed", id)),
        () => `No delayed message ${id} held by exchange '${exchange}' in vhost '${vhost}'`,
      );
    },
  },
  {
    name: "purge_delayed_messages",
    group: "Delayed messages",
    summary: "Deletes every message an x-delayed-message exchange holds",
    usage: "[--vhost <vhost>] <exchange>",
    arity: [1, 1],
    async run(ctx) {
      const [exchange] = ctx.args as [string];
      const vhost = ctx.global.vhost;
      ctx.out.info(`Purging delayed messages of exchange '${exchange}' in vhost '${vhost}' ...`);
      const result = await onNotFound(
        () => ctx.api.delete(apiPath("exchanges", vhost, exchange, "delayed")),
        () => notFound(ctx, exchange),
      );
      const purged = (result as { purged?: number } | undefined)?.purged;
      if (purged !== undefined) ctx.out.info(`Purged ${purged} delayed message(s)`);
    },
  },
];
