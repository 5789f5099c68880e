// The console's bundle embedded in the server (src/http/console_assets.gen.ts) is what the
// sources build to, and it is self-contained: nothing loaded from another origin.
import { expect, test } from "bun:test";
import { buildConsole, GENERATED, renderModule } from "../../scripts/build_console.ts";
import { CONSOLE_ASSETS } from "../../src/http/console_assets.gen.ts";

test("console_assets.gen.ts is up to date with src/console (run bun scripts/build_console.ts)", async () => {
  const built = renderModule(await buildConsole());
  expect(built === (await Bun.file(GENERATED).text())).toBe(true);
});

test("the console loads nothing from another origin", () => {
  for (const asset of CONSOLE_ASSETS) {
    expect(asset.body).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
    expect(asset.body).not.toMatch(/@import\s+url\(["']?https?:/);
  }
  expect(CONSOLE_ASSETS.map((a) => a.path)).toEqual(["/index.html", "/console/app.js", "/console/app.css"]);
});
