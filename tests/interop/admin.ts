// Broker administration for differential scenarios (policies today): the reference RabbitMQ
// through its management API (RABBITMQ_REF_HTTP), Warren through the in-process broker the
// harness registered for its URL.
import type { Broker } from "../../mod.ts";
import type { PolicyBody, PolicyKind } from "../../src/broker/policy.ts";

const warrens = new Map<string, Broker>();

/** The harness registers each Warren it starts, so scenarios can administer it. */
export function registerWarren(url: string, broker: Broker): void {
  warrens.set(url, broker);
}

export interface Admin {
  setPolicy(kind: PolicyKind, name: string, body: PolicyBody): Promise<void>;
  clearPolicy(kind: PolicyKind, name: string): Promise<void>;
}

export function adminFor(url: string): Admin {
  const broker = warrens.get(url);
  if (broker) {
    const vhost = () => broker.vhosts.get("/")!;
    return {
      setPolicy: async (kind, name, body) => void vhost().setPolicy(kind, name, body),
      clearPolicy: async (kind, name) => void vhost().clearPolicy(kind, name),
    };
  }
  return rabbitAdmin();
}

function rabbitAdmin(): Admin {
  const raw = process.env.RABBITMQ_REF_HTTP;
  if (!raw) throw new Error("RABBITMQ_REF_HTTP is unset: cannot administer the reference RabbitMQ");
  const base = new URL(raw);
  const auth = `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString("base64")}`;
  const origin = `${base.protocol}//${base.host}`;
  const path = (kind: PolicyKind, name: string) =>
    `${origin}/api/${kind === "policy" ? "policies" : "operator-policies"}/%2F/${encodeURIComponent(name)}`;
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(url, {
      method, headers: { authorization: auth, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok && !(method === "DELETE" && res.status === 404)) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  };
  return {
    // RabbitMQ applies a policy to its queues asynchronously: give it a moment.
    setPolicy: async (kind, name, body) => {
      await call("PUT", path(kind, name), body);
      await new Promise((r) => setTimeout(r, 150));
    },
    clearPolicy: async (kind, name) => {
      await call("DELETE", path(kind, name));
      await new Promise((r) => setTimeout(r, 150));
    },
  };
}
