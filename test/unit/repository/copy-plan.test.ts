// planCopy: which backups a copy moves, in which order, and with which pair.

import { describe, expect, it } from 'vitest';
import type { Manifest } from '../../../src/repository/manifest.js';
import { planCopy } from '../../../src/repository/copy/copy-plan.js';

const m = (id: string, database: string, startedAt: string, extra: Partial<Manifest> = {}): Manifest => ({
  version: 1,
  id: id.padEnd(32, '0'),
  database,
  source: { kind: 'files', url: 'file:///x' },
  level: 0,
  parent: null,
  startedAt,
  finishedAt: startedAt,
  expiresAt: null,
  root: 'a'.repeat(64),
  bytesRead: 1,
  bytesAdded: 1,
  files: 1,
  host: 'h',
  session: 's',
  extra: {},
  ...extra,
});
const id = (s: string) => s.padEnd(32, '0');
const now = new Date('2026-11-22T12:00:00Z');

describe('planCopy', () => {
  const a1 = m('a1', 'docs', '2026-11-20T00:00:00Z');
  const a2 = m('a2', 'docs', '2026-11-21T00:00:00Z', { level: 1, parent: id('a1') });
  const a3 = m('a3', 'docs', '2026-11-22T00:00:00Z');
  const b1 = m('b1', 'other', '2026-11-21T06:00:00Z');
  const old = m('e1', 'docs', '2026-11-19T00:00:00Z', { expiresAt: '2026-11-22T11:00:00Z' });

  it('copies what the target lacks, oldest first, and says why it skips the rest', () => {
    const plan = planCopy([a3, b1, a2, a1, old], new Set([id('a1')]), { now });
    expect(plan.copy.map((p) => p.manifest.id)).toEqual([id('a2'), id('b1'), id('a3')]);
    expect(plan.skipped.map((s) => [s.id, s.reason])).toEqual([
      [id('e1'), 'expired'],
      [id('a1'), 'already on the target'],
    ]);
  });

  it('pairs with the parent when on both volumes, else the newest earlier backup on both (copied earlier counts)', () => {
    const plan = planCopy([a1, a2, a3, b1], new Set([id('a1')]), { now });
    const pairs = Object.fromEntries(plan.copy.map((p) => [p.manifest.id, p.pairWith]));
    expect(pairs).toEqual({ [id('a2')]: id('a1'), [id('a3')]: id('a2'), [id('b1')]: null });
  });

  it('filters by database and by start time', () => {
    expect(planCopy([a1, a2, a3, b1], new Set(), { now, database: 'other' }).copy.map((p) => p.manifest.id)).toEqual([id('b1')]);
    const since = planCopy([a1, a2, a3, b1], new Set(), { now, since: new Date('2026-11-21T00:00:00Z') });
    expect(since.copy.map((p) => p.manifest.id)).toEqual([id('a2'), id('b1'), id('a3')]);
    expect(since.copy[0]!.pairWith).toBeNull(); // its parent is not copied and not on the target
  });
});
