// The source files under some folders of a checkout, for the repository checks.
import { readdirSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";

/** Root-relative paths (with "/"), sorted, of the files under `dirs` matching `pattern` that `keep` accepts. */
export function sourceFiles(
  root: string,
  dirs: readonly string[],
  pattern: RegExp,
  keep: (path: string) => boolean = () => true,
): string[] {
  const out: string[] = [];
  const walk = (path: string) => {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      return;
    }
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path)) if (entry !== "node_modules") walk(join(path, entry));
    } else if (pattern.test(path) && keep(path)) out.push(relative(root, path).split(sep).join("/"));
  };
  for (const d of dirs) walk(join(root, d));
  return out.sort();
}
