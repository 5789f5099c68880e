// Builds the single executable: bun build --compile src/main.ts → dist/warren
import { mkdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outfile = join(root, "dist", "warren");
mkdirSync(dirname(outfile), { recursive: true });
const started = performance.now();
// The console bundle the executable embeds (rewritten only when src/console changed).
const consoleBuild = Bun.spawnSync([process.execPath, join(root, "scripts", "build_console.ts")], {
  stdout: "inherit",
  stderr: "inherit",
  cwd: root,
});
if (consoleBuild.exitCode !== 0) {
  console.error(`build: scripts/build_console.ts failed with exit code ${consoleBuild.exitCode}`);
  process.exit(consoleBuild.exitCode ?? 1);
}
const proc = Bun.spawnSync(
  [process.execPath, "build", "--compile", "--minify", "--sourcemap", join(root, "src", "main.ts"), "--outfile", outfile],
  { stdout: "inherit", stderr: "inherit", cwd: root },
);
if (proc.exitCode !== 0) {
  console.error(`build: bun build --compile failed with exit code ${proc.exitCode}`);
  process.exit(proc.exitCode ?? 1);
}
const mib = statSync(outfile).size / (1024 * 1024);
console.log(`build: wrote dist/warren (${mib.toFixed(1)} MiB) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
