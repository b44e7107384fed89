// Which backups a copy moves (format §13): those of the source that the target
// lacks (by backup id), optionally of one database and started since a time,
// not expired; oldest first, so a parent is copied before its children. Each
// gets a "pair": a backup of the same database present on both volumes by the
// time it is copied (its parent when possible), whose two trees tell the copy
// which contents the target already has. A pure function of the two listings.

import type { Manifest } from '../manifest.js';

export interface CopyFilter {
  database?: string;
  /** Only backups started at or after this time. */
  since?: Date;
  now: Date;
}

export interface PlannedCopy {
  manifest: Manifest;
  /** A backup id on both volumes when this one is copied, or null. */
  pairWith: string | null;
}

export interface SkippedCopy {
  id: string;
  database: string;
  startedAt: string;
  reason: 'already on the target' | 'expired';
}

export interface CopyPlan {
  copy: PlannedCopy[];
  skipped: SkippedCopy[];
}

const byStart = (a: Manifest, b: Manifest): number => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id);

export function planCopy(source: readonly Manifest[], targetIds: ReadonlySet<string>, filter: CopyFilter): CopyPlan {
  const chosen = source
    .filter((m) => filter.database === undefined || m.database === filter.database)
    .filter((m) => filter.since === undefined || Date.parse(m.startedAt) >= filter.since.getTime())
    .sort(byStart);
  const onBoth = new Set([...source].filter((m) => targetIds.has(m.id)).map((m) => m.id));
  const sourceById = new Map(source.map((m) => [m.id, m]));
  const plan: CopyPlan = { copy: [], skipped: [] };
  for (const m of chosen) {
    const skip = (reason: SkippedCopy['reason']) => plan.skipped.push({ id: m.id, database: m.database, startedAt: m.startedAt, reason });
    if (targetIds.has(m.id)) skip('already on the target');
    else if (m.expiresAt !== null && Date.parse(m.expiresAt) <= filter.now.getTime()) skip('expired');
    else {
      plan.copy.push({ manifest: m, pairWith: pairFor(m, onBoth, sourceById, source) });
      onBoth.add(m.id);
    }
  }
  return plan;
}

/** The parent when it is on both volumes, else the newest earlier backup of the database that is. */
function pairFor(m: Manifest, onBoth: ReadonlySet<string>, byId: ReadonlyMap<string, Manifest>, all: readonly Manifest[]): string | null {
  if (m.parent !== null && onBoth.has(m.parent) && byId.has(m.parent)) return m.parent;
  let best: Manifest | undefined;
  for (const o of all) {
    if (o.database !== m.database || o.id === m.id || !onBoth.has(o.id) || byStart(o, m) >= 0) continue;
    if (!best || byStart(o, best) > 0) best = o;
  }
  return best?.id ?? null;
}
