// The shape of a ctl subcommand and the helpers most of them share.
import type { GlobalOptions, OptionSpecs, OptionValues } from "./args.ts";
import { type ApiClient, ApiError } from "./client.ts";
import type { Column, ColumnSet } from "./columns.ts";
import { CtlError, CtlUsageError, ExitCode } from "./errors.ts";
import type { Io, Output } from "./output.ts";

export interface Context {
  api: ApiClient;
  global: GlobalOptions;
  options: OptionValues;
  args: string[];
  out: Output;
  io: Io;
}

export interface Command {
  name: string;
  /** Heading in `warren ctl help`. */
  group: string;
  summary: string;
  /** What follows the name in the usage line, e.g. `[--vhost <vhost>] <username> <conf> <write> <read>`. */
  usage: string;
  /** Positional arguments taken: [min, max]. */
  arity: [number, number];
  options?: OptionSpecs;
  /** More lines for `warren ctl help <command>`. */
  details?: string;
  /** The columns a listing accepts, listed in its help. */
  columns?: ColumnSet;
  run(ctx: Context): Promise<void>;
}

export const quote = (s: string) => JSON.stringify(s);

/** The columns named on the command line (space- or comma-separated), or the defaults. */
export function pickColumns(ctx: Context, set: ColumnSet, defaults: string[]): Column[] {
  const names = ctx.args.flatMap((a) => a.split(",")).map((s) => s.trim()).filter((s) => s !== "");
  const wanted = names.length > 0 ? names : defaults;
  const unknown = wanted.filter((n) => !set.has(n));
  if (unknown.length > 0) throw new CtlUsageError(`Info key(s) ${unknown.join(",")} are not supported`);
  return wanted.map((n) => set.get(n)!);
}

/** The `columns` query parameter that asks the API for just what the columns read. */
export function columnsQuery(columns: Column[]): { columns?: string } {
  const fields = [...new Set(columns.flatMap((c) => c.fields))];
  // An empty list would mean "every field" to the API; ask for the name then.
  return { columns: fields.length > 0 ? fields.join(",") : "name" };
}

/** Runs `action`, turning a 404 into `message` (exit `code`). */
export async function onNotFound<T>(
  action: () => Promise<T>,
  message: () => string | Promise<string>,
  code: CtlError["code"] = ExitCode.DATA,
): Promise<T> {
  try {
    return await action();
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) throw new CtlError(code, await message());
    throw err;
  }
}
