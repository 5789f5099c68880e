// Which upstreams a federated exchange or queue links to (rabbit_federation_upstream): its policy
// names one upstream, a set (of upstreams with per-member overrides; "all" means every upstream
// of the vhost), or a pattern over upstream names. Defaults are RabbitMQ's.
import type { Json } from "../../src/broker/json_table.ts";
import type { PolicyDefinition } from "../../src/broker/policy.ts";

export type AckMode = "on-confirm" | "on-publish" | "no-ack";

/** One upstream as a link uses it, every default filled in. */
export interface Upstream {
  /** The federation-upstream parameter's name. */
  readonly name: string;
  readonly uris: readonly string[];
  /** The upstream exchange (exchange links) or queue (queue links): the local name by default. */
  readonly exchange: string;
  readonly queue: string;
  readonly consumerTag: string;
  readonly prefetchCount: number;
  /** Seconds between connection attempts. */
  readonly reconnectDelay: number;
  readonly maxHops: number;
  /** x-expires and x-message-ttl of the upstream queue (exchange links), in ms. */
  readonly expires: number | undefined;
  readonly messageTtl: number | undefined;
  readonly trustUserId: boolean;
  readonly ackMode: AckMode;
  readonly queueType: "classic" | "quorum";
  readonly bindNowait: boolean;
  /** "never": leave the upstream queue and exchange in place when the link stops for good. */
  readonly resourceCleanupMode: "default" | "never";
}

/** Reads the vhost's values of a component (federation-upstream, federation-upstream-set). */
export type ParameterLookup = (component: string, vhost: string) => ReadonlyMap<string, Json> | undefined;

/** Whether a policy definition federates what it applies to. */
export function federates(definition: PolicyDefinition | undefined): boolean {
  return definition !== undefined &&
    (definition["federation-upstream"] !== undefined || definition["federation-upstream-set"] !== undefined ||
      definition["federation-upstream-pattern"] !== undefined);
}

/** The upstreams a policy definition gives a local exchange or queue named `localName`. */
export function upstreamsFor(
  lookup: ParameterLookup,
  vhost: string,
  definition: PolicyDefinition | undefined,
  localName: string,
): Upstream[] {
  if (!definition) return [];
  const upstreams = lookup("federation-upstream", vhost) ?? new Map<string, Json>();
  let members: Record<string, Json>[];
  const one = definition["federation-upstream"];
  const set = definition["federation-upstream-set"];
  const pattern = definition["federation-upstream-pattern"];
  if (typeof one === "string") members = [{ upstream: one }];
  else if (set === "all") members = [...upstreams.keys()].map((upstream) => ({ upstream }));
  else if (typeof set === "string") {
    const value = lookup("federation-upstream-set", vhost)?.get(set);
    members = Array.isArray(value) ? value.filter(isObject) : [];
  } else if (typeof pattern === "string") {
    const regex = new RegExp(pattern);
    members = [...upstreams.keys()].filter((n) => regex.test(n)).map((upstream) => ({ upstream }));
  } else return [];
  const out: Upstream[] = [];
  for (const member of members) {
    const name = member.upstream;
    if (typeof name !== "string") continue;
    const value = upstreams.get(name);
    if (!isObject(value)) continue; // a set may name an upstream that does not exist (yet)
    out.push(resolve(name, member, value, localName));
  }
  return out;
}

function resolve(name: string, member: Record<string, Json>, upstream: Record<string, Json>, localName: string): Upstream {
  const get = (key: string): Json | undefined => member[key] ?? upstream[key];
  const str = (key: string, fallback: string) => (typeof get(key) === "string" ? (get(key) as string) : fallback);
  const num = (key: string, fallback: number) => (typeof get(key) === "number" ? (get(key) as number) : fallback);
  const opt = (key: string) => (typeof get(key) === "number" ? (get(key) as number) : undefined);
  const uri = get("uri");
  return {
    name,
    uris: typeof uri === "string" ? [uri] : Array.isArray(uri) ? uri.filter((u): u is string => typeof u === "string") : [],
    exchange: str("exchange", localName),
    queue: str("queue", localName),
    consumerTag: str("consumer-tag", `federation-link-${name}`),
    prefetchCount: num("prefetch-count", 1000),
    reconnectDelay: num("reconnect-delay", 5),
    maxHops: num("max-hops", 1),
    expires: opt("expires"),
    messageTtl: opt("message-ttl"),
    trustUserId: get("trust-user-id") === true,
    ackMode: str("ack-mode", "on-confirm") as AckMode,
    queueType: str("queue-type", "classic") as "classic" | "quorum",
    bindNowait: get("bind-nowait") === true,
    resourceCleanupMode: str("resource-cleanup-mode", "default") as "default" | "never",
  };
}

function isObject(value: Json | undefined): value is Record<string, Json> {
  return value !== null && value !== undefined && typeof value === "object" && !Array.isArray(value);
}
