// The contract between the scheduler and whatever runs a schedule's job: the
// real one starts a child `arca` process (child-launcher.ts), tests inject a
// fake. Also the one place that turns a schedule into `arca` arguments: only
// names and validated options (level, expiry, guard rails), never a secret
// (passwords reach the child through its environment or a file).
import type { ScheduleRecord } from '../catalog/schedules.js';

export interface LaunchRequest {
  schedule: ScheduleRecord;
  /** The scheduled time this run is for; null for a run by hand (`arca schedule run`). */
  scheduledAt: Date | null;
}

/** How a launched job ended, as seen from outside it. */
export interface LaunchOutcome {
  /** The exit status, null when a signal ended it or it never started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The end of what it wrote on stderr (secrets masked), for the log. */
  stderrTail: string;
  /** Why it could not be started at all (spawn failure), else null. */
  startError: string | null;
  /** True when it was asked to stop (stop()) before it ended. */
  stopped?: boolean;
}

export interface LaunchedJob {
  /** The process running the job (it records its job under this pid), null when it never started. */
  readonly pid: number | null;
  /** Settles (never rejects) when the job has ended. */
  readonly done: Promise<LaunchOutcome>;
  /** Asks the job to stop (SIGTERM for a child process); it records itself as aborted. */
  stop(): void;
}

export interface JobLauncher {
  /** Starts the job and returns at once. */
  launch(request: LaunchRequest): LaunchedJob;
}

export function succeeded(outcome: LaunchOutcome): boolean {
  return outcome.exitCode === 0 && outcome.startError === null;
}

/** One line on how a launched job ended: "exit status 1: <stderr's last line>". */
export function describeOutcome(outcome: LaunchOutcome): string {
  if (outcome.startError !== null) return `could not start: ${outcome.startError}`;
  const how = outcome.signal !== null ? `ended by ${outcome.signal}` : `exit status ${outcome.exitCode ?? '?'}`;
  const last = outcome.stderrTail
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .pop();
  return last === undefined || succeeded(outcome) ? how : `${how}: ${last}`;
}

/** The `arca` command line (after the global options) that runs a schedule's job. */
export function commandArgs(schedule: ScheduleRecord): string[] {
  const onVolume = schedule.volume ? ['--volume', schedule.volume] : [];
  switch (schedule.kind) {
    case 'backup': {
      const { expire, maxDuration, rateLimit, jobs, nice } = schedule.options;
      return [
        'backup',
        schedule.database ?? '',
        ...onVolume,
        '--level',
        String(schedule.options.level ?? 0),
        ...(expire !== undefined ? ['--expire', expire] : []),
        ...(maxDuration !== undefined ? ['--max-duration', maxDuration] : []),
        ...(rateLimit !== undefined ? ['--rate-limit', rateLimit] : []),
        ...(jobs !== undefined ? ['--jobs', String(jobs)] : []),
        ...(nice === false ? ['--no-nice'] : []),
      ];
    }
    case 'prune':
      return ['prune', ...(schedule.database ? ['--db', schedule.database] : []), ...onVolume];
    case 'purge':
      return ['purge', schedule.database ?? '', ...onVolume];
    case 'check':
      return ['check', ...onVolume];
  }
}
