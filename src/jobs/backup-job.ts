// The backup job: pick the parent for the level, open a write session, let the
// source write its tree, and commit the manifest last. An aborted or failed
// backup leaves no manifest (nothing listed), only reusable packs.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { BlobPool } from '../content/blob-pool.js';
import { ArcaError } from '../errors.js';
import { redactSecrets } from '../common/redact.js';
import { BlobReader } from '../repository/blob-reader.js';
import { WriteSession } from '../repository/write-session.js';
import { driverFor } from '../sources/index.js';
import { chooseParent, toBackupInfo } from './backup-info.js';
import { ProgressMeter } from './progress-meter.js';
import type { BackupInfo, DatabaseRef, JobContext } from './types.js';
import type { OpenVolume } from './volume-service.js';

export interface BackupOptions extends JobContext {
  volume: OpenVolume;
  database: DatabaseRef;
  level: number;
  expiresAt: Date | null;
}

export async function runBackup(opts: BackupOptions): Promise<BackupInfo> {
  const { volume, database } = opts;
  if (!Number.isInteger(opts.level) || opts.level < 0 || opts.level > 9) {
    throw new ArcaError('USAGE', `level must be 0–9, not ${opts.level}`);
  }
  const repo = volume.repo;
  const startedAt = new Date();
  const source = driverFor(database.url).open(database.url);
  const manifests = await repo.listManifests();
  const parent = chooseParent(manifests, database.name, opts.level);
  const level = parent ? opts.level : 0;
  await repo.loadIndex();

  const pool = new BlobPool(repo.keys, { zstdLevel: repo.config.compression.level });
  const session = new WriteSession(repo, { purpose: `backup ${database.name}`, pool, ...(opts.signal ? { signal: opts.signal } : {}) });
  try {
    const total = opts.onProgress ? await source.estimateBytes(opts.signal) : null;
    const meter = new ProgressMeter('backup', total, opts.onProgress);
    await session.start();
    const result = await source.backup({
      session,
      ...(parent ? { parent: { manifest: parent, reader: new BlobReader(repo, pool) } } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
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
    if (opts.signal?.aborted && !(err instanceof ArcaError && err.code === 'ABORTED')) {
      throw new ArcaError('ABORTED', 'backup aborted', { cause: err });
    }
    throw err;
  } finally {
    await pool.close();
  }
}
