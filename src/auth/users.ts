// The internal user database (rabbit_auth_backend_internal): users, their vhost permissions,
// topic permissions and limits, in memory. Persisting is management.ts's job.
import { checkPassword, DEFAULT_HASHING, type HashingAlgorithm, hashPassword } from "./password.ts";
import {
  type CompiledPermission,
  compilePattern,
  compilePermission,
  expandTopicPattern,
  type Permission,
  type TopicPermission,
} from "./permissions.ts";

export { FULL_PERMISSION, type Permission, type TopicPermission } from "./permissions.ts";

export interface User {
  readonly name: string;
  /** Empty when the user has no password: such a user cannot log in with PLAIN or AMQPLAIN. */
  passwordHash: string;
  hashingAlgorithm: HashingAlgorithm;
  tags: string[];
  /** RabbitMQ's user limits: max-connections, max-channels (absent or negative: none). */
  limits: UserLimits;
}

export interface UserLimits {
  "max-connections"?: number;
  "max-channels"?: number;
}

export type LoginResult = { ok: true; user: User } | { ok: false; reason: string };

/** The tags RabbitMQ's management UI knows; others are kept and shown as they are. */
export const KNOWN_TAGS = ["administrator", "monitoring", "policymaker", "management", "impersonator"] as const;

interface TopicRegexes {
  write: RegExp;
  read: RegExp;
}

export class Users {
  private readonly users = new Map<string, User>();
  /** user name → vhost name → permission */
  private readonly permissions = new Map<string, Map<string, CompiledPermission>>();
  /** user name → vhost name → exchange → topic permission */
  private readonly topicPermissions = new Map<string, Map<string, Map<string, TopicPermission>>>();
  /** Topic patterns expanded for one user and vhost, compiled: "user\0vhost\0exchange". */
  private readonly topicRegexes = new Map<string, TopicRegexes>();
  /**
   * Bumped by every change that can turn an allowed operation into a refused one: channels
   * compare it to drop the verdicts they cached.
   */
  version = 0;

  add(name: string, password: string | undefined, tags: string[] = []): User {
    return this.addHashed(name, password === undefined ? "" : hashPassword(password), DEFAULT_HASHING, tags);
  }

  /** A user whose password hash is already known (recovered from the store or a definitions file). */
  addHashed(name: string, passwordHash: string, hashingAlgorithm: HashingAlgorithm, tags: string[], limits: UserLimits = {}): User {
    const existing = this.users.get(name);
    const user: User = { name, passwordHash, hashingAlgorithm, tags: [...tags], limits: existing?.limits ?? { ...limits } };
    this.users.set(name, user);
    this.version++;
    return user;
  }

  get(name: string): User | undefined {
    return this.users.get(name);
  }

  list(): User[] {
    return [...this.users.values()];
  }

  delete(name: string): boolean {
    if (!this.users.delete(name)) return false;
    this.permissions.delete(name);
    this.topicPermissions.delete(name);
    this.changed();
    return true;
  }

  /** Checks a user name and password as rabbit_auth_backend_internal does. */
  login(name: string, password: string): LoginResult {
    const user = this.users.get(name);
    if (!user) return { ok: false, reason: `user '${name}' - invalid credentials` };
    if (password === "") {
      return {
        ok: false,
        reason: `user '${name}' attempted to log in with a blank password, which is prohibited by the internal authN backend.`,
      };
    }
    if (user.passwordHash === "" || !checkPassword(password, user.passwordHash, user.hashingAlgorithm)) {
      return { ok: false, reason: `user '${name}' - invalid credentials` };
    }
    return { ok: true, user };
  }

  // ------------------------------------------------------------------------------ permissions

  setPermission(user: string, vhost: string, permission: Permission): void {
    const compiled = compilePermission(permission); // throws before anything changes
    let byVhost = this.permissions.get(user);
    if (!byVhost) this.permissions.set(user, byVhost = new Map());
    byVhost.set(vhost, compiled);
    this.changed();
  }

  clearPermission(user: string, vhost: string): boolean {
    const removed = this.permissions.get(user)?.delete(vhost) ?? false;
    if (removed) this.changed();
    return removed;
  }

  permission(user: string, vhost: string): CompiledPermission | undefined {
    return this.permissions.get(user)?.get(vhost);
  }

  /** Every permission as rows (user, vhost, configure, write, read). */
  listPermissions(filter: { user?: string; vhost?: string } = {}): ({ user: string; vhost: string } & Permission)[] {
    const out: ({ user: string; vhost: string } & Permission)[] = [];
    for (const [user, byVhost] of this.permissions) {
      if (filter.user !== undefined && user !== filter.user) continue;
      for (const [vhost, p] of byVhost) {
        if (filter.vhost !== undefined && vhost !== filter.vhost) continue;
        out.push({ user, vhost, configure: p.configure, write: p.write, read: p.read });
      }
    }
    return out;
  }

  // ------------------------------------------------------------------------------ topic permissions

  setTopicPermission(user: string, vhost: string, p: TopicPermission): void {
    compilePattern(p.write);
    compilePattern(p.read);
    let byVhost = this.topicPermissions.get(user);
    if (!byVhost) this.topicPermissions.set(user, byVhost = new Map());
    let byExchange = byVhost.get(vhost);
    if (!byExchange) byVhost.set(vhost, byExchange = new Map());
    byExchange.set(p.exchange, { ...p });
    this.changed();
  }

  /** Clears one exchange's topic permission, or all of the user's in the vhost. */
  clearTopicPermission(user: string, vhost: string, exchange?: string): boolean {
    const byExchange = this.topicPermissions.get(user)?.get(vhost);
    if (!byExchange) return false;
    const removed = exchange === undefined ? byExchange.size > 0 : byExchange.has(exchange);
    if (exchange === undefined) byExchange.clear();
    else byExchange.delete(exchange);
    if (removed) this.changed();
    return removed;
  }

  listTopicPermissions(filter: { user?: string; vhost?: string } = {}): ({ user: string; vhost: string } & TopicPermission)[] {
    const out: ({ user: string; vhost: string } & TopicPermission)[] = [];
    for (const [user, byVhost] of this.topicPermissions) {
      if (filter.user !== undefined && user !== filter.user) continue;
      for (const [vhost, byExchange] of byVhost) {
        if (filter.vhost !== undefined && vhost !== filter.vhost) continue;
        for (const p of byExchange.values()) out.push({ user, vhost, ...p });
      }
    }
    return out;
  }

  /**
   * Whether `routingKey` passes the user's topic permission on a topic exchange. No topic
   * permission for that exchange means allowed, as in RabbitMQ.
   */
  topicAllowed(user: string, vhost: string, exchange: string, kind: "write" | "read", routingKey: string): boolean {
    const p = this.topicPermissions.get(user)?.get(vhost)?.get(exchange);
    if (!p) return true;
    const key = `${user}\0${vhost}\0${exchange}`;
    let regexes = this.topicRegexes.get(key);
    if (!regexes) {
      const variables = { username: user, vhost };
      try {
        regexes = {
          write: compilePattern(expandTopicPattern(p.write, variables)),
          read: compilePattern(expandTopicPattern(p.read, variables)),
        };
      } catch {
        return false; // a user or vhost name made the pattern invalid: refuse, as re:run would fail
      }
      this.topicRegexes.set(key, regexes);
    }
    return regexes[kind].test(routingKey);
  }

  /** Every vhost-scoped entry of a vhost that is being deleted. */
  forgetVhost(vhost: string): void {
    for (const byVhost of this.permissions.values()) byVhost.delete(vhost);
    for (const byVhost of this.topicPermissions.values()) byVhost.delete(vhost);
    this.changed();
  }

  private changed(): void {
    this.topicRegexes.clear();
    this.version++;
  }
}
