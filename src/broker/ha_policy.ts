// Classic mirrored queue ("HA") and queue-placement policy keys, validated as RabbitMQ 3.10's
// rabbit_mirror_queue_misc:validate_policy and rabbit_queue_location_validator do, with their
// texts. On one node they change nothing: Warren accepts, stores, exports and shows them so
// that policies written for a cluster (Terraform, the topology operator) still apply.

/** The mirroring keys; one validator looks at them together, as RabbitMQ's does. */
export const HA_KEYS = [
  "ha-mode",
  "ha-params",
  "ha-sync-mode",
  "ha-sync-batch-size",
  "ha-promote-on-shutdown",
  "ha-promote-on-failure",
] as const;

/** Keys accepted in policies (not operator policies) that are inert on one node. */
export const INERT_POLICY_KEYS: readonly string[] = [...HA_KEYS, "queue-master-locator", "queue-leader-locator"];

const MASTER_LOCATORS = ["min-masters", "client-local", "random"];
const LEADER_LOCATORS = ["client-local", "balanced", "random", "least-leaders"];

/** A JSON value as Erlang's `~p` prints RabbitMQ's decoded form of it (strings are binaries). */
export function erlangTerm(value: unknown): string {
  if (value === undefined) return "none";
  if (typeof value === "string") return `<<${JSON.stringify(value)}>>`;
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  if (Array.isArray(value)) return `[${value.map(erlangTerm).join(",")}]`;
  const entries = Object.entries(value as object).map(([k, v]) => `${erlangTerm(k)} => ${erlangTerm(v)}`);
  return `#{${entries.join(",")}}`;
}

function validateParams(mode: string, params: unknown): string | undefined {
  switch (mode) {
    case "all":
      return params === undefined ? undefined : 'ha-mode="all" does not take parameters';
    case "exactly":
      return Number.isInteger(params) && (params as number) > 0
        ? undefined
        : `ha-mode="exactly" takes an integer, ${erlangTerm(params)} given`;
    default: { // nodes
      if (!Array.isArray(params)) return `ha-mode="nodes" takes a list, ${erlangTerm(params)} given`;
      if (params.length === 0) return 'ha-mode="nodes" list must be non-empty';
      const invalid = params.filter((p) => typeof p !== "string");
      return invalid.length === 0 ? undefined : `ha-mode="nodes" takes a list of strings, ${erlangTerm(invalid)} was not a string`;
    }
  }
}

const isPromote = (v: unknown) => v === undefined || v === "always" || v === "when-synced";

/** rabbit_mirror_queue_misc:validate_policy: the first problem's text, or undefined. */
function validateHa(d: Record<string, unknown>): string | undefined {
  if (HA_KEYS.every((k) => d[k] === undefined)) return undefined;
  const mode = d["ha-mode"];
  if (mode === undefined) return "ha-mode must be specified to specify ha-params, ha-sync-mode or ha-promote-on-shutdown";
  if (mode !== "all" && mode !== "exactly" && mode !== "nodes") return `${erlangTerm(mode)} is not a valid ha-mode value`;
  const params = validateParams(mode, d["ha-params"]);
  if (params) return params;
  const sync = d["ha-sync-mode"];
  if (sync !== undefined && sync !== "manual" && sync !== "automatic") {
    return `ha-sync-mode must be "manual" or "automatic", got ${erlangTerm(sync)}`;
  }
  const batch = d["ha-sync-batch-size"];
  if (batch !== undefined && !(Number.isInteger(batch) && (batch as number) > 0)) {
    return `ha-sync-batch-size takes an integer greater than 0, ${erlangTerm(batch)} given`;
  }
  for (const key of ["ha-promote-on-shutdown", "ha-promote-on-failure"]) {
    if (!isPromote(d[key])) return `${key} must be "always" or "when-synced", got ${erlangTerm(d[key])}`;
  }
  return undefined;
}

/** Validates the inert keys of a policy definition; returns RabbitMQ's text for the first problem. */
export function validateInertKeys(d: Record<string, unknown>): string | undefined {
  const ha = validateHa(d);
  if (ha) return ha;
  const master = d["queue-master-locator"];
  if (master !== undefined && !MASTER_LOCATORS.includes(master as string)) {
    return `${erlangTerm(master)} invalid queue-master-locator value`;
  }
  const leader = d["queue-leader-locator"];
  if (leader !== undefined && !LEADER_LOCATORS.includes(leader as string)) {
    return `${erlangTerm(leader)} is not a valid queue leader locator value`;
  }
  return undefined;
}

/** The inert keys a definition sets (for the one log line per policy). */
export function inertKeysIn(d: Record<string, unknown>): string[] {
  return INERT_POLICY_KEYS.filter((k) => d[k] !== undefined);
}
