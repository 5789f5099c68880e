// version: the CLI's own version (the broker's is in `status`).
import { VERSION } from "../../../version.ts";
import type { Command } from "../command.ts";

export const MISC_COMMANDS: Command[] = [
  {
    name: "version",
    group: "Help",
    summary: "Displays the version of warren ctl",
    usage: "",
    arity: [0, 0],
    async run(ctx) {
      ctx.out.write(`${VERSION}\n`);
    },
  },
];
