// list_policies, set_policy, clear_policy and their operator-policy twins:
// /api/policies/{vhost}[/{name}], /api/operator-policies/{vhost}[/{name}].
import { ApiError, apiPath } from "../client.ts";
import { POLICY_COLUMNS } from "../columns.ts";
import { type Command, type Context, onNotFound, quote } from "../command.ts";
import { CtlError, CtlUsageError, ExitCode } from "../errors.ts";
import { noVhost, requireVhost } from "./vhosts.ts";

interface Kind {
  path: "policies" | "operator-policies";
  /** "policy" / "operator policy", as the messages name it. */
  what: string;
  prefix: "" | "operator_";
}

const POLICY: Kind = { path: "policies", what: "policy", prefix: "" };
const OPERATOR: Kind = { path: "operator-policies", what: "operator policy", prefix: "operator_" };

/** A JSON argument (a policy definition, limits, a parameter value); `object`: it must be an object. */
export function parseJsonArgument(text: string, what: string, object = true): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CtlError(ExitCode.DATA, `JSON decoding error: ${(err as Error).message}: ${text}`);
  }
  if (object && (value === null || typeof value !== "object" || Array.isArray(value))) {
    throw new CtlError(ExitCode.DATA, `The ${what} must be a JSON object: ${text}`);
  }
  return value;
}

function priorityOf(ctx: Context): number {
  const text = ctx.options.priority;
  if (text === undefined) return 0;
  if (typeof text !== "string" || !/^-?\d+$/.test(text)) throw new CtlUsageError(`--priority "${String(text)}" is not an integer`);
  return Number(text);
}

function commands(kind: Kind): Command[] {
  const override = kind === OPERATOR ? " override" : "";
  return [
    {
      name: `list_${kind.prefix}policies`,
      group: "Policies",
      summary: kind === OPERATOR ? "Lists operator policy overrides for a virtual host" : "Lists all policies in a virtual host",
      usage: "[--vhost <vhost>]",
      arity: [0, 0],
      async run(ctx) {
        const vhost = ctx.global.vhost;
        const rows = await onNotFound(() => ctx.api.get<Record<string, unknown>[]>(apiPath(kind.path, vhost)), () => noVhost(vhost));
        const banner = kind === OPERATOR
          ? `Listing operator policy overrides for vhost ${quote(vhost)} ...`
          : `Listing policies for vhost ${quote(vhost)} ...`;
        ctx.out.list(banner, [...POLICY_COLUMNS.values()], rows);
      },
    },
    {
      name: `set_${kind.prefix}policy`,
      group: "Policies",
      summary: kind === OPERATOR
        ? "Sets an operator policy that overrides a subset of arguments in user policies"
        : "Sets or updates a policy",
      usage: "[--vhost <vhost>] [--priority <priority>] [--apply-to <queues|exchanges|all>] <name> <pattern> <definition>",
      arity: [3, 3],
      options: { priority: { type: "string" }, "apply-to": { type: "string" } },
      details: "<definition> is a JSON object, e.g. '{\"max-length\":1000}'.",
      async run(ctx) {
        const [name, pattern, text] = ctx.args as [string, string, string];
        const vhost = ctx.global.vhost;
        const priority = priorityOf(ctx);
        ctx.out.info(
          `Setting ${kind.what}${override} ${quote(name)} for pattern ${
            quote(pattern)
          } to "${text}" with priority "${priority}" for vhost ${quote(vhost)} ...`,
        );
        const body: Record<string, unknown> = { pattern, definition: parseJsonArgument(text, "policy definition"), priority };
        if (typeof ctx.options["apply-to"] === "string") body["apply-to"] = ctx.options["apply-to"];
        await onNotFound(() => ctx.api.put(apiPath(kind.path, vhost, name), body), () => noVhost(vhost));
      },
    },
    {
      name: `clear_${kind.prefix}policy`,
      group: "Policies",
      summary: kind === OPERATOR ? "Clears an operator policy" : "Clears (removes) a policy",
      usage: "[--vhost <vhost>] <name>",
      arity: [1, 1],
      async run(ctx) {
        const [name] = ctx.args as [string];
        const vhost = ctx.global.vhost;
        ctx.out.info(`Clearing ${kind.what} ${quote(name)} on vhost ${quote(vhost)} ...`);
        try {
          await ctx.api.delete(apiPath(kind.path, vhost, name));
        } catch (err) {
          if (!(err instanceof ApiError && err.status === 404)) throw err;
          await requireVhost(ctx, vhost);
          throw new CtlError(
            ExitCode.DATA,
            `${kind === OPERATOR ? "Operator policy" : "Policy"} ${quote(name)} does not exist in vhost ${quote(vhost)}`,
          );
        }
      },
    },
  ];
}

export const POLICY_COMMANDS: Command[] = [...commands(POLICY), ...commands(OPERATOR)];
