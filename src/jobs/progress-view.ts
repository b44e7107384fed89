// A running job's progress as users see it (`arca progress --json`, the
// server's `…/progress` endpoints): phase, bytes, percent, ETA and rate,
// derived from what the job last published in the catalog.
import type { JobKind, JobRecord } from '../catalog/jobs.js';

export interface ProgressView {
  job: number;
  kind: JobKind;
  database: string | null;
  volume: string | null;
  startedAt: string;
  phase: string | null;
  bytesDone: number;
  bytesTotal: number | null;
  /** 0–100, null while the total is unknown. */
  percent: number | null;
  /** Seconds left at the recent rate, null when it cannot be told. */
  etaSeconds: number | null;
  bytesPerSecond: number | null;
  abortRequested: boolean;
}

export function progressView(job: JobRecord): ProgressView {
  const p = job.progress;
  const total = p?.bytesTotal ?? null;
  const done = p?.bytesDone ?? 0;
  const percent = total !== null && total > 0 ? Math.min(100, (done / total) * 100) : total === 0 ? 100 : null;
  const rate = p?.rate ?? null;
  const eta = total !== null && rate !== null && rate > 0 ? Math.max(0, total - done) / rate : null;
  return {
    job: job.id,
    kind: job.kind,
    database: job.database,
    volume: job.volume,
    startedAt: job.startedAt,
    phase: p?.phase ?? null,
    bytesDone: done,
    bytesTotal: total,
    percent: percent === null ? null : Math.round(percent * 10) / 10,
    etaSeconds: eta === null ? null : Math.round(eta),
    bytesPerSecond: rate === null ? null : Math.round(rate),
    abortRequested: job.abortRequested,
  };
}
