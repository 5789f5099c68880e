// What the rest of the broker (the management API, /api/nodes) sees of the plugins: the loader
// in src/plugins/ implements it and server.ts hands it to the Broker.

export interface PluginStatus {
  name: string;
  description: string;
  version: string;
  /** Enabled by name (E), as a dependency of one that is (e), or not at all. */
  enabled: "explicit" | "implicit" | false;
  running: boolean;
  requires: readonly string[];
  /** Built in, or the file it was loaded from. */
  source: string;
}

export interface PluginControl {
  list(): PluginStatus[];
  /** Enables (explicitly) and starts them and what they require; returns the names started. */
  enable(names: readonly string[]): Promise<string[]>;
  /** Disables them and what requires them, and stops what is no longer needed; returns the names stopped. */
  disable(names: readonly string[]): Promise<string[]>;
}

export class PluginError extends Error {}
