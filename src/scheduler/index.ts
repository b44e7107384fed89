// Public surface of the scheduler: cron timing in time zones, what a valid
// schedule is, the Scheduler (injected clock and job launcher) and the real
// launcher that runs each job as a child `arca` process.
export { ScheduleTiming, validateTimeZone, normalizeCron, zonedIso } from './schedule-timing.js';
export {
  prepareSchedule,
  parseScheduleKind,
  defaultBackupSchedule,
  defaultScheduleName,
  describeTarget,
  DEFAULT_BACKUP_CRON,
} from './schedule-spec.js';
export { Scheduler, type SchedulerEvent, type SchedulerOptions } from './scheduler.js';
export { systemClock, type Clock } from './clock.js';
export {
  commandArgs,
  describeOutcome,
  succeeded,
  type JobLauncher,
  type LaunchedJob,
  type LaunchOutcome,
  type LaunchRequest,
} from './launcher.js';
export { ChildLauncher, childArgs, childEnv, packageBin, type ChildLauncherOptions } from './child-launcher.js';
export { outcomeStatus, recordLaunchOutcome, runningJobOfSchedule, runningScheduledJobs, jobSpecOf } from './run-record.js';
