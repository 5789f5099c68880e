// The built-in plugins, imported statically so `bun build --compile` bundles them. Each lives in
// its own folder and touches only the interfaces in src/plugins/api.ts.
import type { Plugin } from "../src/plugins/api.ts";
import { plugin as consistentHash } from "./consistent_hash/mod.ts";
import { plugin as delayedMessage } from "./delayed_message/mod.ts";
import { plugin as federation } from "./federation/mod.ts";
import { plugin as mqtt } from "./mqtt/mod.ts";
import { plugin as shovel } from "./shovel/mod.ts";

export const BUILTIN_PLUGINS: readonly Plugin[] = [consistentHash, delayedMessage, shovel, federation, mqtt];
