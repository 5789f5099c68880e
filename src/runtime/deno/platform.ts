// Which runtime runs the broker: Deno (../platform.ts is Bun's).

/** "Deno 2.x.y": the runtime and its version. */
export const RUNTIME_VERSION = `Deno ${Deno.version.deno}`;
