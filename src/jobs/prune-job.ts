// The prune job: per database, expiry and the retention policy decide which
// backups go (with reasons); their manifests are deleted; then garbage
// collection reclaims the space no remaining backup needs, beside running
// writers (format §10). A dry run decides and measures, and writes nothing.

import { BlobPool } from '../content/blob-pool.js';
import { ArcaError } from '../errors.js';
import { effectiveExpiries, listNoteKeys } from '../repository/notes.js';
import { snapshotKey } from '../repository/object-keys.js';
import { collectGarbage, type PendingTombstone } from '../repository/prune/collector.js';
import { SessionLease, listSessions } from '../repository/session-lease.js';
import { applyRetention, type RetentionPolicy } from './retention.js';
import type { JobContext } from './types.js';
import type { OpenVolume } from './volume-service.js';
import { DEFAULT_REPACK_THRESHOLD } from './job-limits.js';

export { DEFAULT_REPACK_THRESHOLD } from './job-limits.js';
export const PRUNE_PURPOSE = 'prune';

export interface PruneOptions extends JobContext {
  volume: OpenVolume;
  /** Only this database's backups may be removed (space is reclaimed for the whole volume). */
  database?: string;
  /** Retention policies by database name (the catalog's); a database without one keeps what is not expired. */
  policies: Readonly<Record<string, RetentionPolicy>>;
  dryRun: boolean;
  /** Repack packs with more than this share of unreachable bytes (0–1). */
  repackThreshold?: number;
  /** The time expiry is judged against. */
  now?: Date;
  /** The clock for lease ages (tests). */
  clock?: () => number;
}

export interface RemovedBackup {
  id: string;
  database: string;
  startedAt: string;
  reasons: string[];
}

export interface PruneReport {
  volume: string;
  dryRun: boolean;
  backupsRemoved: RemovedBackup[];
  backupsKept: number;
  packsDeleted: number;
  packsRepacked: number;
  blobsCopied: number;
  /** Bytes deleted minus bytes written (for a dry run: what a real run would reclaim at most). */
  bytesReclaimed: number;
  bytesDeleted: number;
  bytesWritten: number;
  indexObjectsWritten: number;
  indexObjectsDeleted: number;
  tombstonesPending: PendingTombstone[];
  unindexedPacksKept: number;
  notesDeleted: number;
  leasesDeleted: number;
  tempFilesDeleted: number;
  problems: string[];
  durationMs: number;
}

interface TempCleaner {
  cleanupTemp(olderThanMs?: number, now?: number): Promise<number>;
}

/** The backend under the wrappers (retry, faults) that keeps temp files, if any (local disks). */
function tempCleaner(backend: object): TempCleaner | undefined {
  for (let b: object | undefined = backend; b; b = (b as { inner?: object }).inner) {
    if (typeof (b as Partial<TempCleaner>).cleanupTemp === 'function') return b as TempCleaner;
  }
  return undefined;
}

export async function runPrune(opts: PruneOptions): Promise<PruneReport> {
  const started = performance.now();
  const repo = opts.volume.repo;
  const clock = opts.clock ?? Date.now;
  const now = opts.now ?? new Date(clock());
  const threshold = opts.repackThreshold ?? DEFAULT_REPACK_THRESHOLD;
  if (!(threshold >= 0 && threshold <= 1)) throw new ArcaError('USAGE', 'the repack threshold must be between 0 and 1 (a share of unused bytes)');
  const report: PruneReport = {
    volume: opts.volume.ref.name, dryRun: opts.dryRun, backupsRemoved: [], backupsKept: 0, packsDeleted: 0, packsRepacked: 0,
    blobsCopied: 0, bytesReclaimed: 0, bytesDeleted: 0, bytesWritten: 0, indexObjectsWritten: 0, indexObjectsDeleted: 0,
    tombstonesPending: [], unindexedPacksKept: 0, notesDeleted: 0, leasesDeleted: 0, tempFilesDeleted: 0, problems: [], durationMs: 0,
  };
  const lease = opts.dryRun ? null : new SessionLease(repo.backend, repo.keys.encKey, PRUNE_PURPOSE);
  const pool = new BlobPool(repo.keys, { zstdLevel: repo.config.compression.level, threads: 1 });
  try {
    if (lease) {
      await lease.start();
      await refuseConcurrentPrune(opts.volume, lease.idHex, clock());
      await housekeeping(opts.volume, report, clock());
    }
    const { removed, expiries } = await chooseBackups(opts, now, report);
    if (lease) await deleteManifests(opts.volume, removed, expiries, report);
    else report.backupsRemoved = removed;
    const gc = await collectGarbage(repo, {
      pool,
      session: lease ? { id: lease.id, idHex: lease.idHex } : null,
      repackThreshold: threshold,
      // A dry run counts its removals as gone; a real run deleted them (and kept any whose expiry changed).
      ignoreBackups: new Set(lease ? [] : removed.map((b) => b.id)),
      now: clock,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    Object.assign(report, {
      packsDeleted: gc.packsDeleted, packsRepacked: gc.packsRepacked, blobsCopied: gc.blobsCopied,
      bytesDeleted: gc.bytesDeleted, bytesWritten: gc.bytesWritten, indexObjectsWritten: gc.indexObjectsWritten,
      indexObjectsDeleted: gc.indexObjectsDeleted, tombstonesPending: gc.tombstonesPending, unindexedPacksKept: gc.unindexedPacksKept,
    });
    report.problems.push(...gc.problems);
    if (lease) report.notesDeleted = await deleteStaleNotes(opts.volume);
    report.bytesReclaimed = report.bytesDeleted - report.bytesWritten;
  } finally {
    await pool.close();
    await lease?.end().catch(() => undefined);
  }
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

/** Two prunes at once would judge each other's work: the later one stops (and both do on a tie; run again). */
async function refuseConcurrentPrune(volume: OpenVolume, selfId: string, now: number): Promise<void> {
  const { live } = await listSessions(volume.repo.backend, volume.repo.keys.encKey, now);
  const other = live.find((s) => s.purpose === PRUNE_PURPOSE && s.id !== selfId);
  if (other) {
    throw new ArcaError('CONFLICT', `another prune is running on volume ${volume.ref.name} (on ${other.host}, pid ${other.pid}, since ${other.startedAt}); try again when it ended (a prune that was killed counts as running until its lease is 15 minutes old)`);
  }
}

/** Stale leases of dead writers and temp files of interrupted puts. */
async function housekeeping(volume: OpenVolume, report: PruneReport, now: number): Promise<void> {
  const { backend, keys } = volume.repo;
  const { stale } = await listSessions(backend, keys.encKey, now);
  for (const s of stale) {
    await backend.delete(`sessions/${s.id}`);
    report.leasesDeleted++;
  }
  const cleaner = tempCleaner(backend);
  if (cleaner) report.tempFilesDeleted = await cleaner.cleanupTemp(60 * 60_000, now);
}

/** Expiry and retention, database by database (only `opts.database` when given). */
async function chooseBackups(
  opts: PruneOptions,
  now: Date,
  report: PruneReport,
): Promise<{ removed: RemovedBackup[]; expiries: Map<string, string | null> }> {
  const manifests = await opts.volume.repo.listManifests();
  const expiries = new Map(manifests.map((m) => [m.id, m.expiresAt]));
  const byDb = new Map<string, typeof manifests>();
  for (const m of manifests) {
    if (opts.database !== undefined && m.database !== opts.database) continue;
    let list = byDb.get(m.database);
    if (!list) byDb.set(m.database, (list = []));
    list.push(m);
  }
  const removed: RemovedBackup[] = [];
  for (const [database, list] of [...byDb].sort(([a], [b]) => a.localeCompare(b))) {
    for (const d of applyRetention(list, opts.policies[database] ?? {}, now)) {
      if (d.action === 'keep') report.backupsKept++;
      else removed.push({ id: d.id, database, startedAt: d.startedAt, reasons: d.reasons });
    }
  }
  removed.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
  return { removed, expiries };
}

/** Deletes the chosen manifests; one whose expiry a note changed meanwhile stays (judged again next time). */
async function deleteManifests(volume: OpenVolume, chosen: RemovedBackup[], seen: ReadonlyMap<string, string | null>, report: PruneReport): Promise<void> {
  const repo = volume.repo;
  // The newest notes now: a backup without one still has the manifest's own expiry, as seen.
  const noted = await effectiveExpiries(repo);
  for (const b of chosen) {
    if (noted.has(b.id) && noted.get(b.id) !== seen.get(b.id)) {
      report.backupsKept++;
      report.problems.push(`backup ${b.id}: its expiry changed while prune ran; kept until the next prune`);
      continue;
    }
    await repo.backend.delete(snapshotKey(b.id));
    report.backupsRemoved.push(b);
  }
}

/**
 * Notes of backups that no longer exist, and notes older than a backup's
 * newest. Notes are listed before manifests: a note's backup existed when
 * the note was written, so it is listed unless it was deleted.
 */
async function deleteStaleNotes(volume: OpenVolume): Promise<number> {
  const repo = volume.repo;
  const notes = await listNoteKeys(repo);
  const present = new Set((await repo.listManifestKeys()).map((k) => k.slice(k.lastIndexOf('/') + 1)));
  let deleted = 0;
  for (const [backupId, keys] of notes) {
    const doomed = present.has(backupId) ? keys.slice(0, -1) : keys;
    for (const key of doomed) {
      await repo.backend.delete(key);
      deleted++;
    }
  }
  return deleted;
}
