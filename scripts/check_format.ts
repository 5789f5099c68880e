// The formatting-drift check (CI): in the TypeScript of src/, storage/, plugins/, scripts/ and
// tests/, no tab in indentation, no trailing whitespace, LF line endings and a final newline; and
// no source module of src/, storage/ or plugins/ over 600 lines (generated code excepted).
// Run: bun scripts/check_format.ts [--fix] [root]; exits 1 on drift (after --fix: on what is left).
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { sourceFiles } from "./source_files.ts";

export const FORMAT_CHECKED = ["src", "storage", "plugins", "scripts", "tests"];
const SOURCE = /\.(ts|tsx|mts)$/;
/** DESIGN.md: files of one concern, none over 600 lines. */
const MAX_LINES = 600;

/** "file:line: what" for each drift in one file's text. */
export function formatProblems(file: string, text: string): string[] {
  const out: string[] = [];
  if (text.includes("\r")) out.push(`${file}: CR line endings (use LF)`);
  if (text.length > 0 && !text.endsWith("\n")) out.push(`${file}: no newline at the end of the file`);
  if (text.endsWith("\n\n")) out.push(`${file}: blank lines at the end of the file`);
  const lines = text.split("\n");
  if (lines.length - 1 > MAX_LINES && /^(src|storage|plugins)\//.test(file) && !file.endsWith(".gen.ts")) {
    out.push(`${file}: ${lines.length - 1} lines, over ${MAX_LINES}: split it by concern`);
  }
  lines.forEach((line, i) => {
    const bare = line.replace(/\r$/, "");
    if (/^[ ]*\t/.test(bare)) out.push(`${file}:${i + 1}: tab in indentation`);
    if (/[ \t]$/.test(bare)) out.push(`${file}:${i + 1}: trailing whitespace`);
  });
  return out;
}

/** The text with the drift removed: LF, tabs in indentation as two spaces, no trailing blanks, one final newline. */
export function fixFormat(text: string): string {
  const lines = text.replace(/\r\n?/g, "\n").split("\n").map((line) =>
    line.replace(/^[ \t]+/, (indent) => indent.replace(/\t/g, "  ")).replace(/[ \t]+$/, "")
  );
  return lines.join("\n").replace(/\n*$/, "\n");
}

function sources(root: string): string[] {
  return sourceFiles(root, FORMAT_CHECKED, SOURCE);
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const fix = args.includes("--fix");
  const root = resolve(args.find((a) => a !== "--fix") ?? join(import.meta.dir, ".."));
  const files = sources(root);
  const problems: string[] = [];
  for (const file of files) {
    const path = join(root, file);
    let text = readFileSync(path, "utf8");
    if (fix && formatProblems(file, text).length > 0) {
      text = fixFormat(text);
      writeFileSync(path, text);
      console.log(`fixed ${file}`);
    }
    problems.push(...formatProblems(file, text));
  }
  for (const p of problems) console.log(p);
  console.log(`${files.length} files, ${problems.length} formatting problems`);
  process.exit(problems.length === 0 ? 0 : 1);
}
