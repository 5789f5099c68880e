// Read access to broker.users for the management API and definitions export. Users offers no
// listing yet (the users/permissions management work in src/auth adds one): a `list()` or
// `permissions()` method is used when present, otherwise the two maps are read as they are,
// and this file is the one place that knows their names.
import type { Permission, User, Users } from "../auth/users.ts";

export interface PermissionEntry extends Permission {
  user: string;
  vhost: string;
}

interface UsersInternals {
  users?: Map<string, User>;
  permissions?: Map<string, Map<string, Permission>>;
  list?: () => Iterable<User>;
}

function internals(users: Users): UsersInternals {
  return users as unknown as UsersInternals;
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function listUsers(users: Users): User[] {
  const u = internals(users);
  const all = typeof u.list === "function" ? [...u.list.call(users)] : u.users ? [...u.users.values()] : undefined;
  if (!all) throw new Error("Cannot list users: Users has neither list() nor its user map");
  return all.sort((a, b) => byText(a.name, b.name));
}

export function listPermissions(users: Users): PermissionEntry[] {
  const out: PermissionEntry[] = [];
  const map = internals(users).permissions;
  if (map instanceof Map) {
    for (const [user, byVhost] of map) {
      for (const [vhost, p] of byVhost) out.push({ user, vhost, configure: p.configure, write: p.write, read: p.read });
    }
  } else {
    throw new Error("Cannot list permissions: Users has no permission map");
  }
  return out.sort((a, b) => byText(a.vhost, b.vhost) || byText(a.user, b.user));
}
