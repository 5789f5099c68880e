// Which runtime runs the broker: Deno (../platform.ts is Bun's).

/** "Deno 2.x.y": the runtime and its version. */
export const RUNTIME_VERSION = `Deno ${Deno.version.deno}`;

/** Boot is over (Bun resets its JIT policy here; Deno has nothing to do). */
export function startupDone(): void {}

/**
 * Busy waiting (runtime/busy_wait.ts) is Bun's only: Deno's reads complete on its own I/O
 * driver, and polling from setImmediate made round trips slower there (docs/performance.md).
 */
export const BUSY_WAIT_SUPPORTED = false;
