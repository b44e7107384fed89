// Runs one job under the catalog's job registry: records it as running (or
// refuses, when an exclusion rule says another job holds the database or
// volume), publishes its progress and heartbeat about once a second for
// `arca progress` in other processes, turns an `arca abort` from another
// process into the job's AbortSignal, and records the outcome and figures.

import { ArcaError, errorMessage, isArcaError } from '../errors.js';
import { redactSecrets } from '../common/redact.js';
import { RateMeter } from '../common/rate-meter.js';
import {
  finishJob,
  heartbeatJob,
  startJob,
  type JobFigures,
  type JobProgress,
  type JobRecord,
  type NewJob,
} from '../catalog/jobs.js';
import type { Catalog } from '../catalog/catalog.js';
import type { JobContext, ProgressEvent } from './types.js';

export interface TrackOptions {
  /** The caller's own stop signal (SIGINT, a server shutdown). */
  signal?: AbortSignal;
  /** Also forwarded every progress event (the CLI's progress line). */
  onProgress?: (event: ProgressEvent) => void;
  /** How often progress, heartbeat and abort requests are exchanged with the catalog. Default 1 s. */
  heartbeatMs?: number;
  /** Called once the job is recorded (e.g. the server answers 202 with the job). */
  onStarted?: (job: JobRecord) => void;
  /**
   * Called once with the job as recorded when it ended (succeeded, failed or
   * aborted), e.g. to send notifications. Awaited; whatever it throws is ignored.
   */
  onFinished?: (job: JobRecord) => Promise<void> | void;
}

async function finished(opts: TrackOptions, job: JobRecord | null): Promise<void> {
  if (!job || !opts.onFinished) return;
  try {
    await opts.onFinished(job);
  } catch {
    // A failed notification never changes the job's outcome.
  }
}

export const ABORTED_BY_REQUEST = 'aborted by request (arca abort)';

/**
 * Runs `work` as a tracked job. `figuresOf` turns its result into the figures
 * recorded in the history. The job's outcome is recorded even when `work`
 * throws; the error is rethrown unchanged.
 */
export async function trackJob<T>(
  catalog: Catalog,
  spec: NewJob,
  work: (job: Required<JobContext> & { record: JobRecord }) => Promise<T>,
  figuresOf: (result: T) => JobFigures,
  opts: TrackOptions = {},
): Promise<T> {
  const record = startJob(catalog, spec);
  opts.onStarted?.(record);
  const controller = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, controller.signal]) : controller.signal;
  const meter = new RateMeter();
  let latest: JobProgress | null = null;
  let dirty = false;

  const beat = (): void => {
    try {
      const { abortRequested } = heartbeatJob(catalog, record.id, dirty ? latest : undefined);
      dirty = false;
      if (abortRequested && !controller.signal.aborted) controller.abort(new ArcaError('ABORTED', ABORTED_BY_REQUEST));
    } catch {
      // A busy catalog delays one heartbeat; the next tick tries again.
    }
  };
  const timer = setInterval(beat, opts.heartbeatMs ?? 1000);
  timer.unref();

  const onProgress = (event: ProgressEvent): void => {
    if (latest?.phase !== event.phase) meter.reset();
    meter.add(performance.now(), event.bytesDone);
    latest = { ...event, rate: meter.rate() };
    dirty = true;
    opts.onProgress?.(event);
  };

  try {
    const result = await work({ signal, onProgress, record });
    clearInterval(timer);
    await finished(opts, finishJob(catalog, record.id, { status: 'succeeded', figures: figuresOf(result) }));
    return result;
  } catch (err) {
    clearInterval(timer);
    const aborted = isArcaError(err, 'ABORTED') || signal.aborted;
    const reason: unknown = controller.signal.aborted ? controller.signal.reason : undefined;
    const message = redactSecrets(errorMessage(err));
    let ended: JobRecord | null = null;
    try {
      ended = finishJob(catalog, record.id, { status: aborted ? 'aborted' : 'failed', error: message });
    } catch {
      // The job's own error matters more than a failure to record it.
    }
    await finished(opts, ended);
    // An abort requested from another process reads as such, not as whatever the source threw.
    if (reason instanceof ArcaError && !isArcaError(err, 'ABORTED')) throw reason;
    throw err;
  }
}
