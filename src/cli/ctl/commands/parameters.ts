// Vhost and user limits, runtime parameters and global parameters: /api/vhost-limits,
// /api/user-limits, /api/parameters, /api/global-parameters.
import { ApiError, apiPath } from "../client.ts";
import { GLOBAL_PARAMETER_COLUMNS, PARAMETER_COLUMNS, USER_LIMIT_COLUMNS, VHOST_LIMIT_COLUMNS } from "../columns.ts";
import { type Command, type Context, onNotFound, quote } from "../command.ts";
import { CtlError, ExitCode } from "../errors.ts";
import { parseJsonArgument } from "./policies.ts";
import { noVhost } from "./vhosts.ts";

type Row = Record<string, unknown>;
const noUser = (name: string) => `User ${quote(name)} does not exist`;

/** Sets each limit of a JSON object with its own PUT, as the API takes them one by one. */
async function putLimits(ctx: Context, path: (name: string) => string, text: string, missing: () => string): Promise<void> {
  const limits = parseJsonArgument(text, "limits definition") as Row;
  for (const [name, value] of Object.entries(limits)) await onNotFound(() => ctx.api.put(path(name), { value }), missing);
}

const LIMIT_COMMANDS: Command[] = [
  {
    name: "set_vhost_limits",
    group: "Limits",
    summary: "Sets virtual host limits",
    usage: "[--vhost <vhost>] <definition>",
    arity: [1, 1],
    details: '<definition> is a JSON object, e.g. \'{"max-connections": 64, "max-queues": 512}\'; -1 means no limit.',
    async run(ctx) {
      const [text] = ctx.args as [string];
      const vhost = ctx.global.vhost;
      ctx.out.info(`Setting vhost limits to "${text}" for vhost ${quote(vhost)} ...`);
      await putLimits(ctx, (name) => apiPath("vhost-limits", vhost, name), text, () => noVhost(vhost));
    },
  },
  {
    name: "clear_vhost_limits",
    group: "Limits",
    summary: "Clears all virtual host limits",
    usage: "[--vhost <vhost>]",
    arity: [0, 0],
    async run(ctx) {
      const vhost = ctx.global.vhost;
      ctx.out.info(`Clearing vhost ${quote(vhost)} limits ...`);
      const rows = await onNotFound(() => ctx.api.get<Row[]>(apiPath("vhost-limits", vhost)), () => noVhost(vhost));
      for (const name of Object.keys((rows[0]?.value ?? {}) as Row)) await ctx.api.delete(apiPath("vhost-limits", vhost, name));
    },
  },
  {
    name: "list_vhost_limits",
    group: "Limits",
    summary: "Displays configured virtual host limits",
    usage: "[--vhost <vhost>] [--global]",
    arity: [0, 0],
    options: { global: { type: "boolean" } },
    async run(ctx) {
      const vhost = ctx.global.vhost;
      if (ctx.options.global) {
        ctx.out.list(
          "Getting limits for all vhosts ...",
          [...VHOST_LIMIT_COLUMNS.values()],
          await ctx.api.get<Row[]>(apiPath("vhost-limits")),
        );
        return;
      }
      const rows = await onNotFound(() => ctx.api.get<Row[]>(apiPath("vhost-limits", vhost)), () => noVhost(vhost));
      ctx.out.list(`Getting limits for vhost ${quote(vhost)} ...`, [VHOST_LIMIT_COLUMNS.get("limits")!], rows);
    },
  },
  {
    name: "set_user_limits",
    group: "Limits",
    summary: "Sets user limits",
    usage: "<username> <definition>",
    arity: [2, 2],
    details: '<definition> is a JSON object, e.g. \'{"max-connections": 10, "max-channels": 20}\'; -1 means no limit.',
    async run(ctx) {
      const [user, text] = ctx.args as [string, string];
      ctx.out.info(`Setting user limits to "${text}" for user ${quote(user)} ...`);
      const limits = parseJsonArgument(text, "limits definition") as Row;
      for (const [name, value] of Object.entries(limits)) {
        await ctx.api.put(apiPath("user-limits", user, name), { value }).catch((err: unknown) => {
          // The API answers a missing user with 400 ["no_such_user", name], as RabbitMQ's does.
          if (err instanceof ApiError && err.reason.startsWith("no_such_user")) throw new CtlError(ExitCode.NO_USER, noUser(user));
          throw err;
        });
      }
    },
  },
  {
    name: "clear_user_limits",
    group: "Limits",
    summary: "Clears user limits",
    usage: "<username> <limit>|all",
    arity: [2, 2],
    async run(ctx) {
      const [user, limit] = ctx.args as [string, string];
      ctx.out.info(
        limit === "all" ? `Clearing all limits for user ${quote(user)} ...` : `Clearing ${quote(limit)} limit for user ${quote(user)} ...`,
      );
      const rows = await onNotFound(() => ctx.api.get<Row[]>(apiPath("user-limits", user)), () => noUser(user), ExitCode.NO_USER);
      const names = limit === "all" ? Object.keys((rows[0]?.value ?? {}) as Row) : [limit];
      for (const name of names) await ctx.api.delete(apiPath("user-limits", user, name));
    },
  },
  {
    name: "list_user_limits",
    group: "Limits",
    summary: "Displays configured user limits",
    usage: "[--user <username>] [--all]",
    arity: [0, 0],
    options: { user: { type: "string" }, all: { type: "boolean" } },
    async run(ctx) {
      const user = typeof ctx.options.user === "string" ? ctx.options.user : undefined;
      if (user === undefined || ctx.options.all) {
        ctx.out.list(
          "Getting limits for all users ...",
          [...USER_LIMIT_COLUMNS.values()],
          await ctx.api.get<Row[]>(apiPath("user-limits")),
        );
        return;
      }
      const rows = await onNotFound(() => ctx.api.get<Row[]>(apiPath("user-limits", user)), () => noUser(user), ExitCode.NO_USER);
      ctx.out.list(`Getting limits for user ${quote(user)} ...`, [USER_LIMIT_COLUMNS.get("limits")!], rows);
    },
  },
];

const PARAMETER_COMMANDS: Command[] = [
  {
    name: "set_parameter",
    group: "Parameters",
    summary: "Sets a runtime parameter",
    usage: "[--vhost <vhost>] <component_name> <name> <value>",
    arity: [3, 3],
    details: '<value> is JSON. Warren\'s components: vhost-limits (name "limits"); plugins add more.',
    async run(ctx) {
      const [component, name, text] = ctx.args as [string, string, string];
      const vhost = ctx.global.vhost;
      ctx.out.info(`Setting runtime parameter ${quote(name)} for component ${quote(component)} to "${text}" in vhost ${quote(vhost)} ...`);
      const value = parseJsonArgument(text, "parameter value", false);
      await onNotFound(() => ctx.api.put(apiPath("parameters", component, vhost, name), { value }), () => noVhost(vhost));
    },
  },
  {
    name: "clear_parameter",
    group: "Parameters",
    summary: "Clears a runtime parameter",
    usage: "[--vhost <vhost>] <component_name> <name>",
    arity: [2, 2],
    async run(ctx) {
      const [component, name] = ctx.args as [string, string];
      const vhost = ctx.global.vhost;
      ctx.out.info(`Clearing runtime parameter ${quote(name)} for component ${quote(component)} on vhost ${quote(vhost)} ...`);
      await onNotFound(
        () => ctx.api.delete(apiPath("parameters", component, vhost, name)),
        () => `Parameter does not exist: component ${quote(component)}, name ${quote(name)} in vhost ${quote(vhost)}`,
      );
    },
  },
  {
    name: "list_parameters",
    group: "Parameters",
    summary: "Lists runtime parameters for a virtual host",
    usage: "[--vhost <vhost>]",
    arity: [0, 0],
    async run(ctx) {
      const vhost = ctx.global.vhost;
      if (!(await ctx.api.find(apiPath("vhosts", vhost)))) throw new CtlError(ExitCode.DATA, noVhost(vhost));
      const all = await ctx.api.get<Row[]>(apiPath("parameters"));
      ctx.out.list(
        `Listing runtime parameters for vhost ${quote(vhost)} ...`,
        [...PARAMETER_COLUMNS.values()],
        all.filter((p) => p.vhost === vhost),
      );
    },
  },
  {
    name: "set_global_parameter",
    group: "Parameters",
    summary: "Sets a global runtime parameter",
    usage: "<name> <value>",
    arity: [2, 2],
    async run(ctx) {
      const [name, text] = ctx.args as [string, string];
      ctx.out.info(`Setting global runtime parameter ${quote(name)} to "${text}" ...`);
      await ctx.api.put(apiPath("global-parameters", name), { name, value: parseJsonArgument(text, "parameter value", false) });
    },
  },
  {
    name: "clear_global_parameter",
    group: "Parameters",
    summary: "Clears a global runtime parameter",
    usage: "<name>",
    arity: [1, 1],
    async run(ctx) {
      const [name] = ctx.args as [string];
      ctx.out.info(`Clearing global runtime parameter ${quote(name)} ...`);
      await onNotFound(() => ctx.api.delete(apiPath("global-parameters", name)), () => `Global parameter ${quote(name)} does not exist`);
    },
  },
  {
    name: "list_global_parameters",
    group: "Parameters",
    summary: "Lists global runtime parameters",
    usage: "",
    arity: [0, 0],
    async run(ctx) {
      ctx.out.list(
        "Listing global runtime parameters ...",
        [...GLOBAL_PARAMETER_COLUMNS.values()],
        await ctx.api.get<Row[]>(apiPath("global-parameters")),
      );
    },
  },
];

export const PARAMETER_AND_LIMIT_COMMANDS: Command[] = [...LIMIT_COMMANDS, ...PARAMETER_COMMANDS];
