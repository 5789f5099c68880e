// Which runtime runs the broker (Bun here; src/runtime/deno/platform.ts on Deno), for logs, the
// connection's server properties and the management API.

/** "Bun 1.x.y": the runtime and its version. */
export const RUNTIME_VERSION = `Bun ${Bun.version}`;

/**
 * Boot is over: the JIT goes back to its normal tier-up thresholds. `dist/warren` is built with
 * raised ones (scripts/build.ts, --compile-jit-policy) so run-once start-up code stays in the
 * interpreter instead of costing compiled code and compiler pages (docs/memory.md).
 */
export function startupDone(): void {
  Bun.unsafe.setJITPolicy(1);
}

/**
 * Whether busy waiting after socket reads (runtime/busy_wait.ts) works here: Bun's listener
 * reports every read and setImmediate polls its sockets.
 */
export const BUSY_WAIT_SUPPORTED = true;
