// list_users, add_user, change_password, clear_password, delete_user, set_user_tags:
// /api/users[/{user}] (administrator).
import { apiPath } from "../client.ts";
import { USER_COLUMNS } from "../columns.ts";
import { type Command, type Context, onNotFound, quote } from "../command.ts";
import { CtlError, ExitCode } from "../errors.ts";

const noUser = (name: string) => new CtlError(ExitCode.NO_USER, `User ${quote(name)} does not exist`);

/** The user's API object; exit 67 when there is none. */
export async function requireUser(ctx: Context, name: string): Promise<{ name: string; tags: string[] }> {
  const user = await ctx.api.find<{ name: string; tags: string[] }>(apiPath("users", name));
  if (!user) throw noUser(name);
  return user;
}

export const USER_COMMANDS: Command[] = [
  {
    name: "list_users",
    group: "Users",
    summary: "List user names and tags",
    usage: "",
    arity: [0, 0],
    async run(ctx) {
      const users = await ctx.api.get<Record<string, unknown>[]>(apiPath("users"));
      ctx.out.list("Listing users ...", [...USER_COLUMNS.values()], users);
    },
  },
  {
    name: "add_user",
    group: "Users",
    summary: "Creates a new user; it has no permissions for any virtual host yet",
    usage: "<username> <password>",
    arity: [2, 2],
    async run(ctx) {
      const [name, password] = ctx.args as [string, string];
      ctx.out.info(`Adding user ${quote(name)} ...`);
      // PUT would silently replace an existing user's password: refuse as rabbitmqctl does.
      if (await ctx.api.find(apiPath("users", name))) throw new CtlError(ExitCode.DATA, `User ${quote(name)} already exists`);
      await ctx.api.put(apiPath("users", name), { password, tags: "" });
      ctx.out.info(
        "Done. Don't forget to grant the user permissions to some virtual hosts! See 'warren ctl help set_permissions' to learn more.",
      );
    },
  },
  {
    name: "change_password",
    group: "Users",
    summary: "Changes the user password",
    usage: "<username> <password>",
    arity: [2, 2],
    async run(ctx) {
      const [name, password] = ctx.args as [string, string];
      ctx.out.info(`Changing password for user ${quote(name)} ...`);
      await requireUser(ctx, name);
      await ctx.api.put(apiPath("users", name), { password }); // tags are kept when left out
    },
  },
  {
    name: "clear_password",
    group: "Users",
    summary: "Clears the password and disables password login for a user",
    usage: "<username>",
    arity: [1, 1],
    async run(ctx) {
      const [name] = ctx.args as [string];
      ctx.out.info(`Clearing password for user ${quote(name)} ...`);
      await requireUser(ctx, name);
      await ctx.api.put(apiPath("users", name), { password_hash: "" });
    },
  },
  {
    name: "delete_user",
    group: "Users",
    summary: "Removes a user and closes its connections",
    usage: "<username>",
    arity: [1, 1],
    async run(ctx) {
      const [name] = ctx.args as [string];
      ctx.out.info(`Deleting user ${quote(name)} ...`);
      await onNotFound(() => ctx.api.delete(apiPath("users", name)), () => noUser(name).message, ExitCode.NO_USER);
    },
  },
  {
    name: "set_user_tags",
    group: "Users",
    summary: "Sets user tags (none clears them)",
    usage: "<username> [<tag> ...]",
    arity: [1, Infinity],
    async run(ctx) {
      const [name, ...tags] = ctx.args as [string, ...string[]];
      ctx.out.info(`Setting tags for user ${quote(name)} to [${tags.join(", ")}] ...`);
      await requireUser(ctx, name);
      await ctx.api.put(apiPath("users", name), { tags });
    },
  },
];
