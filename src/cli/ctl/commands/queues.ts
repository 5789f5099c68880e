// list_queues, purge_queue, delete_queue: /api/queues/{vhost}[/{name}[/contents]].
import { apiPath } from "../client.ts";
import { QUEUE_COLUMNS, QUEUE_DEFAULT } from "../columns.ts";
import { columnsQuery, type Command, type Context, onNotFound, pickColumns } from "../command.ts";
import { CtlError, ExitCode } from "../errors.ts";
import { noVhost, requireVhost } from "./vhosts.ts";

/** A queue that is not there: says whether the vhost is missing too. */
async function queueNotFound(ctx: Context, name: string): Promise<never> {
  await requireVhost(ctx, ctx.global.vhost);
  throw new CtlError(ExitCode.DATA, `Queue '${name}' not found in vhost '${ctx.global.vhost}'`);
}

export const QUEUE_COMMANDS: Command[] = [
  {
    name: "list_queues",
    group: "Queues",
    summary: "Lists queues and their properties",
    usage: "[--vhost <vhost>] [<column> ...]",
    arity: [0, Infinity],
    columns: QUEUE_COLUMNS,
    async run(ctx) {
      const columns = pickColumns(ctx, QUEUE_COLUMNS, QUEUE_DEFAULT);
      const vhost = ctx.global.vhost;
      const rows = await onNotFound(
        () => ctx.api.get<Record<string, unknown>[]>(apiPath("queues", vhost), columnsQuery(columns)),
        () => noVhost(vhost),
      );
      ctx.out.list(`Listing queues for vhost ${vhost} ...`, columns, rows);
    },
  },
  {
    name: "purge_queue",
    group: "Queues",
    summary: "Purges a queue (removes all messages ready for delivery)",
    usage: "[--vhost <vhost>] <queue>",
    arity: [1, 1],
    async run(ctx) {
      const [name] = ctx.args as [string];
      const vhost = ctx.global.vhost;
      ctx.out.info(`Purging queue '${name}' in vhost '${vhost}' ...`);
      await onNotFound(() => ctx.api.delete(apiPath("queues", vhost, name, "contents")), () => queueNotFound(ctx, name));
    },
  },
  {
    name: "delete_queue",
    group: "Queues",
    summary: "Deletes a queue",
    usage: "[--vhost <vhost>] <queue> [--if-empty|-e] [--if-unused|-u]",
    arity: [1, 1],
    options: { "if-empty": { type: "boolean", short: "e" }, "if-unused": { type: "boolean", short: "u" } },
    async run(ctx) {
      const [name] = ctx.args as [string];
      const vhost = ctx.global.vhost;
      const conditions = [ctx.options["if-empty"] ? "if queue is empty" : "", ctx.options["if-unused"] ? "if queue is unused" : ""]
        .filter((c) => c !== "");
      ctx.out.info(`Deleting queue '${name}' on vhost '${vhost}'${conditions.length > 0 ? " " + conditions.join(" and ") : ""} ...`);
      const path = apiPath("queues", vhost, name);
      const queue = await ctx.api.find<{ messages_ready?: number }>(path);
      if (!queue) return queueNotFound(ctx, name);
      await onNotFound(
        () =>
          ctx.api.delete(path, {
            "if-empty": ctx.options["if-empty"] ? "true" : undefined,
            "if-unused": ctx.options["if-unused"] ? "true" : undefined,
          }),
        () => queueNotFound(ctx, name),
      );
      // Not left out by -q, as in rabbitmqctl: it is the command's result.
      ctx.out.write(`Queue was successfully deleted with ${queue.messages_ready ?? 0} ready messages\n`);
    },
  },
];
