// The import graph check (CI and tests/unit/check_imports.test.ts): no import cycles among the
// modules of src/, storage/, plugins/ and mod.ts (value and type imports alike), and the layering
// rules of docs/architecture.md. Run: bun scripts/check_imports.ts [root]; exits 1 on a finding.
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { sourceFiles } from "./source_files.ts";
import ts from "typescript";

export const CHECKED = ["src", "storage", "plugins", "mod.ts"];
const SOURCE = /\.(ts|tsx|mts|js|mjs)$/;

/** One rule of the layering: modules under `from` import nothing under any of `not`. */
interface Rule {
  from: string;
  not: string[];
  why: string;
}

export const RULES: Rule[] = [
  { from: "storage/", not: ["src/broker/", "src/connection/", "src/http/"], why: "storage knows rows and ids, not broker objects" },
  { from: "src/auth/", not: ["src/connection/"], why: "access checks take narrow views, not connections" },
  {
    from: "src/broker/",
    not: ["src/connection/", "src/http/", "src/server.ts"],
    why: "the broker sees connections through broker/client_connection.ts",
  },
  { from: "src/connection/", not: ["src/http/", "src/server.ts"], why: "the management API and the server sit above connections" },
];

export interface ImportReport {
  /** Each strongly connected component of more than one module, as sorted root-relative paths. */
  cycles: string[][];
  /** "a.ts -> b.ts: why" for every import that breaks a layering rule. */
  violations: string[];
  /** How many modules were read. */
  modules: number;
}

/** Every module under the checked paths (test files excluded), as root-relative paths with "/". */
function modules(root: string): string[] {
  return sourceFiles(root, CHECKED, SOURCE, (path) => !/\.test\.[a-z]+$/.test(path));
}

/** The relative imports of one module that resolve to a checked module (static, type-only, re-exports, dynamic). */
function importsOf(root: string, file: string, known: Set<string>): string[] {
  const info = ts.preProcessFile(readFileSync(join(root, file), "utf8"), true, true);
  const out = new Set<string>();
  for (const ref of info.importedFiles) {
    const spec = ref.fileName;
    if (!spec.startsWith(".")) continue;
    const base = relative(root, resolve(root, dirname(file), spec)).split(sep).join("/");
    const target = [base, `${base}.ts`, `${base}/mod.ts`, `${base}/index.ts`].find((c) => known.has(c));
    if (target) out.add(target);
  }
  return [...out];
}

/** Tarjan's strongly connected components. */
function stronglyConnected(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) out.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out.sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

/** The folder of a plugin module ("plugins/shovel/"), or undefined outside one. */
function pluginOf(file: string): string | undefined {
  const m = /^plugins\/([^/]+)\//.exec(file);
  return m ? `plugins/${m[1]}/` : undefined;
}

export function checkImports(root: string): ImportReport {
  const files = modules(root);
  const known = new Set(files);
  const graph = new Map(files.map((f) => [f, importsOf(root, f, known)]));
  const violations: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      for (const rule of RULES) {
        if (from.startsWith(rule.from) && rule.not.some((p) => to === p || to.startsWith(p))) {
          violations.push(`${from} -> ${to}: ${rule.why}`);
        }
      }
      const own = pluginOf(from);
      const other = pluginOf(to);
      if (own && other && own !== other) violations.push(`${from} -> ${to}: a plugin touches only its own folder`);
    }
  }
  return { cycles: stronglyConnected(graph), violations, modules: files.length };
}

if (import.meta.main) {
  const root = resolve(process.argv[2] ?? join(import.meta.dir, ".."));
  const report = checkImports(root);
  for (const c of report.cycles) console.log(`import cycle (${c.length}): ${c.join(" ")}`);
  for (const v of report.violations) console.log(`layering: ${v}`);
  const ok = report.cycles.length === 0 && report.violations.length === 0;
  console.log(`${report.modules} modules, ${report.cycles.length} import cycles, ${report.violations.length} layering violations`);
  process.exit(ok ? 0 : 1);
}
