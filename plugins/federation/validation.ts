// Validation of federation-upstream and federation-upstream-set values and of the federation
// policy keys, as rabbit_federation_parameters does it, with RabbitMQ's texts: every error of a
// value is reported, one a line (the API prefixes "Validation failed").
import type { Json } from "../../src/broker/json_table.ts";
import { formatErlang } from "../../src/routing/field_values.ts";
import type { PolicyValidator } from "../../src/broker/policy.ts";
import { checkUpstreamUri } from "./uri.ts";

type Check = (key: string, value: unknown) => string | undefined;

/** A JSON value as RabbitMQ's texts print the Erlang term (strings are binaries). */
export function erlangTerm(value: unknown): string {
  if (typeof value === "string") return formatErlang(value, "S");
  if (typeof value === "number") return formatErlang(value, Number.isInteger(value) ? "l" : "d");
  if (typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return `[${value.map(erlangTerm).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `[${Object.entries(value).map(([k, v]) => `{${erlangTerm(k)},${erlangTerm(v)}}`).join(",")}]`;
  }
  return "null";
}

const binary: Check = (k, v) => (typeof v === "string" ? undefined : `${k} should be binary, actually was ${erlangTerm(v)}`);
const number: Check = (k, v) => (typeof v === "number" ? undefined : `${k} should be a number, actually was ${erlangTerm(v)}`);
const boolean: Check = (k, v) => (typeof v === "boolean" ? undefined : `${k} should be boolean, actually was ${erlangTerm(v)}`);
const oneOf = (...values: string[]): Check => (k, v) =>
  typeof v === "string" && values.includes(v) ? undefined : `${k} should be one of ${erlangTerm(values)}, actually was ${erlangTerm(v)}`;

/** uri: a string, or a list of strings, each a valid AMQP URI. */
const uri: Check = (k, v) => {
  if (typeof v === "string") return checkUpstreamUri(v);
  if (!Array.isArray(v)) return `${k} should be list, actually was ${erlangTerm(v)}`;
  for (const each of v) {
    const error = uri(k, each);
    if (error !== undefined) return error;
  }
  return undefined;
};

/** The keys an upstream and a set member share (rabbit_federation_parameters:shared_validation). */
const SHARED: [string, Check][] = [
  ["exchange", binary],
  ["queue", binary],
  ["consumer-tag", binary],
  ["prefetch-count", number],
  ["reconnect-delay", number],
  ["max-hops", number],
  ["expires", number],
  ["message-ttl", number],
  ["trust-user-id", boolean],
  ["ack-mode", oneOf("no-ack", "on-publish", "on-confirm")],
  ["resource-cleanup-mode", oneOf("default", "never")],
  // Not in RabbitMQ 3.10 (a later release added it); Warren accepts it (docs/federation.md).
  ["queue-type", oneOf("classic", "quorum")],
  ["bind-nowait", boolean],
];

/** rabbit_parameter_validation:proplist: errors in RabbitMQ's order (unrecognised terms first). */
function proplist(name: string, mandatory: [string, Check], value: unknown): string[] {
  if (Array.isArray(value)) {
    // An Erlang proplist of anything but pairs: every element is an unrecognised term.
    const missing = `Key "${mandatory[0]}" not found in ${name}`;
    return value.length === 0 ? [missing] : [`Unrecognised terms ${erlangTerm(value)} in ${name}`, missing];
  }
  if (value === null || typeof value !== "object") return [`${name} not a list ${erlangTerm(value)}`];
  const entries = value as Record<string, unknown>;
  const known = new Set([mandatory[0], ...SHARED.map(([k]) => k)]);
  const results: string[] = [];
  for (const [key, check] of [mandatory, ...SHARED]) {
    if (!Object.hasOwn(entries, key)) {
      if (key === mandatory[0]) results.unshift(`Key "${key}" not found in ${name}`);
      continue;
    }
    const error = check(key, entries[key]);
    if (error !== undefined) results.unshift(error);
  }
  const unknown = Object.entries(entries).filter(([k]) => !known.has(k));
  if (unknown.length > 0) results.unshift(`Unrecognised terms ${erlangTerm(Object.fromEntries(unknown))} in ${name}`);
  return results;
}

/** Throws an Error with RabbitMQ's text(s) unless `value` is a valid federation-upstream. */
export function validateUpstream(name: string, value: Json): void {
  const errors = proplist(name, ["uri", uri], value);
  if (errors.length > 0) throw new Error(errors.join("\n"));
}

/** Throws unless `value` is a valid federation-upstream-set: a list of {upstream, …overrides}. */
export function validateUpstreamSet(name: string, value: Json): void {
  if (!Array.isArray(value)) throw new Error(`${name} not a list ${erlangTerm(value)}`);
  const errors = value.flatMap((member) => proplist(name, ["upstream", binary], member));
  if (errors.length > 0) throw new Error(errors.join("\n"));
}

/** The policy keys (rabbit_federation_parameters:validate_policy). */
export const federationPolicyValidator: PolicyValidator = {
  keys: ["federation-upstream", "federation-upstream-set", "federation-upstream-pattern"],
  validate(entries) {
    if (entries.length >= 2) return "cannot specify federation-upstream, federation-upstream-set or federation-upstream-pattern together";
    const [key, value] = entries[0]!;
    if (key === "federation-upstream-pattern") {
      if (typeof value !== "string") return `${erlangTerm(value)} is not a valid federation upstream pattern name`;
      try {
        new RegExp(value);
      } catch (err) {
        return `could not compile pattern ${value} to a regular expression. Error: ${(err as Error).message}`;
      }
      return undefined;
    }
    if (typeof value === "string") return undefined;
    return key === "federation-upstream"
      ? `${erlangTerm(value)} is not a valid federation upstream name`
      : `${erlangTerm(value)} is not a valid federation upstream set name`;
  },
};
