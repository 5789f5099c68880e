// Users and permissions as the management API and definitions list them: sorted, as RabbitMQ's
// listings are.
import type { Permission, User, Users } from "../auth/users.ts";

export function listUsers(users: Users): User[] {
  return users.list().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export interface PermissionEntry extends Permission {
  user: string;
  vhost: string;
}

export function listPermissions(users: Users): PermissionEntry[] {
  return users.listPermissions().sort((a, b) => (a.vhost + "\0" + a.user < b.vhost + "\0" + b.user ? -1 : 1));
}
