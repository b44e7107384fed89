// The restore job: read the manifest, load the index, and let the source's
// driver write the tree into the target.

import { BlobPool } from '../content/blob-pool.js';
import { BlobReader } from '../repository/blob-reader.js';
import { driverFor } from '../sources/index.js';
import { toBackupInfo } from './backup-info.js';
import { ProgressMeter } from './progress-meter.js';
import type { JobContext, RestoreResult } from './types.js';
import type { OpenVolume } from './volume-service.js';

export interface RestoreOptions extends JobContext {
  volume: OpenVolume;
  backupId: string;
  to: string;
  force: boolean;
}

export async function runRestore(opts: RestoreOptions): Promise<RestoreResult> {
  const repo = opts.volume.repo;
  const manifest = await repo.readManifest(opts.backupId);
  await repo.loadIndex();
  const pool = new BlobPool(repo.keys, { zstdLevel: repo.config.compression.level });
  try {
    const meter = new ProgressMeter('restore', manifest.bytesRead, opts.onProgress);
    const driver = driverFor(manifest.source.url);
    const result = await driver.restore({
      reader: new BlobReader(repo, pool),
      manifest,
      target: opts.to,
      force: opts.force,
      ...(opts.signal ? { signal: opts.signal } : {}),
      onBytes: (n) => meter.add(n),
    });
    meter.done();
    return { backup: toBackupInfo(manifest, opts.volume.ref.name), target: result.target, files: result.files, bytesWritten: result.bytesWritten };
  } finally {
    await pool.close();
  }
}
