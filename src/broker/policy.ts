// Policies and operator policies (rabbit_policy, rabbit_policies): a named pattern over queue or
// exchange names, a priority and a definition of settings. The highest-priority matching policy
// applies; an operator policy caps the numeric settings (the lower value wins).

import { INERT_POLICY_KEYS, validateInertKeys } from "./ha_policy.ts";
import { maxAgeMs } from "./stream_args.ts";

export type PolicyKind = "policy" | "operator_policy";
export type ApplyTo = "queues" | "exchanges" | "all" | "classic_queues" | "quorum_queues" | "streams";
export type PolicyDefinition = Record<string, unknown>;

export interface Policy {
  readonly vhost: string;
  readonly name: string;
  readonly pattern: string;
  readonly applyTo: ApplyTo;
  readonly priority: number;
  readonly definition: PolicyDefinition;
  readonly regex: RegExp;
}

/** A policy as RabbitMQ's API and definitions files spell it. */
export interface PolicyBody {
  pattern: unknown;
  definition: unknown;
  priority?: unknown;
  "apply-to"?: unknown;
}

/** A policy that cannot be set; the text says why, as RabbitMQ's validation does. */
export class PolicyError extends Error {}

const APPLY_TO: readonly ApplyTo[] = ["queues", "exchanges", "all", "classic_queues", "quorum_queues", "streams"];

const isNonNegativeInteger = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
const isString = (v: unknown) => typeof v === "string";
const oneOf = (...values: unknown[]) => (v: unknown) => values.includes(v);

/** rabbit_policies:validate_policy0 for the keys Warren applies, with RabbitMQ's texts. */
const POLICY_KEYS: Record<string, [valid: (v: unknown) => boolean, what: string]> = {
  "alternate-exchange": [isString, "is not a valid alternate exchange name"],
  "dead-letter-exchange": [isString, "is not a valid dead letter exchange name"],
  "dead-letter-routing-key": [isString, "is not a valid dead letter routing key"],
  "dead-letter-strategy": [oneOf("at-most-once", "at-least-once"), "is not a valid dead letter strategy"],
  "message-ttl": [isNonNegativeInteger, "is not a valid message TTL"],
  "expires": [(v) => Number.isInteger(v) && (v as number) >= 1, "is not a valid queue expiry"],
  "max-length": [isNonNegativeInteger, "is not a valid maximum length"],
  "max-length-bytes": [isNonNegativeInteger, "is not a valid maximum length in bytes"],
  "max-in-memory-length": [isNonNegativeInteger, "is not a valid maximum memory in bytes"],
  "max-in-memory-bytes": [isNonNegativeInteger, "is not a valid maximum memory in bytes"],
  "queue-mode": [oneOf("default", "lazy"), "is not a valid queue-mode value"],
  "queue-version": [oneOf(1, 2), "is not a valid queue-version value"],
  "overflow": [oneOf("drop-head", "reject-publish", "reject-publish-dlx"), "is not a valid overflow value"],
  "delivery-limit": [isNonNegativeInteger, "is not a valid delivery limit"],
  // Streams (rabbit_stream_queue's policy validator).
  "max-age": [(v) => typeof v === "string" && maxAgeMs(v) !== undefined, "is not a valid max age"],
  "stream-max-segment-size-bytes": [isNonNegativeInteger, "is not a valid segment size"],
};

/** The keys an operator policy may set (RabbitMQ's operator_policy_validator). */
const OPERATOR_KEYS = new Set([
  "expires",
  "message-ttl",
  "max-length",
  "max-length-bytes",
  "max-in-memory-length",
  "max-in-memory-bytes",
  "delivery-limit",
]);

/** Settings where an operator policy and a policy combine to the lower value. */
const MIN_MERGED = new Set(OPERATOR_KEYS);

/**
 * Policy keys a plugin adds (RabbitMQ's rabbit_policy_validator, e.g. federation-upstream): it
 * is given the definition's entries for its keys and returns an error text, or undefined.
 */
export interface PolicyValidator {
  readonly keys: readonly string[];
  validate(entries: readonly [key: string, value: unknown][]): string | undefined;
}

/** The policy validators registered by running plugins. */
export class PolicyValidators {
  private readonly list: PolicyValidator[] = [];

  register(validator: PolicyValidator): void {
    this.list.push(validator);
  }

  unregister(validator: PolicyValidator): void {
    const at = this.list.indexOf(validator);
    if (at >= 0) this.list.splice(at, 1);
  }

  forKey(key: string): PolicyValidator | undefined {
    return this.list.find((v) => v.keys.includes(key));
  }

  /** The first error text of any validator whose keys the definition uses. */
  check(definition: PolicyDefinition): string | undefined {
    for (const v of this.list) {
      const entries = Object.entries(definition).filter(([k]) => v.keys.includes(k));
      if (entries.length === 0) continue;
      const error = v.validate(entries);
      if (error !== undefined) return error;
    }
    return undefined;
  }
}

/** Checks a policy as rabbit_policy:validate does; throws PolicyError naming what is wrong. */
export function parsePolicy(kind: PolicyKind, vhost: string, name: string, body: PolicyBody, plugins?: PolicyValidators): Policy {
  if (typeof body.pattern !== "string") throw new PolicyError(`pattern: ${JSON.stringify(body.pattern)} is not a valid regular expression`);
  let regex: RegExp;
  try {
    regex = new RegExp(body.pattern);
  } catch (err) {
    throw new PolicyError(`${JSON.stringify(body.pattern)} is not a valid regular expression: ${(err as Error).message}`);
  }
  const applyTo = body["apply-to"] ?? "all";
  if (!APPLY_TO.includes(applyTo as ApplyTo)) {
    throw new PolicyError(`apply-to ${JSON.stringify(applyTo)} is not one of ${APPLY_TO.join(", ")}`);
  }
  const priority = body.priority ?? 0;
  if (typeof priority !== "number" || !Number.isFinite(priority)) {
    throw new PolicyError(`${JSON.stringify(priority)} priority must be a number`);
  }
  const definition = body.definition;
  if (typeof definition !== "object" || definition === null || Array.isArray(definition)) {
    throw new PolicyError("definition must be a JSON object");
  }
  const keys = Object.keys(definition);
  if (keys.length === 0) throw new PolicyError("no policy provided");
  const known = (k: string) =>
    kind === "operator_policy"
      ? OPERATOR_KEYS.has(k)
      : POLICY_KEYS[k] !== undefined || INERT_POLICY_KEYS.includes(k) || plugins?.forKey(k) !== undefined;
  const unknown = keys.filter((k) => !known(k));
  if (unknown.length > 0) throw new PolicyError(`[${unknown.map((k) => JSON.stringify(k)).join(",")}] are not recognised policy settings`);
  for (const key of keys) {
    const rule = POLICY_KEYS[key];
    if (!rule) continue; // an inert key, checked below
    const value = (definition as PolicyDefinition)[key];
    if (!rule[0](value)) throw new PolicyError(`${JSON.stringify(value)} ${rule[1]}`);
  }
  const inert = validateInertKeys(definition as PolicyDefinition);
  if (inert) throw new PolicyError(inert);
  const pluginError = kind === "policy" ? plugins?.check(definition as PolicyDefinition) : undefined;
  if (pluginError !== undefined) throw new PolicyError(pluginError);
  return {
    vhost,
    name,
    pattern: body.pattern,
    applyTo: applyTo as ApplyTo,
    priority,
    definition: { ...definition } as PolicyDefinition,
    regex,
  };
}

/** What a policy may apply to: a queue (of a type) or an exchange, by name. */
export interface PolicyTarget {
  kind: "queue" | "exchange";
  name: string;
  queueType?: "classic" | "quorum" | "stream";
}

/** Whether the policy's apply-to and pattern take in the target (priority aside). */
export function policyApplies(policy: Policy, target: PolicyTarget): boolean {
  switch (policy.applyTo) {
    case "all":
      break;
    case "queues":
      if (target.kind !== "queue") return false;
      break;
    case "exchanges":
      if (target.kind !== "exchange") return false;
      break;
    case "classic_queues":
      if (target.kind !== "queue" || target.queueType !== "classic") return false;
      break;
    case "quorum_queues":
      if (target.kind !== "queue" || target.queueType !== "quorum") return false;
      break;
    case "streams":
      if (target.kind !== "queue" || target.queueType !== "stream") return false;
      break;
  }
  return policy.regex.test(target.name);
}

/** The highest-priority policy matching the target (ties: the first by name, to be deterministic). */
export function matchPolicy(policies: Iterable<Policy>, target: PolicyTarget): Policy | undefined {
  let best: Policy | undefined;
  for (const p of policies) {
    if (!policyApplies(p, target)) continue;
    if (!best || p.priority > best.priority || (p.priority === best.priority && p.name < best.name)) best = p;
  }
  return best;
}

const NO_POLICY: PolicyDefinition = Object.freeze({});

/** A policy's definition with an operator policy's caps applied (rabbit_policy:merge_policy_value). */
export function effectiveDefinition(policy: Policy | undefined, operator: Policy | undefined): PolicyDefinition {
  if (policy === undefined && operator === undefined) return NO_POLICY; // one object for every queue without one
  const out: PolicyDefinition = { ...policy?.definition };
  for (const [key, value] of Object.entries(operator?.definition ?? {})) {
    const own = out[key];
    out[key] = own !== undefined && MIN_MERGED.has(key) ? Math.min(own as number, value as number) : value;
  }
  return out;
}

/** The value a policy sets for a key as a number (undefined when it does not). */
export function policyNumber(definition: PolicyDefinition, key: string): number | undefined {
  const value = definition[key];
  return typeof value === "number" ? value : undefined;
}

/** The value a policy sets for a key as a string (undefined when it does not). */
export function policyString(definition: PolicyDefinition, key: string): string | undefined {
  const value = definition[key];
  return typeof value === "string" ? value : undefined;
}

/** As RabbitMQ shows a policy (management API, definitions). */
export function policyJson(p: Policy): Record<string, unknown> {
  return { vhost: p.vhost, name: p.name, pattern: p.pattern, "apply-to": p.applyTo, definition: p.definition, priority: p.priority };
}
