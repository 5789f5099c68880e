// Setting up federation in tests: an upstream and a policy on Warren (through its API) or on the
// reference RabbitMQ, and waiting for the link to run.
import { api, type ApiResponse } from "../../helpers/http.ts";
import type { TestBroker } from "../../helpers/broker.ts";
import { eventually, type Reference } from "./reference.ts";

export interface Side {
  call(method: string, path: string, body?: unknown): Promise<ApiResponse>;
}

export const warrenSide = (b: TestBroker): Side => ({ call: (m, p, body) => api(b.httpUrl, m, p, body) });
export const rabbitSide = (ref: Reference): Side => ({ call: ref.call });

const v = (vhost: string) => encodeURIComponent(vhost);

/** Federates `exchange` (or `queue`) in `vhost` of `side` from `uri`; returns an undo. */
export async function federate(
  side: Side,
  o: {
    vhost?: string;
    name: string;
    kind?: "exchanges" | "queues";
    upstream: string;
    uri: string;
    maxHops?: number;
    extra?: Record<string, unknown>;
  },
): Promise<() => Promise<void>> {
  const vhost = v(o.vhost ?? "/");
  const value = { uri: o.uri, ...(o.maxHops !== undefined ? { "max-hops": o.maxHops } : {}), ...o.extra };
  const up = await side.call("PUT", `/api/parameters/federation-upstream/${vhost}/${o.upstream}`, { value });
  if (up.status >= 300) throw new Error(`upstream refused: ${JSON.stringify(up.body)}`);
  const pol = await side.call("PUT", `/api/policies/${vhost}/${o.upstream}`, {
    pattern: `^${o.name}$`,
    "apply-to": o.kind ?? "exchanges",
    definition: { "federation-upstream": o.upstream },
  });
  if (pol.status >= 300) throw new Error(`policy refused: ${JSON.stringify(pol.body)}`);
  await eventually(async () => {
    const links = (await side.call("GET", `/api/federation-links/${vhost}`)).body as Record<string, unknown>[];
    return links.find((l) => (l.exchange === o.name || l.queue === o.name) && l.upstream === o.upstream && l.status === "running");
  }, `the link for ${o.name} from ${o.upstream} to run`);
  return async () => {
    await side.call("DELETE", `/api/policies/${vhost}/${o.upstream}`);
    await side.call("DELETE", `/api/parameters/federation-upstream/${vhost}/${o.upstream}`);
  };
}
