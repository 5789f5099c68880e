// The internal management API (users, vhosts, permissions, limits) that Broker exposes to the
// HTTP API, `warren ctl` and definitions import. Every change is applied in memory and recorded
// in the store; refusals are ManagementErrors naming what was wrong.
import type { Store } from "../../storage/store.ts";
import { isHashingAlgorithm } from "../auth/password.ts";
import { type Permission, validateTopicPermission } from "../auth/permissions.ts";
import type { User, UserLimits, Users } from "../auth/users.ts";
import { formatErlang } from "../routing/field_values.ts";
import type { ClientConnection } from "./client_connection.ts";
import type { ExchangeTypes } from "./exchange_types.ts";
import type { PolicyValidators } from "./policy.ts";
import type { BrokerEvents } from "./events.ts";
import { Vhost, type VhostLimits } from "./vhost.ts";
import { turnEnds } from "../runtime/timers.ts";

/** What these functions change: the broker's users, vhosts, store and connections (Broker is one). */
export interface ManagedBroker {
  readonly users: Users;
  readonly vhosts: Map<string, Vhost>;
  readonly exchangeTypes: ExchangeTypes;
  readonly events: BrokerEvents;
  readonly policyValidators: PolicyValidators;
  readonly store: Store | null;
  readonly connections: Iterable<ClientConnection>;
  readonly protocolConnections: Iterable<ClientConnection>;
  readonly parameters: { vhostDeleted(vhost: string): void };
  /** Work a stop waits for (a vhost deletion under way). */
  beforeStop(hook: () => Promise<void>): void;
}

/** Queues deleted per turn when a vhost goes: 20,000 queues in one turn held every connection 400 ms. */
export const VHOST_QUEUES_PER_TURN = 500;

/** Per broker: the vhosts whose deletion is under way, by name, and what finishes each. */
const deletions = new WeakMap<ManagedBroker, Map<string, Promise<void>>>();

/** `not_found`: a named user or vhost does not exist (HTTP 404); `invalid`: bad input (HTTP 400). */
export class ManagementError extends Error {
  constructor(readonly kind: "not_found" | "invalid", message: string) {
    super(message);
    this.name = "ManagementError";
  }
}

export interface VhostOptions {
  description?: string;
  tags?: string[];
  limits?: VhostLimits;
}

const VHOST_LIMITS = ["max-connections", "max-queues"] as const;
const USER_LIMITS = ["max-connections", "max-channels"] as const;

export function addUser(broker: ManagedBroker, name: string, password: string | undefined, tags: string[] = []): User {
  checkName("user", name);
  const user = broker.users.add(name, password, cleanTags(tags));
  saveUser(broker, user);
  return user;
}

/** A user with a password hash taken from RabbitMQ (definitions export, /api/users). */
export function addUserWithHash(broker: ManagedBroker, name: string, hash: string, algorithm: string, tags: string[] = []): User {
  checkName("user", name);
  if (!isHashingAlgorithm(algorithm)) throw new ManagementError("invalid", `unknown hashing algorithm '${algorithm}'`);
  checkPasswordHash(name, hash);
  const user = broker.users.addHashed(name, hash, algorithm, cleanTags(tags));
  saveUser(broker, user);
  return user;
}

/** A stored hash is base64 of a 4-byte salt and a digest; "" means no password. */
export function checkPasswordHash(name: string, hash: string): void {
  if (hash !== "" && (!/^[A-Za-z0-9+/]*={0,2}$/.test(hash) || Buffer.from(hash, "base64").length <= 4)) {
    throw new ManagementError("invalid", `password_hash of user '${name}' is not a base64 salted hash`);
  }
}

export function changePassword(broker: ManagedBroker, name: string, password: string): void {
  const user = existingUser(broker, name);
  addUser(broker, name, password, user.tags);
}

/** The user keeps its tags and permissions but can no longer log in with a password. */
export function clearPassword(broker: ManagedBroker, name: string): void {
  const user = existingUser(broker, name);
  addUserWithHash(broker, name, "", user.hashingAlgorithm, user.tags);
}

export function setUserTags(broker: ManagedBroker, name: string, tags: string[]): void {
  const user = existingUser(broker, name);
  user.tags = cleanTags(tags);
  broker.users.version++;
  saveUser(broker, user);
}

export function setUserLimits(broker: ManagedBroker, name: string, limits: UserLimits): void {
  const user = existingUser(broker, name);
  user.limits = checkLimits(limits, USER_LIMITS, `user '${name}'`, "user-limits") as UserLimits;
  saveUser(broker, user);
}

/** Deletes a user, its permissions, and closes its connections (320), as RabbitMQ does. */
export function deleteUser(broker: ManagedBroker, name: string): void {
  existingUser(broker, name);
  broker.users.delete(name);
  broker.store?.deleteUser(name);
  for (const c of broker.connections) if (c.user?.name === name) c.forceClose(`user '${name}' is deleted`);
  for (const c of broker.protocolConnections) if (c.user?.name === name) c.forceClose(`user '${name}' is deleted`);
}

export function addVhost(broker: ManagedBroker, name: string, opts: VhostOptions = {}): Vhost {
  checkName("vhost", name);
  // The old one's rows are still being deleted by name.
  if (deletions.get(broker)?.has(name)) {
    throw new ManagementError("invalid", `vhost '${name}' is being deleted; add it again once it is gone`);
  }
  let vhost = broker.vhosts.get(name);
  const created = !vhost;
  if (!vhost) broker.vhosts.set(name, vhost = new Vhost(name, broker, broker.store));
  if (opts.description !== undefined) vhost.description = opts.description;
  if (opts.tags !== undefined) vhost.tags = cleanTags(opts.tags);
  if (opts.limits !== undefined) vhost.limits = checkLimits(opts.limits, VHOST_LIMITS, `vhost '${name}'`, "limits") as VhostLimits;
  if (created || Object.keys(opts).length > 0) saveVhost(broker, vhost);
  return vhost;
}

/**
 * Deletes a vhost as rabbit_vhost:delete does: its connections are closed with 320, then its
 * queues (with their messages), exchanges, bindings, permissions and limits go. The vhost is gone
 * for clients at once; with more than VHOST_QUEUES_PER_TURN queues, they are deleted that many per
 * turn, and the promise resolves when all is gone (until then the name cannot be added again, and
 * a broker stop waits for it). Throws at once when the vhost does not exist.
 */
export function deleteVhost(broker: ManagedBroker, name: string): Promise<void> {
  const vhost = existingVhost(broker, name);
  broker.vhosts.delete(name);
  for (const c of broker.connections) if (c.vhost === vhost) c.forceClose(`vhost '${name}' is deleted`);
  for (const c of broker.protocolConnections) if (c.vhost === vhost) c.forceClose(`vhost '${name}' is deleted`);
  const queues = [...vhost.queues.values()];
  const finish = () => {
    // Those who keep state per exchange (held delayed messages, federation links) hear of each one.
    for (const exchange of [...vhost.exchanges.values()]) broker.events.emit("exchangeDeleted", { vhost: name, exchange });
    vhost.exchanges.clear();
    broker.users.forgetVhost(name);
    broker.parameters.vhostDeleted(name);
    broker.store?.deleteVhost(name);
  };
  if (queues.length <= VHOST_QUEUES_PER_TURN) {
    for (const queue of queues) vhost.deleteQueue(queue);
    finish();
    return Promise.resolve();
  }
  let underWay = deletions.get(broker);
  if (!underWay) {
    deletions.set(broker, underWay = new Map());
    const all = underWay;
    broker.beforeStop(async () => {
      await Promise.all(all.values());
    });
  }
  const done = (async () => {
    for (let at = 0; at < queues.length; at += VHOST_QUEUES_PER_TURN) {
      if (at > 0) await turnEnds();
      for (const queue of queues.slice(at, at + VHOST_QUEUES_PER_TURN)) vhost.deleteQueue(queue);
    }
    finish();
  })().finally(() => underWay.delete(name));
  underWay.set(name, done);
  return done;
}

/** Throws ManagementError unless `limits` are valid vhost limits (RabbitMQ's texts). */
export function checkVhostLimits(limits: object, vhost: string): void {
  checkLimits(limits, VHOST_LIMITS, `vhost '${vhost}'`, "limits");
}

/** Throws ManagementError unless `limits` are valid user limits. */
export function checkUserLimits(limits: object, user: string): void {
  checkLimits(limits, USER_LIMITS, `user '${user}'`, "user-limits");
}

/** Replaces every limit of the vhost ({} clears them). */
export function setVhostLimits(broker: ManagedBroker, name: string, limits: VhostLimits): void {
  const vhost = existingVhost(broker, name);
  vhost.limits = checkLimits(limits, VHOST_LIMITS, `vhost '${name}'`, "limits") as VhostLimits;
  saveVhost(broker, vhost);
}

export function setPermissions(broker: ManagedBroker, user: string, vhost: string, p: Permission): void {
  existingUser(broker, user);
  existingVhost(broker, vhost);
  const permission = { configure: p.configure, write: p.write, read: p.read };
  try {
    broker.users.setPermission(user, vhost, permission);
  } catch (err) {
    throw new ManagementError("invalid", (err as Error).message);
  }
  broker.store?.savePermission(user, vhost, permission.configure, permission.write, permission.read);
}

export function clearPermissions(broker: ManagedBroker, user: string, vhost: string): void {
  existingUser(broker, user);
  existingVhost(broker, vhost);
  broker.users.clearPermission(user, vhost);
  broker.store?.deletePermission(user, vhost);
}

export function setTopicPermissions(
  broker: ManagedBroker,
  user: string,
  vhost: string,
  exchange: string,
  write: string,
  read: string,
): void {
  existingUser(broker, user);
  existingVhost(broker, vhost);
  const p = { exchange, write, read };
  try {
    validateTopicPermission(p);
  } catch (err) {
    throw new ManagementError("invalid", (err as Error).message);
  }
  broker.users.setTopicPermission(user, vhost, p);
  broker.store?.saveTopicPermission(user, vhost, exchange, write, read);
}

/** One exchange's topic permission, or all of the user's in the vhost. */
export function clearTopicPermissions(broker: ManagedBroker, user: string, vhost: string, exchange?: string): void {
  existingUser(broker, user);
  existingVhost(broker, vhost);
  broker.users.clearTopicPermission(user, vhost, exchange);
  broker.store?.deleteTopicPermission(user, vhost, exchange);
}

// ------------------------------------------------------------------------------ helpers

function existingUser(broker: ManagedBroker, name: string): User {
  const user = broker.users.get(name);
  if (!user) throw new ManagementError("not_found", `user '${name}' does not exist`);
  return user;
}

function existingVhost(broker: ManagedBroker, name: string): Vhost {
  const vhost = broker.vhosts.get(name);
  if (!vhost) throw new ManagementError("not_found", `vhost '${name}' does not exist`);
  return vhost;
}

function checkName(kind: string, name: string): void {
  if (typeof name !== "string" || name === "") throw new ManagementError("invalid", `${kind} name must not be empty`);
}

/** RabbitMQ stores tags as a list; "a, b" from a form or the CLI becomes ["a", "b"]. */
function cleanTags(tags: string[]): string[] {
  return [...new Set(tags.flatMap((t) => t.split(",")).map((t) => t.trim()).filter((t) => t !== ""))];
}

/**
 * Known limit names with integer values, as rabbit_vhost_limit / rabbit_auth_backend_internal
 * validate them (with their texts). A negative value means "no limit" and is kept, as RabbitMQ
 * keeps it.
 */
function checkLimits(limits: object, known: readonly string[], what: string, section: string): Record<string, number> {
  const unknown = Object.entries(limits).filter(([key]) => !known.includes(key));
  if (unknown.length > 0) {
    const terms = unknown.map(([k, v]) => `{${erlangTerm(k)},${erlangTerm(v)}}`).join(",");
    throw new ManagementError("invalid", `Unrecognised terms [${terms}] in ${section} for ${what} (known: ${known.join(", ")})`);
  }
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(limits)) {
    if (typeof value !== "number" || !Number.isInteger(value)) {
      throw new ManagementError("invalid", `${key} should be a number, actually was ${erlangTerm(value)}`);
    }
    out[key] = value;
  }
  return out;
}

/** A JSON value as RabbitMQ's error texts print the Erlang term (strings are binaries). */
function erlangTerm(value: unknown): string {
  if (typeof value === "string") return formatErlang(value, "S");
  if (typeof value === "number") return formatErlang(value, Number.isInteger(value) ? "l" : "d");
  return JSON.stringify(value);
}

function saveUser(broker: ManagedBroker, user: User): void {
  broker.store?.saveUser(user.name, user.passwordHash, user.hashingAlgorithm, user.tags, user.limits);
}

function saveVhost(broker: ManagedBroker, vhost: Vhost): void {
  broker.store?.saveVhost(vhost.name, vhost.description, vhost.tags, vhost.limits);
}
