// The role table: a viewer reads; an operator also runs backups, restores,
// prune and check; an admin also changes databases, volumes, schedules,
// rules and users.
import { describe, expect, it } from 'vitest';
import { ACTION_ROLES, mayDo, type Action } from '../../../src/server/roles.js';
import { HTTP_STATUS } from '../../../src/server/http-errors.js';

describe('roles', () => {
  it('grants each role its actions and nothing more', () => {
    const allowed = (role: 'viewer' | 'operator' | 'admin') =>
      (Object.keys(ACTION_ROLES) as Action[]).filter((a) => mayDo(role, a)).sort();
    expect(allowed('viewer')).toEqual(['read']);
    expect(allowed('operator')).toEqual(
      ['backup.abort', 'backup.delete', 'backup.download', 'backup.expire', 'backup.run', 'check.run', 'prune.run', 'read', 'restore.run'].sort(),
    );
    expect(allowed('admin')).toEqual((Object.keys(ACTION_ROLES) as Action[]).sort());
    for (const a of ['databases.change', 'volumes.change', 'schedules.change', 'rules.change', 'users.change'] as const) {
      expect(mayDo('operator', a)).toBe(false);
    }
  });

  it('maps every error code to a 4xx/5xx status', () => {
    for (const status of Object.values(HTTP_STATUS)) expect(status).toBeGreaterThanOrEqual(400);
    expect(HTTP_STATUS.UNAUTHORIZED).toBe(401);
    expect(HTTP_STATUS.FORBIDDEN).toBe(403);
    expect(HTTP_STATUS.CONFLICT).toBe(409);
    expect(HTTP_STATUS.RATE_LIMITED).toBe(429);
  });
});
