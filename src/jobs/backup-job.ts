// The backup job: pick the parent for the level, open a write session, let the
// source write its tree, and commit the manifest last. An aborted or failed
// backup leaves no manifest (nothing listed), only reusable packs. Guard
// rails: a time limit (stops the job through the same AbortSignal path as an
// interrupt), `jobs` and a read-rate limit handed to the source.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { BlobPool } from '../content/blob-pool.js';
import { ArcaError } from '../errors.js';
import { redactSecrets } from '../common/redact.js';
import { BlobReader } from '../repository/blob-reader.js';
import { WriteSession } from '../repository/write-session.js';
import { driverFor, type Source } from '../sources/index.js';
import { chooseParent, toBackupInfo } from './backup-info.js';
import { ProgressMeter } from './progress-meter.js';
import { TokenBucket } from '../common/rate-limit.js';
import type { MaxDuration } from '../common/guard-rails.js';
import type { BackupInfo, DatabaseRef, JobContext } from './types.js';
import type { OpenVolume } from './volume-service.js';

export interface BackupOptions extends JobContext {
  volume: OpenVolume;
  database: DatabaseRef;
  level: number;
  expiresAt: Date | null;
  /** Stop (ABORTED, nothing listed) when the backup runs longer, counted from `startedAt`; `label` is how the user wrote it. */
  maxDuration?: MaxDuration;
  /** Parallel connections for sources that can use them (PostgreSQL); the source's default otherwise. */
  jobs?: number;
  /** Bytes per second read from the source, for sources that honour it (files). */
  rateLimit?: number;
  /** The database's source, when the caller opened it already (beginBackup); opened here otherwise. */
  source?: Source;
  /**
   * When the backup began, if before this call (the time of beginBackup): the
   * manifest's startedAt, so it is never later than the source's snapshot.
   */
  startedAt?: Date;
}

/**
 * The user's signal combined with the --max-duration timer, which counts from
 * the backup's start (`startedAt`, when it began before this call); `dispose`
 * clears the timer.
 */
function guardSignal(opts: BackupOptions): { signal: AbortSignal | undefined; timedOut: () => boolean; dispose: () => void } {
  if (!opts.maxDuration) return { signal: opts.signal, timedOut: () => false, dispose: () => undefined };
  const { ms, label } = opts.maxDuration;
  const timer = new AbortController();
  const message = `backup of ${opts.database.name} exceeded --max-duration ${label} and was stopped; nothing was listed`;
  const elapsed = opts.startedAt ? Math.max(0, Date.now() - opts.startedAt.getTime()) : 0;
  const handle = setTimeout(() => timer.abort(new ArcaError('ABORTED', message)), Math.max(0, ms - elapsed));
  const signal = opts.signal ? AbortSignal.any([opts.signal, timer.signal]) : timer.signal;
  return { signal, timedOut: () => timer.signal.aborted, dispose: () => clearTimeout(handle) };
}

/**
 * Opens the database's source and lets it begin the backup while the volume
 * opens (Source.begin); pass it to runBackup as `source`, and release() it
 * if runBackup is not called. Undefined when the URL has no source (runBackup
 * then reports that).
 */
export function beginBackup(url: string, opts: { jobs?: number; rateLimited?: boolean }): Source | undefined {
  let source: Source;
  try {
    source = driverFor(url).open(url);
  } catch {
    return undefined;
  }
  // Reading ahead would take data faster than --rate-limit allows.
  source.begin?.({ ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}), ...(opts.rateLimited ? { readAhead: 0 } : {}) });
  return source;
}

export async function runBackup(opts: BackupOptions): Promise<BackupInfo> {
  if (!Number.isInteger(opts.level) || opts.level < 0 || opts.level > 9) {
    throw new ArcaError('USAGE', `level must be 0–9, not ${opts.level}`);
  }
  const guard = guardSignal(opts);
  try {
    return await backupGuarded(opts, guard.signal);
  } catch (err) {
    if (guard.timedOut() && !opts.signal?.aborted) {
      const reason: unknown = guard.signal?.reason;
      throw reason instanceof ArcaError ? reason : new ArcaError('ABORTED', 'backup exceeded --max-duration', { cause: err });
    }
    throw err;
  } finally {
    guard.dispose();
  }
}

async function backupGuarded(opts: BackupOptions, signal: AbortSignal | undefined): Promise<BackupInfo> {
  const { volume, database } = opts;
  const repo = volume.repo;
  const startedAt = opts.startedAt ?? new Date();
  const source = opts.source ?? driverFor(database.url).open(database.url);
  const pool = new BlobPool(repo.keys, { zstdLevel: repo.config.compression.level });
  const bucket = opts.rateLimit !== undefined ? new TokenBucket(opts.rateLimit) : undefined;
  const session = new WriteSession(repo, {
    purpose: `backup ${database.name}`,
    pool,
    ...(signal ? { signal } : {}),
    // --rate-limit: every source's bytes pass through saveStream, which awaits this.
    ...(bucket ? { throttle: (n: number) => bucket.take(n, signal) } : {}),
  });
  try {
    // The lease first, then the index and the manifests (format §10): a
    // prune running beside us either sees this session or wrote its
    // tombstones before we look.
    await session.start();
    const manifests = await repo.listManifests();
    const parent = chooseParent(manifests, database.name, opts.level);
    const level = parent ? opts.level : 0;
    // The estimate (a query on its own connection) runs beside the backup: progress has a total once it answers.
    const meter = new ProgressMeter('backup', null, opts.onProgress);
    if (opts.onProgress) void source.estimateBytes(signal).then((total) => meter.setTotal(total), () => undefined);
    const result = await source.backup({
      session,
      ...(parent ? { parent: { manifest: parent, reader: new BlobReader(repo, pool) } } : {}),
      ...(signal ? { signal } : {}),
      ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}),
      onBytes: (n) => meter.add(n),
    });
    const manifest = await session.commit({
      version: 1,
      id: randomBytes(16).toString('hex'),
      database: database.name,
      source: { kind: source.kind, url: redactSecrets(database.url) }, // no password in the volume
      level,
      parent: parent?.id ?? null,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      expiresAt: opts.expiresAt ? opts.expiresAt.toISOString() : null,
      root: result.root,
      bytesRead: result.bytesRead,
      files: result.files,
      host: hostname(),
      extra: result.extra,
    });
    meter.done();
    return toBackupInfo(manifest, volume.ref.name);
  } catch (err) {
    await session.abort().catch(() => undefined);
    if (signal?.aborted && !(err instanceof ArcaError && err.code === 'ABORTED')) {
      throw new ArcaError('ABORTED', 'backup aborted', { cause: err });
    }
    throw err;
  } finally {
    await pool.close();
  }
}
