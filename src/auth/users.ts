// Users and their vhost permissions (in memory for now; issue 6 adds the durable store,
// permission checks per operation and topic permissions).
import { checkPassword, DEFAULT_HASHING, hashPassword, type HashingAlgorithm } from "./password.ts";

export interface User {
  readonly name: string;
  /** Empty when the user has no password: such a user cannot log in with PLAIN or AMQPLAIN. */
  passwordHash: string;
  hashingAlgorithm: HashingAlgorithm;
  tags: string[];
}

export interface Permission {
  configure: string;
  write: string;
  read: string;
}

export const FULL_PERMISSION: Readonly<Permission> = { configure: ".*", write: ".*", read: ".*" };

export type LoginResult = { ok: true; user: User } | { ok: false; reason: string };

export class Users {
  private readonly users = new Map<string, User>();
  /** user name → vhost name → permission */
  private readonly permissions = new Map<string, Map<string, Permission>>();

  add(name: string, password: string | undefined, tags: string[] = []): User {
    const user: User = {
      name,
      passwordHash: password === undefined ? "" : hashPassword(password),
      hashingAlgorithm: DEFAULT_HASHING,
      tags,
    };
    this.users.set(name, user);
    return user;
  }

  /** A user whose password hash is already known (recovered from the store or a definitions file). */
  addHashed(name: string, passwordHash: string, hashingAlgorithm: HashingAlgorithm, tags: string[]): User {
    const user: User = { name, passwordHash, hashingAlgorithm, tags };
    this.users.set(name, user);
    return user;
  }

  get(name: string): User | undefined {
    return this.users.get(name);
  }

  /** Checks a user name and password as rabbit_auth_backend_internal does. */
  login(name: string, password: string): LoginResult {
    const user = this.users.get(name);
    if (!user) return { ok: false, reason: `user '${name}' - invalid credentials` };
    if (user.passwordHash === "" || !checkPassword(password, user.passwordHash, user.hashingAlgorithm)) {
      return { ok: false, reason: `user '${name}' - invalid credentials` };
    }
    return { ok: true, user };
  }

  setPermission(user: string, vhost: string, permission: Permission): void {
    let byVhost = this.permissions.get(user);
    if (!byVhost) this.permissions.set(user, (byVhost = new Map()));
    byVhost.set(vhost, { ...permission });
  }

  permission(user: string, vhost: string): Permission | undefined {
    return this.permissions.get(user)?.get(vhost);
  }
}
