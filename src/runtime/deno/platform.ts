// Which runtime runs the broker: Deno (../platform.ts is Bun's).

/** "Deno 2.x.y": the runtime and its version. */
export const RUNTIME_VERSION = `Deno ${Deno.version.deno}`;

/** Boot is over (Bun resets its JIT policy here; Deno has nothing to do). */
export function startupDone(): void {}
