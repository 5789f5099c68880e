// Read access to broker.users for the management API. Users offers no listing yet (the users
// and permissions management work on src/auth adds one); until then the two maps are read as
// they are, and this file is the one place that knows their names.
import type { Permission, User, Users } from "../auth/users.ts";

interface UsersInternals {
  users: Map<string, User>;
  permissions: Map<string, Map<string, Permission>>;
}

function internals(users: Users): UsersInternals {
  return users as unknown as UsersInternals;
}

export function listUsers(users: Users): User[] {
  return [...internals(users).users.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export interface PermissionEntry extends Permission {
  user: string;
  vhost: string;
}

export function listPermissions(users: Users): PermissionEntry[] {
  const out: PermissionEntry[] = [];
  for (const [user, byVhost] of internals(users).permissions) {
    for (const [vhost, p] of byVhost) out.push({ user, vhost, configure: p.configure, write: p.write, read: p.read });
  }
  return out.sort((a, b) => (a.vhost + "\0" + a.user < b.vhost + "\0" + b.user ? -1 : 1));
}
