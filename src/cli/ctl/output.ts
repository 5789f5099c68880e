// What a command prints: rabbitmqctl's informational lines (stdout, left out with -q), and
// listings as a tab-separated table with a header row or as rabbitmqctl's JSON array layout.
import type { GlobalOptions } from "./args.ts";
import type { Column } from "./columns.ts";
import { jsonCell, tableCell } from "./render.ts";

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  /** The whole of standard input (import_definitions -). */
  readStdin(): Promise<string>;
  env: Record<string, string | undefined>;
}

export class Output {
  constructor(readonly io: Io, private readonly global: Pick<GlobalOptions, "quiet" | "noHeaders" | "formatter">) {}

  get json(): boolean {
    return this.global.formatter === "json";
  }

  /** A progress line such as `Adding user "u" ...`; -q leaves it out. */
  info(line: string): void {
    if (!this.global.quiet) this.io.stdout(line + "\n");
  }

  /** Text as it is (export_definitions -, status). */
  write(text: string): void {
    this.io.stdout(text);
  }

  /** A listing: the banner (not with -q or JSON), then the rows. */
  list(banner: string, columns: Column[], rows: Record<string, unknown>[]): void {
    if (this.json) {
      const objects = rows.map((row) => JSON.stringify(Object.fromEntries(columns.map((c) => [c.name, jsonCell(c.get(row), c.kind)]))));
      // rabbitmqctl's layout: one object per line, the comma leading.
      this.io.stdout(`[\n${objects.map((o, i) => (i === 0 ? o : `,${o}`)).join("\n")}${objects.length > 0 ? "\n" : ""}]\n`);
      return;
    }
    this.info(banner);
    const lines: string[] = [];
    if (!this.global.noHeaders && rows.length > 0) lines.push(columns.map((c) => c.name).join("\t"));
    for (const row of rows) lines.push(columns.map((c) => (c.text ? c.text(c.get(row)) : tableCell(c.get(row), c.kind))).join("\t"));
    if (lines.length > 0) this.io.stdout(lines.join("\n") + "\n");
  }
}
