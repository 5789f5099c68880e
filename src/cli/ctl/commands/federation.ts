// federation_status and restart_federation_link (rabbitmq_federation's CLI commands), over
// /api/federation-links.
import { apiPath } from "../client.ts";
import { type Column, failoverColumns, field } from "../columns.ts";
import { type Command, quote } from "../command.ts";
import { CtlError, ExitCode } from "../errors.ts";

type Link = Record<string, unknown>;

const COLUMNS: Column[] = [
  field("type"),
  { name: "name", fields: ["exchange", "queue"], get: (l) => l.exchange ?? l.queue, kind: "plain" },
  field("vhost"),
  {
    name: "upstream_name",
    fields: ["upstream_exchange", "upstream_queue"],
    get: (l) => l.upstream_exchange ?? l.upstream_queue,
    kind: "plain",
  },
  field("upstream"),
  field("status"),
  field("local_connection"),
  field("uri"),
  field("timestamp"),
  field("error"),
  field("id"),
  ...failoverColumns(),
];

export const FEDERATION_COMMANDS: Command[] = [
  {
    name: "federation_status",
    group: "Federation",
    summary: "Displays federation link status",
    usage: "[--only-down]",
    arity: [0, 0],
    options: { "only-down": { type: "boolean" } },
    async run(ctx) {
      const path = ctx.options["only-down"] === true ? "/api/federation-links/state/down" : "/api/federation-links";
      const rows = await ctx.api.get<Link[]>(path);
      ctx.out.list("Listing federation links on node ...", COLUMNS, rows);
    },
  },
  {
    name: "restart_federation_link",
    group: "Federation",
    summary: "Restarts a running federation link",
    usage: "<link_id>",
    arity: [1, 1],
    async run(ctx) {
      const [id] = ctx.args as [string];
      const link = (await ctx.api.get<Link[]>("/api/federation-links")).find((l) => l.id === id);
      if (!link) throw new CtlError(ExitCode.DATA, `Federation link with ID ${id} not found`);
      ctx.out.info(`Restarting federation link ${id} ...`);
      await ctx.api.delete(apiPath("federation-links", "vhost", String(link.vhost), id, String(link.node), "restart"));
      ctx.out.info(`Restarted link ${quote(id)}`);
    },
  },
];
