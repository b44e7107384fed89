// The copy job (`arca copy`): copies backups from one volume to another —
// all, one database's, or those started since a time — skipping those the
// target already has. Each copy is rebuilt through the target's own keys and
// chunker (src/repository/copy/), so only data the target lacks is stored,
// and is listed only once complete. Progress counts content bytes; an abort
// stops within a second or so and lists nothing half-copied.

import { BlobPool } from '../content/blob-pool.js';
import { ArcaError } from '../errors.js';
import { BlobReader } from '../repository/blob-reader.js';
import { ContentMemo, copyBackup, planCopy, type SkippedCopy } from '../repository/copy/index.js';
import type { JobContext } from './types.js';
import type { OpenVolume } from './volume-service.js';

export interface CopyOptions extends JobContext {
  from: OpenVolume;
  to: OpenVolume;
  database?: string;
  /** Only backups started at or after this time (`--since AGE` is now minus AGE). */
  since?: Date;
  dryRun?: boolean;
  now?: Date;
}

export interface CopiedBackup {
  id: string;
  database: string;
  level: number;
  startedAt: string;
  /** Content bytes read from the source and saved on the target. */
  bytesCopied: number;
  /** Content bytes the target already had (known from an earlier copy, not read). */
  bytesKnown: number;
  /** Bytes this copy newly wrote to the target (after dedup, compression, encryption). */
  bytesAdded: number;
}

export interface CopyReport {
  from: string;
  to: string;
  dryRun: boolean;
  /** Copied (or, with dryRun, to be copied), oldest first. */
  copied: CopiedBackup[];
  skipped: SkippedCopy[];
  bytesCopied: number;
  bytesAdded: number;
  durationMs: number;
}

export async function runCopy(opts: CopyOptions): Promise<CopyReport> {
  const started = performance.now();
  const { from, to } = opts;
  if (from.volumeId === to.volumeId) {
    throw new ArcaError('USAGE', `volumes ${from.ref.name} and ${to.ref.name} are the same volume (id ${from.volumeId}); copy to another volume`);
  }
  const now = opts.now ?? new Date();
  const sourceManifests = await from.repo.listManifests();
  const targetIds = new Set((await to.repo.listManifestKeys()).map((k) => k.slice(k.lastIndexOf('/') + 1)));
  const plan = planCopy(sourceManifests, targetIds, {
    now,
    ...(opts.database !== undefined ? { database: opts.database } : {}),
    ...(opts.since !== undefined ? { since: opts.since } : {}),
  });
  const report: CopyReport = { from: from.ref.name, to: to.ref.name, dryRun: opts.dryRun === true, copied: [], skipped: [...plan.skipped], bytesCopied: 0, bytesAdded: 0, durationMs: 0 };
  if (opts.dryRun) {
    report.copied = plan.copy.map(({ manifest: m }) => ({ id: m.id, database: m.database, level: m.level, startedAt: m.startedAt, bytesCopied: 0, bytesKnown: 0, bytesAdded: 0 }));
    report.durationMs = performance.now() - started;
    return report;
  }
  if (plan.copy.length === 0) {
    report.durationMs = performance.now() - started;
    return report;
  }

  await from.repo.loadIndex();
  // Reading the source only opens blobs; the target's pool seals (it has the CPU work).
  const sourcePool = new BlobPool(from.repo.keys, { zstdLevel: from.repo.config.compression.level, threads: 1 });
  const targetPool = new BlobPool(to.repo.keys, { zstdLevel: to.repo.config.compression.level });
  const progress = new CopyProgress(plan.copy.reduce((n, p) => n + p.manifest.bytesRead, 0), plan.copy.length, opts);
  try {
    const source = new BlobReader(from.repo, sourcePool);
    const memo = new ContentMemo();
    for (const { manifest, pairWith } of plan.copy) {
      if (opts.signal?.aborted) throw new ArcaError('ABORTED', 'copy aborted');
      const done = await copyBackup({
        manifest,
        source,
        target: to.repo,
        targetPool,
        memo,
        pairWith,
        ...(opts.signal ? { signal: opts.signal } : {}),
        onBytes: (n) => progress.add(n),
      });
      progress.backupDone();
      if (!done.manifest) {
        report.skipped.push({ id: manifest.id, database: manifest.database, startedAt: manifest.startedAt, reason: 'already on the target' });
        continue;
      }
      report.copied.push({
        id: manifest.id,
        database: manifest.database,
        level: manifest.level,
        startedAt: manifest.startedAt,
        bytesCopied: done.bytesStreamed,
        bytesKnown: done.bytesKnown,
        bytesAdded: done.manifest.bytesAdded,
      });
      report.bytesCopied += done.bytesStreamed;
      report.bytesAdded += done.manifest.bytesAdded;
    }
    progress.emit();
  } finally {
    await Promise.allSettled([sourcePool.close(), targetPool.close()]);
  }
  report.durationMs = performance.now() - started;
  return report;
}

/** Progress in content bytes, over the sum of the backups' bytes read (an estimate: never shown past 100%). */
class CopyProgress {
  private bytes = 0;
  private backups = 0;
  private last = 0;

  constructor(
    private readonly estimate: number,
    private readonly count: number,
    private readonly opts: JobContext,
  ) {}

  add(n: number): void {
    this.bytes += n;
    if (Date.now() - this.last >= 200) this.emit();
  }

  backupDone(): void {
    this.backups++;
    this.emit();
  }

  emit(): void {
    this.last = Date.now();
    const total = Math.max(this.estimate, this.bytes);
    this.opts.onProgress?.({ phase: 'copy', bytesDone: this.bytes, bytesTotal: total, itemsDone: this.backups, itemsTotal: this.count });
  }
}
