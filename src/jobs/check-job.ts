// The check job: structure, and optionally data, of one volume.

import { BlobPool } from '../content/blob-pool.js';
import { checkRepository } from '../repository/checker.js';
import type { CheckReport, JobContext } from './types.js';
import type { OpenVolume } from './volume-service.js';

export interface CheckOptions extends JobContext {
  volume: OpenVolume;
  /** 0 = structure only; 1–100 = also read that share of the packs. */
  readDataPercent: number;
}

export async function runCheck(opts: CheckOptions): Promise<CheckReport> {
  const repo = opts.volume.repo;
  const pool = new BlobPool(repo.keys, { zstdLevel: repo.config.compression.level });
  try {
    return await checkRepository(repo, {
      pool,
      readDataPercent: opts.readDataPercent,
      ...(opts.signal ? { signal: opts.signal } : {}),
      onProgress: (done, total) => opts.onProgress?.({ phase: 'check', bytesDone: done, bytesTotal: total, itemsDone: done, itemsTotal: total }),
    });
  } finally {
    await pool.close();
  }
}
