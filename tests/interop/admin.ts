// Users, permissions and vhosts for differential scenarios, set up the same way on both brokers:
// on the reference RabbitMQ through its management HTTP API (RABBITMQ_REF_HTTP), on Warren
// through the internal management API on the Broker object (or its HTTP API when it runs as a
// process, WARREN_RUNTIME=deno).
import type { Broker } from "../../mod.ts";
import type { PolicyBody, PolicyKind } from "../../src/broker/policy.ts";

export interface Grant {
  configure: string;
  write: string;
  read: string;
}

export interface BrokerAdmin {
  /** Creates or replaces a user; an undefined password makes one that cannot log in. */
  putUser(name: string, password: string | undefined, tags: string[]): Promise<void>;
  deleteUser(name: string): Promise<void>;
  setPermissions(user: string, vhost: string, grant: Grant): Promise<void>;
  setTopicPermissions(user: string, vhost: string, exchange: string, write: string, read: string): Promise<void>;
  putVhost(name: string): Promise<void>;
  deleteVhost(name: string): Promise<void>;
  setVhostLimits(name: string, limits: Record<string, number>): Promise<void>;
  /** Policies and operator policies in vhost "/". */
  setPolicy(kind: PolicyKind, name: string, body: PolicyBody): Promise<void>;
  clearPolicy(kind: PolicyKind, name: string): Promise<void>;
}

export function warrenAdmin(broker: Broker): BrokerAdmin {
  return {
    async putUser(name, password, tags) {
      broker.addUser(name, password, tags);
    },
    async deleteUser(name) {
      if (broker.users.get(name)) broker.deleteUser(name);
    },
    async setPermissions(user, vhost, g) {
      broker.setPermissions(user, vhost, g);
    },
    async setTopicPermissions(user, vhost, exchange, write, read) {
      broker.setTopicPermissions(user, vhost, exchange, write, read);
    },
    async putVhost(name) {
      broker.addVhost(name);
    },
    async deleteVhost(name) {
      if (broker.vhosts.has(name)) broker.deleteVhost(name);
    },
    async setVhostLimits(name, limits) {
      broker.setVhostLimits(name, limits);
    },
    async setPolicy(kind, name, body) {
      broker.vhosts.get("/")!.setPolicy(kind, name, body);
    },
    async clearPolicy(kind, name) {
      broker.vhosts.get("/")!.clearPolicy(kind, name);
    },
  };
}

/** The reference's management API; undefined when RABBITMQ_REF_HTTP is unset. */
export function rabbitAdmin(): BrokerAdmin | undefined {
  const raw = process.env.RABBITMQ_REF_HTTP;
  return raw ? managementApiAdmin(raw) : undefined;
}

/**
 * Administration through a management HTTP API at `raw` (http://user:pass@host:port): the
 * reference's, or Warren's own when the broker under test is a process.
 */
export function managementApiAdmin(raw: string): BrokerAdmin {
  const u = new URL(raw);
  const base = `${u.protocol}//${u.host}`;
  const auth = "Basic " +
    Buffer.from(`${decodeURIComponent(u.username) || "guest"}:${decodeURIComponent(u.password) || "guest"}`).toString("base64");
  const call = async (method: string, path: string, body?: unknown, okMissing = false) => {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: auth, "content-type": "application/json" },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    if (res.ok || (okMissing && res.status === 404)) return;
    throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  };
  const e = encodeURIComponent;
  return {
    putUser: (name, password, tags) =>
      call(
        "PUT",
        `/api/users/${e(name)}`,
        password === undefined ? { password_hash: "", tags: tags.join(",") } : { password, tags: tags.join(",") },
      ),
    deleteUser: (name) => call("DELETE", `/api/users/${e(name)}`, undefined, true),
    setPermissions: (user, vhost, g) => call("PUT", `/api/permissions/${e(vhost)}/${e(user)}`, g),
    setTopicPermissions: (user, vhost, exchange, write, read) =>
      call("PUT", `/api/topic-permissions/${e(vhost)}/${e(user)}`, { exchange, write, read }),
    putVhost: (name) => call("PUT", `/api/vhosts/${e(name)}`),
    deleteVhost: (name) => call("DELETE", `/api/vhosts/${e(name)}`, undefined, true),
    setVhostLimits: async (name, limits) => {
      for (const [key, value] of Object.entries(limits)) {
        await call("PUT", `/api/vhost-limits/${e(name)}/${e(key)}`, { value });
      }
    },
    // RabbitMQ applies a policy change to its queues asynchronously: give it a moment.
    setPolicy: async (kind, name, body) => {
      await call("PUT", `/api/${kind === "policy" ? "policies" : "operator-policies"}/%2F/${e(name)}`, body);
      await new Promise((r) => setTimeout(r, 150));
    },
    clearPolicy: async (kind, name) => {
      await call("DELETE", `/api/${kind === "policy" ? "policies" : "operator-policies"}/%2F/${e(name)}`, undefined, true);
      await new Promise((r) => setTimeout(r, 150));
    },
  };
}
