// export_definitions and import_definitions: GET and POST /api/definitions (administrator).
// The import is atomic on Warren: it either applies the whole file or answers 400 naming the
// first bad entry, and it is done when the command returns.
import { readFile, writeFile } from "node:fs/promises";
import { apiPath } from "../client.ts";
import type { Command, Context } from "../command.ts";
import { CtlError, CtlUsageError, ExitCode } from "../errors.ts";

function checkFormat(ctx: Context): void {
  const format = ctx.options.format;
  if (format !== undefined && format !== "json") {
    throw new CtlUsageError(`--format "${String(format)}" is not supported: Warren reads and writes JSON only`);
  }
}

export const DEFINITION_COMMANDS: Command[] = [
  {
    name: "export_definitions",
    group: "Definitions",
    summary: "Exports definitions (users, vhosts, queues, ...) as JSON",
    usage: '<file_path | "-"> [--format json]',
    arity: [1, 1],
    options: { format: { type: "string" } },
    details: '"-" writes to standard output.',
    async run(ctx) {
      checkFormat(ctx);
      const [target] = ctx.args as [string];
      if (target !== "-") ctx.out.info(`Exporting definitions in JSON to a file at "${target}" ...`);
      const definitions = await ctx.api.get(apiPath("definitions"));
      const text = JSON.stringify(definitions);
      if (target === "-") {
        ctx.out.write(text + "\n");
        return;
      }
      try {
        await writeFile(target, text);
      } catch (err) {
        throw new CtlError(ExitCode.DATA, `Cannot write definitions to "${target}": ${(err as Error).message}`);
      }
    },
  },
  {
    name: "import_definitions",
    group: "Definitions",
    summary: "Imports definitions from a JSON file, all or nothing",
    usage: '[<file_path | "-">] [--format json]',
    arity: [0, 1],
    options: { format: { type: "string" } },
    details: 'Without a file, or with "-", reads standard input.',
    async run(ctx) {
      checkFormat(ctx);
      const source = ctx.args[0] ?? "-";
      const fromStdin = source === "-";
      ctx.out.info(
        fromStdin
          ? "Importing definitions in JSON from standard input ..."
          : `Importing definitions in JSON from a file at "${source}" ...`,
      );
      let text: string;
      try {
        text = fromStdin ? await ctx.io.readStdin() : await readFile(source, "utf8");
      } catch (err) {
        throw new CtlError(ExitCode.DATA, `Cannot read definitions from "${source}": ${(err as Error).message}`);
      }
      let definitions: unknown;
      try {
        definitions = JSON.parse(text);
      } catch (err) {
        throw new CtlError(ExitCode.DATA, `${fromStdin ? "Standard input" : `"${source}"`} is not JSON: ${(err as Error).message}`);
      }
      if (definitions === null || typeof definitions !== "object" || Array.isArray(definitions)) {
        throw new CtlError(ExitCode.DATA, `${fromStdin ? "Standard input" : `"${source}"`} does not hold a definitions object`);
      }
      await ctx.api.post(apiPath("definitions"), text);
    },
  },
];
