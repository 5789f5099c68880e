// The import graph of the repository (scripts/check_imports.ts), so that `npm test` fails on an
// import cycle or a layering break as CI does, and the checker itself on small made-up trees.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { checkImports } from "../../scripts/check_imports.ts";
import { fixFormat, formatProblems } from "../../scripts/check_format.ts";

const ROOT = join(import.meta.dir, "..", "..");

test("the repository has no import cycle", () => {
  expect(checkImports(ROOT).cycles).toEqual([]);
});

test("the repository keeps its layering (storage, auth, broker, plugins)", () => {
  expect(checkImports(ROOT).violations).toEqual([]);
});

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "warren-imports-"));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

test("a cycle through a type-only import is a cycle", () => {
  const root = tree({
    "src/a.ts": 'import { b } from "./b.ts";\nexport const a = b;\n',
    "src/b.ts": 'import type { A } from "./c.ts";\nexport const b = 1 as unknown as A;\n',
    "src/c.ts": 'export type { a as A } from "./a.ts";\n',
    "src/d.ts": 'import { a } from "./a.ts";\n',
  });
  expect(checkImports(root).cycles).toEqual([["src/a.ts", "src/b.ts", "src/c.ts"]]);
});

test("layering: storage above the broker, auth above connections, one plugin in another", () => {
  const root = tree({
    "src/broker/vhost.ts": "export class Vhost {}\n",
    "src/connection/channel.ts": "export class Channel {}\n",
    "storage/store.ts": 'import type { Vhost } from "../src/broker/vhost.ts";\n',
    "src/auth/access.ts": 'import type { Channel } from "../connection/channel.ts";\n',
    "plugins/shovel/mod.ts": 'import { x } from "../federation/link.ts";\n',
    "plugins/federation/link.ts": "export const x = 1;\n",
    "plugins/mod.ts": 'import "./shovel/mod.ts";\nimport "./federation/link.ts";\n',
  });
  const { violations, cycles } = checkImports(root);
  expect(cycles).toEqual([]);
  expect(violations.map((v) => v.split(":")[0]).sort()).toEqual([
    "plugins/shovel/mod.ts -> plugins/federation/link.ts",
    "src/auth/access.ts -> src/connection/channel.ts",
    "storage/store.ts -> src/broker/vhost.ts",
  ]);
});

test("formatting drift is found and fixed", () => {
  const text = "a\r\n\tb \n  c\t\nd";
  expect(formatProblems("x.ts", text)).toEqual([
    "x.ts: CR line endings (use LF)",
    "x.ts: no newline at the end of the file",
    "x.ts:2: tab in indentation",
    "x.ts:2: trailing whitespace",
    "x.ts:3: trailing whitespace",
  ]);
  expect(fixFormat(text)).toBe("a\n  b\n  c\nd\n");
  expect(formatProblems("x.ts", fixFormat(text))).toEqual([]);
});

test("a source module over 600 lines is flagged; generated code and tests are not", () => {
  const long = "x\n".repeat(601);
  expect(formatProblems("src/broker/big.ts", long)).toEqual(["src/broker/big.ts: 601 lines, over 600: split it by concern"]);
  expect(formatProblems("src/broker/ok.ts", "x\n".repeat(600))).toEqual([]);
  expect(formatProblems("src/amqp/spec/methods.gen.ts", long)).toEqual([]);
  expect(formatProblems("tests/helpers/big.ts", long)).toEqual([]);
});
