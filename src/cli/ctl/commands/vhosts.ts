// list_vhosts, add_vhost, delete_vhost, set_vhost_tags, trace_on, trace_off: /api/vhosts[/{vhost}].
import { apiPath } from "../client.ts";
import { VHOST_COLUMNS, VHOST_DEFAULT } from "../columns.ts";
import { columnsQuery, type Command, type Context, onNotFound, pickColumns, quote } from "../command.ts";
import { CtlError, ExitCode } from "../errors.ts";

export const noVhost = (name: string) => `Virtual host ${quote(name)} does not exist`;

export async function requireVhost(ctx: Context, name: string): Promise<void> {
  if (!(await ctx.api.find(apiPath("vhosts", name)))) throw new CtlError(ExitCode.DATA, noVhost(name));
}

const splitTags = (tags: string) => tags.split(",").map((t) => t.trim()).filter((t) => t !== "");

export const VHOST_COMMANDS: Command[] = [
  {
    name: "list_vhosts",
    group: "Virtual hosts",
    summary: "Lists virtual hosts",
    usage: "[<column> ...]",
    arity: [0, Infinity],
    columns: VHOST_COLUMNS,
    async run(ctx) {
      const columns = pickColumns(ctx, VHOST_COLUMNS, VHOST_DEFAULT);
      const vhosts = await ctx.api.get<Record<string, unknown>[]>(apiPath("vhosts"), columnsQuery(columns));
      ctx.out.list("Listing vhosts ...", columns, vhosts);
    },
  },
  {
    name: "add_vhost",
    group: "Virtual hosts",
    summary: "Creates a virtual host (the caller gets full permissions in it)",
    usage: "<vhost> [--description <description>] [--tags <tag1>,<tag2>,...] [--default-queue-type <classic|quorum>]",
    arity: [1, 1],
    options: { description: { type: "string" }, tags: { type: "string" }, "default-queue-type": { type: "string" } },
    async run(ctx) {
      const [name] = ctx.args as [string];
      ctx.out.info(`Adding vhost ${quote(name)} ...`);
      const body: Record<string, unknown> = {};
      if (typeof ctx.options.description === "string") body.description = ctx.options.description;
      if (typeof ctx.options.tags === "string") body.tags = splitTags(ctx.options.tags);
      if (typeof ctx.options["default-queue-type"] === "string") body.default_queue_type = ctx.options["default-queue-type"];
      await ctx.api.put(apiPath("vhosts", name), body);
    },
  },
  {
    name: "delete_vhost",
    group: "Virtual hosts",
    summary: "Deletes a virtual host and everything in it",
    usage: "<vhost>",
    arity: [1, 1],
    async run(ctx) {
      const [name] = ctx.args as [string];
      ctx.out.info(`Deleting vhost ${quote(name)} ...`);
      await onNotFound(() => ctx.api.delete(apiPath("vhosts", name)), () => noVhost(name));
    },
  },
  {
    name: "set_vhost_tags",
    group: "Virtual hosts",
    summary: "Sets virtual host tags (none clears them)",
    usage: "<vhost> [<tag> ...]",
    arity: [1, Infinity],
    async run(ctx) {
      const [name, ...tags] = ctx.args as [string, ...string[]];
      ctx.out.info(`Setting tags for virtual host ${quote(name)} to [${tags.join(", ")}] ...`);
      await requireVhost(ctx, name); // PUT would create it
      await ctx.api.put(apiPath("vhosts", name), { tags: tags.flatMap(splitTags) });
    },
  },
  ...(["on", "off"] as const).map((state): Command => ({
    name: `trace_${state}`,
    group: "Virtual hosts",
    summary: `${state === "on" ? "Starts" : "Stops"} the firehose tracer of the vhost (-p): messages published and delivered ${
      state === "on" ? "are" : "are no longer"
    } copied to amq.rabbitmq.trace`,
    usage: "[-p <vhost>]",
    arity: [0, 0],
    async run(ctx) {
      const name = ctx.global.vhost;
      ctx.out.info(`${state === "on" ? "Starting" : "Stopping"} tracing for vhost ${quote(name)} ...`);
      await requireVhost(ctx, name); // PUT would create it
      await ctx.api.put(apiPath("vhosts", name), { tracing: state === "on" });
    },
  })),
];
