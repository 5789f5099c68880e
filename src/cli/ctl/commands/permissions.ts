// Permissions and topic permissions: /api/permissions/{vhost}/{user},
// /api/topic-permissions/{vhost}/{user}, and their listings (administrator).
import { ApiError, apiPath } from "../client.ts";
import { type Column, PERMISSION_COLUMNS, TOPIC_PERMISSION_COLUMNS } from "../columns.ts";
import { type Command, type Context, onNotFound, quote } from "../command.ts";
import { requireUser } from "./users.ts";
import { noVhost, requireVhost } from "./vhosts.ts";

type Row = Record<string, unknown>;

const columns = (names: string[], from = PERMISSION_COLUMNS): Column[] => names.map((n) => from.get(n)!);

/** A 404 on a {vhost}/{user} path: says which of the two is missing. */
async function requirePair(ctx: Context, vhost: string, user: string): Promise<void> {
  await requireUser(ctx, user);
  await requireVhost(ctx, vhost);
}

/** Runs a write on a {vhost}/{user} path; a 404 names the missing user or vhost. */
async function onPair(ctx: Context, vhost: string, user: string, action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
    await requirePair(ctx, vhost, user);
    throw err;
  }
}

/** A DELETE that is fine when there was nothing to clear (as rabbitmqctl), if user and vhost exist. */
async function clearing(ctx: Context, vhost: string, user: string, action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
    await requirePair(ctx, vhost, user);
  }
}

export const PERMISSION_COMMANDS: Command[] = [
  {
    name: "list_permissions",
    group: "Access control",
    summary: "Lists user permissions in a virtual host",
    usage: "[--vhost <vhost>]",
    arity: [0, 0],
    async run(ctx) {
      const vhost = ctx.global.vhost;
      const rows = await onNotFound(() => ctx.api.get<Row[]>(apiPath("vhosts", vhost, "permissions")), () => noVhost(vhost));
      ctx.out.list(`Listing permissions for vhost ${quote(vhost)} ...`, columns(["user", "configure", "write", "read"]), rows);
    },
  },
  {
    name: "list_user_permissions",
    group: "Access control",
    summary: "Lists permissions of a user across all virtual hosts",
    usage: "<username>",
    arity: [1, 1],
    async run(ctx) {
      const [user] = ctx.args as [string];
      await requireUser(ctx, user);
      const rows = await ctx.api.get<Row[]>(apiPath("users", user, "permissions"));
      ctx.out.list(`Listing permissions for user ${quote(user)} ...`, columns(["vhost", "configure", "write", "read"]), rows);
    },
  },
  {
    name: "set_permissions",
    group: "Access control",
    summary: "Sets user permissions for a vhost",
    usage: "[--vhost <vhost>] <username> <conf> <write> <read>",
    arity: [4, 4],
    async run(ctx) {
      const [user, configure, write, read] = ctx.args as [string, string, string, string];
      const vhost = ctx.global.vhost;
      ctx.out.info(`Setting permissions for user ${quote(user)} in vhost ${quote(vhost)} ...`);
      await onPair(ctx, vhost, user, () => ctx.api.put(apiPath("permissions", vhost, user), { configure, write, read }));
    },
  },
  {
    name: "clear_permissions",
    group: "Access control",
    summary: "Revokes user permissions for a vhost",
    usage: "[--vhost <vhost>] <username>",
    arity: [1, 1],
    async run(ctx) {
      const [user] = ctx.args as [string];
      const vhost = ctx.global.vhost;
      ctx.out.info(`Clearing permissions for user ${quote(user)} in vhost ${quote(vhost)} ...`);
      await clearing(ctx, vhost, user, () => ctx.api.delete(apiPath("permissions", vhost, user)));
    },
  },
  {
    name: "list_topic_permissions",
    group: "Access control",
    summary: "Lists topic permissions in a virtual host",
    usage: "[--vhost <vhost>]",
    arity: [0, 0],
    async run(ctx) {
      const vhost = ctx.global.vhost;
      await requireVhost(ctx, vhost);
      const rows = (await ctx.api.get<Row[]>(apiPath("topic-permissions"))).filter((p) => p.vhost === vhost);
      ctx.out.list(
        `Listing topic permissions for vhost ${quote(vhost)} ...`,
        columns(["user", "exchange", "write", "read"], TOPIC_PERMISSION_COLUMNS),
        rows,
      );
    },
  },
  {
    name: "list_user_topic_permissions",
    group: "Access control",
    summary: "Lists user topic permissions",
    usage: "<username>",
    arity: [1, 1],
    async run(ctx) {
      const [user] = ctx.args as [string];
      await requireUser(ctx, user);
      const rows = await ctx.api.get<Row[]>(apiPath("users", user, "topic-permissions"));
      ctx.out.list(
        `Listing topic permissions for user ${quote(user)} ...`,
        columns(["vhost", "exchange", "write", "read"], TOPIC_PERMISSION_COLUMNS),
        rows,
      );
    },
  },
  {
    name: "set_topic_permissions",
    group: "Access control",
    summary: "Sets user topic permissions for an exchange",
    usage: "[--vhost <vhost>] <username> <exchange> <write> <read>",
    arity: [4, 4],
    async run(ctx) {
      const [user, exchange, write, read] = ctx.args as [string, string, string, string];
      const vhost = ctx.global.vhost;
      ctx.out.info(`Setting topic permissions on ${quote(exchange)} for user ${quote(user)} in vhost ${quote(vhost)} ...`);
      await onPair(ctx, vhost, user, () => ctx.api.put(apiPath("topic-permissions", vhost, user), { exchange, write, read }));
    },
  },
  {
    name: "clear_topic_permissions",
    group: "Access control",
    summary: "Clears user topic permissions for a vhost or exchange",
    usage: "[--vhost <vhost>] <username> [<exchange>]",
    arity: [1, 2],
    async run(ctx) {
      const [user, exchange] = ctx.args as [string, string | undefined];
      const vhost = ctx.global.vhost;
      const path = apiPath("topic-permissions", vhost, user);
      if (exchange === undefined) {
        ctx.out.info(`Clearing topic permissions for user ${quote(user)} in vhost ${quote(vhost)} ...`);
        await clearing(ctx, vhost, user, () => ctx.api.delete(path));
        return;
      }
      ctx.out.info(`Clearing topic permissions on ${quote(exchange)} for user ${quote(user)} in vhost ${quote(vhost)} ...`);
      const current = await ctx.api.find<Row[]>(path);
      if (current === undefined) return requirePair(ctx, vhost, user);
      if (!current.some((p) => p.exchange === exchange)) return;
      await ctx.api.delete(path, { exchange });
    },
  },
];
