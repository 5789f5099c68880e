// Builds the single executable: bun build --compile src/main.ts → dist/warren
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
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
// Bytecode, laid out by a profile of a start-up (the functions boot runs first, so the executable
// reads less of itself), and a raised JIT threshold until boot is done (src/main.ts calls
// startupDone). Together they cut idle RSS by about 6 MiB; docs/memory.md has the numbers.
const JIT_POLICY = "8";
const compile = (extra: string[]) => {
  const args = ["build", "--compile", "--minify", "--sourcemap", "--bytecode", "--format=esm", `--compile-jit-policy=${JIT_POLICY}`];
  // The store's writer thread is a second entry point: the executable embeds it, and
  // storage/commit_writer.ts starts it by its URL (docs/storage.md, "The writer thread").
  const entries = [join(root, "src", "main.ts"), join(root, "storage", "writer_worker.ts")];
  const proc = Bun.spawnSync([process.execPath, ...args, ...extra, ...entries, "--outfile", outfile], {
    stdout: "inherit",
    stderr: "inherit",
    cwd: root,
  });
  if (proc.exitCode !== 0) {
    console.error(`build: bun build --compile failed with exit code ${proc.exitCode}`);
    process.exit(proc.exitCode ?? 1);
  }
};
compile([]);
const order = recordStartupProfile();
if (order !== null) {
  compile([`--bytecode-order=${order}`]);
  rmSync(dirname(order), { recursive: true, force: true });
}
const mib = statSync(outfile).size / (1024 * 1024);
console.log(`build: wrote dist/warren (${mib.toFixed(1)} MiB) in ${((performance.now() - started) / 1000).toFixed(1)} s`);

/**
 * Starts the first build as a server on free ports with a temp data dir, stops it once it logs
 * `Server startup complete`, and returns the bytecode-order profile it wrote (null if it did not
 * start: the build then keeps the unordered bytecode).
 */
function recordStartupProfile(): string | null {
  const dir = mkdtempSync(join(tmpdir(), "warren-build-"));
  const profile = join(dir, "warren.order");
  const args = ["--port", "0", "--bind", "127.0.0.1", "--http-port", "0", "--metrics-port", "0", "--data-dir", join(dir, "data")];
  const script =
    `"$0" "$@" >"${dir}/log" 2>&1 & pid=$!; for _ in $(seq 1 200); do grep -q "Server startup complete" "${dir}/log" 2>/dev/null && break; sleep 0.05; done; kill $pid; wait $pid`;
  Bun.spawnSync(["bash", "-c", `${script}`, outfile, ...args], {
    env: { ...process.env, BUN_BYTECODE_ORDER_OUT: profile },
    stdout: "inherit",
    stderr: "inherit",
  });
  if (existsSync(profile)) return profile;
  console.error("build: the start-up profile was not written; dist/warren keeps unordered bytecode");
  rmSync(dir, { recursive: true, force: true });
  return null;
}
