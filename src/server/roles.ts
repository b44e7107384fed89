// Who may do what: the one table of the server's access rules. Every route
// names an action; a user may take it when their role is at least the
// action's minimum role (viewer < operator < admin). A viewer reads; an
// operator also runs backups, restores, prune and check; an admin also
// changes databases, volumes, schedules, rules and users.
import { USER_ROLES, type UserRole } from '../catalog/users.js';

export const ACTION_ROLES = {
  /** Read anything: databases, volumes, backups, progress, jobs, the API description. */
  read: 'viewer',
  'backup.run': 'operator',
  'backup.abort': 'operator',
  'backup.delete': 'operator',
  'backup.expire': 'operator',
  'backup.download': 'operator',
  'restore.run': 'operator',
  'prune.run': 'operator',
  'check.run': 'operator',
  /** Purge deletes data from a live database: only admins, like the rules that drive it. */
  'purge.run': 'admin',
  'databases.change': 'admin',
  'volumes.change': 'admin',
  'schedules.change': 'admin',
  'rules.change': 'admin',
  'users.change': 'admin',
} as const satisfies Record<string, UserRole>;

export type Action = keyof typeof ACTION_ROLES;

const RANK: Record<UserRole, number> = Object.fromEntries(USER_ROLES.map((r, i) => [r, i])) as Record<UserRole, number>;

/** True when a user with `role` may take `action`. */
export function mayDo(role: UserRole, action: Action): boolean {
  return RANK[role] >= RANK[ACTION_ROLES[action]];
}

/** The least role that may take `action` (for messages and the API description). */
export function minimumRole(action: Action): UserRole {
  return ACTION_ROLES[action];
}
