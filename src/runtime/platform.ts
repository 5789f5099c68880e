// Which runtime runs the broker (Bun here; src/runtime/deno/platform.ts on Deno), for logs, the
// connection's server properties and the management API.

/** "Bun 1.x.y": the runtime and its version. */
export const RUNTIME_VERSION = `Bun ${Bun.version}`;
