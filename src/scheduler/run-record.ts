// The job history of schedule runs as the launcher sees them: a launched job
// records itself (the child sees ARCA_SCHEDULE); when it ended without doing
// so (it crashed before starting, or refused to start) the launcher's side
// records it from the exit status, so every run of a schedule is in the
// history. Also: is a schedule's previous job still running?
import { hostname } from 'node:os';
import type { Catalog } from '../catalog/catalog.js';
import { finishJob, reapDeadJobs, runningJobs, startJob, type JobRecord, type NewJob } from '../catalog/jobs.js';
import { jobOfScheduledProcess, type ScheduleRecord } from '../catalog/schedules.js';
import { describeOutcome, succeeded, type LaunchOutcome } from './launcher.js';

/** How far back a child's job may have started, measured by its clock (which may differ a little). */
const CLOCK_SLACK_MS = 60_000;

/** The job-history fields of a run of `schedule`. */
export function jobSpecOf(schedule: ScheduleRecord): Omit<NewJob, 'exclusive'> {
  return { kind: schedule.kind, database: schedule.database, volume: schedule.volume, schedule: schedule.name };
}

/**
 * After a launched job ended: the id of the job it recorded, or of the one
 * recorded for it here (succeeded or failed by its exit status) when it
 * recorded none.
 */
export function recordLaunchOutcome(
  catalog: Catalog,
  schedule: ScheduleRecord,
  pid: number | null,
  launchedAt: Date,
  outcome: LaunchOutcome,
): number {
  reapDeadJobs(catalog);
  const since = new Date(launchedAt.getTime() - CLOCK_SLACK_MS).toISOString();
  const own = pid === null ? null : jobOfScheduledProcess(catalog, { schedule: schedule.name, host: hostname(), pid, since });
  if (own !== null) return own;
  const status = outcomeStatus(outcome);
  const started = startJob(catalog, jobSpecOf(schedule));
  const why = status === 'aborted' ? 'stopped before it recorded its job' : 'the job ended without recording itself';
  const error = status === 'succeeded' ? null : `${why}: ${describeOutcome(outcome)}`;
  return finishJob(catalog, started.id, { status, error }).id;
}

/** How a launched job ended, as a job status: succeeded, aborted (asked to stop) or failed. */
export function outcomeStatus(outcome: LaunchOutcome): 'succeeded' | 'failed' | 'aborted' {
  if (succeeded(outcome)) return 'succeeded';
  return outcome.stopped === true ? 'aborted' : 'failed';
}

/** The running job a schedule started (in any process), or undefined. */
export function runningJobOfSchedule(name: string, running: readonly JobRecord[]): JobRecord | undefined {
  return running.find((j) => j.schedule === name);
}

/** Running jobs from the catalog (dead processes' rows closed first). */
export function runningScheduledJobs(catalog: Catalog): JobRecord[] {
  return runningJobs(catalog).filter((j) => j.schedule !== null);
}
