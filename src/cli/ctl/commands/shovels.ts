// The shovel plugin's commands (rabbitmqctl shovel_status, delete_shovel, restart_shovel; and
// list_shovels, the name the issue and other tools use for shovel_status), over
// GET /api/shovels, DELETE /api/parameters/shovel and DELETE /api/shovels/vhost/…/restart.
import { apiPath } from "../client.ts";
import { type Column, failoverColumns, field } from "../columns.ts";
import { type Command, type Context, onNotFound, quote } from "../command.ts";
import { CtlError, ExitCode } from "../errors.ts";

type Row = Record<string, unknown>;

/** shovel_status's columns: the endpoints as "uri (queue or exchange/key)". */
const STATUS_COLUMNS: Column[] = [
  field("name"),
  field("vhost"),
  field("type"),
  field("state"),
  field("source_protocol", "src_protocol"),
  { name: "source", fields: [], get: (r) => endpoint(r, "src"), kind: "plain" },
  field("destination_protocol", "dest_protocol"),
  { name: "destination", fields: [], get: (r) => endpoint(r, "dest"), kind: "plain" },
  field("termination_reason", "reason"),
  field("last_changed", "timestamp"),
  ...failoverColumns(),
];

function endpoint(r: Row, side: "src" | "dest"): string | undefined {
  const uri = r[`${side}_uri`];
  if (uri === undefined) return undefined;
  const what = r[`${side}_queue`] !== undefined
    ? `queue ${r[`${side}_queue`]}`
    : r[`${side}_exchange`] !== undefined
    ? `exchange ${r[`${side}_exchange`]}${r[`${side}_exchange_key`] !== undefined ? ` (key ${r[`${side}_exchange_key`]})` : ""}`
    : "";
  return what === "" ? String(uri) : `${uri} ${what}`;
}

async function status(ctx: Context): Promise<void> {
  const rows = await ctx.api.get<Row[]>("/api/shovels");
  ctx.out.list("Shovel status on node ...", STATUS_COLUMNS, rows);
}

/** The shovel of that name in the vhost, or an error naming what was not found (exit 69). */
async function requireShovel(ctx: Context, name: string): Promise<void> {
  const vhost = ctx.global.vhost;
  const rows = await onNotFound(() => ctx.api.get<Row[]>(apiPath("shovels", vhost)), () => `Virtual host ${quote(vhost)} does not exist`);
  if (!rows.some((r) => r.name === name)) {
    throw new CtlError(
      ExitCode.UNAVAILABLE,
      `Shovel with the given name was not found on the target node '${name}' and / or virtual host '${vhost}'`,
    );
  }
}

export const SHOVEL_COMMANDS: Command[] = [
  { name: "shovel_status", group: "Shovel plugin", summary: "Displays status of Shovel on a node", usage: "", arity: [0, 0], run: status },
  {
    name: "list_shovels",
    group: "Shovel plugin",
    summary: "Lists shovels and their status (as shovel_status)",
    usage: "",
    arity: [0, 0],
    run: status,
  },
  {
    name: "delete_shovel",
    group: "Shovel plugin",
    summary: "Deletes a Shovel",
    usage: "[--vhost <vhost>] <name>",
    arity: [1, 1],
    async run(ctx) {
      const [name] = ctx.args as [string];
      ctx.out.info(`Deleting shovel ${name} in vhost ${ctx.global.vhost}`);
      await requireShovel(ctx, name);
      await ctx.api.delete(apiPath("parameters", "shovel", ctx.global.vhost, name));
    },
  },
  {
    name: "restart_shovel",
    group: "Shovel plugin",
    summary: "Restarts a dynamic Shovel",
    usage: "[--vhost <vhost>] <name>",
    arity: [1, 1],
    async run(ctx) {
      const [name] = ctx.args as [string];
      ctx.out.info(`Restarting dynamic Shovel ${name} in virtual host ${ctx.global.vhost}`);
      await requireShovel(ctx, name);
      await ctx.api.delete(`${apiPath("shovels", "vhost", ctx.global.vhost, name)}/restart`);
    },
  },
];
