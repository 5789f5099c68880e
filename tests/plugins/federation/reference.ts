// The reference RabbitMQ for federation tests: its management API (upstreams, policies, links)
// and AMQP URL, or undefined when RABBITMQ_REF_URL / RABBITMQ_REF_HTTP are unset. It is shared:
// every name a test makes starts with "federation-" and a random part, and is removed after.
import { api, type ApiResponse, basic } from "../../helpers/http.ts";
import { sleep } from "../../helpers/broker.ts";

export interface Reference {
  url: string;
  http: string;
  call(method: string, path: string, body?: unknown): Promise<ApiResponse>;
  /** Its cluster_name (what a downstream puts into upstream queue names). */
  clusterName(): Promise<string>;
}

export const SKIP_REFERENCE = !process.env.RABBITMQ_REF_URL || !process.env.RABBITMQ_REF_HTTP;
if (SKIP_REFERENCE) console.log("federation: RABBITMQ_REF_URL/RABBITMQ_REF_HTTP unset: tests against the reference RabbitMQ are skipped");

export function reference(): Reference {
  const http = new URL(process.env.RABBITMQ_REF_HTTP!);
  const base = `${http.protocol}//${http.host}`;
  const auth = basic(decodeURIComponent(http.username) || "guest", decodeURIComponent(http.password) || "guest");
  const call = (method: string, path: string, body?: unknown) => api(base, method, path, body, auth);
  return {
    url: process.env.RABBITMQ_REF_URL!,
    http: base,
    call,
    clusterName: async () => (await call("GET", "/api/overview")).body.cluster_name as string,
  };
}

/** A name for this run: "federation-<what>-<random>". */
export function uniqueName(what: string): string {
  return `federation-${what}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Polls `probe` until it returns a value other than undefined (or throws after `ms`). */
export async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await sleep(50);
  }
}
