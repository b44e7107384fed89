// Starting a job from a request: the job runs in the background under the
// catalog's job registry (trackJob: progress, heartbeat, abort from another
// process, the outcome recorded) and under the server's RunningJobs (a
// shutdown stops it cleanly). The request is answered as soon as the job is
// recorded as running (202 with the job record), or with the error that kept
// it from starting (409 when an exclusion rule says another job holds the
// database or volume). Finished jobs go to the notification targets.
import type { FastifyBaseLogger } from 'fastify';
import type { JobFigures, JobRecord, NewJob } from '../catalog/jobs.js';
import { trackJob } from '../jobs/job-tracker.js';
import { notifyJob } from '../jobs/notify/notifier.js';
import type { JobContext } from '../jobs/types.js';
import { errorMessage } from '../errors.js';
import { redactSecrets } from '../common/redact.js';
import type { ServerContext } from './server-context.js';

export interface StartedJob<T> {
  record: JobRecord;
  /** The job's result (rejections are already recorded and logged). */
  done: Promise<T>;
}

export type JobWork<T> = (job: Required<JobContext> & { record: JobRecord }) => Promise<T>;

/**
 * Runs `work` as a tracked background job; resolves once it is recorded.
 * `cleanup` runs after the job ended, whatever the outcome (temp files).
 */
export function startJob<T>(
  ctx: ServerContext,
  log: FastifyBaseLogger,
  spec: NewJob,
  work: JobWork<T>,
  figuresOf: (result: T) => JobFigures,
  cleanup?: () => Promise<void>,
): Promise<StartedJob<T>> {
  const label = `${spec.kind}${spec.database ? ` of ${spec.database}` : ''}${spec.volume ? ` on ${spec.volume}` : ''}`;
  return new Promise<StartedJob<T>>((resolve, reject) => {
    let started = false;
    const onFinished = async (ended: JobRecord): Promise<void> => {
      ctx.onJobFinished?.(ended);
      await notifyJob(ctx.catalog, ended, (target, err) =>
        log.warn({ notification: target.id, kind: target.kind, error: redactSecrets(errorMessage(err)) }, 'notification failed'),
      );
    };
    let done: Promise<T>;
    try {
      done = ctx.jobs.start(label, (signal) =>
        trackJob(ctx.catalog, spec, work, figuresOf, {
          signal,
          onFinished,
          onStarted: (record) => {
            started = true;
            resolve({ record, done });
          },
        }),
      );
    } catch (err) {
      void cleanup?.();
      reject(err);
      return;
    }
    done.then(
      () => undefined,
      (err: unknown) => {
        if (!started) reject(err);
        else log.info({ job: label, error: redactSecrets(errorMessage(err)) }, 'job ended without success');
      },
    ).finally(() => void cleanup?.().catch(() => undefined));
  });
}
