// `arca schedule add|list|remove|run`: cron schedules of backups, prunes,
// purges and checks (UTC unless a schedule names a time zone); a backup
// schedule carries `arca backup`'s level, expiry and guard rails. `run` runs a
// schedule's job now, in the foreground, recorded under the schedule's name.
import { InvalidArgumentError, type Command } from 'commander';
import { ArcaError, errorMessage, type ErrorCode } from '../../errors.js';
import { formatDurationSpec } from '../../common/duration.js';
import { formatTimestamp } from '../../common/format.js';
import { validateName } from '../../common/names.js';
import {
  addSchedule,
  lastJobsOfSchedules,
  listSchedules,
  removeSchedule,
  requireSchedule,
  type ScheduleKind,
  type ScheduleLastJob,
  type ScheduleOptions,
  type ScheduleRecord,
  parseScheduleKind,
} from '../../catalog/schedules.js';
import type { CliContext, ContextFactory } from '../context.js';
import { addGuardRailOptions, parseExpire, parseLevel, type ExpireOption, type MaxDurationOption } from '../options.js';
import { renderTable } from '../output.js';
import { childLauncherOptions } from './scheduler.js';

interface AddOptions {
  db?: string;
  volume?: string;
  cron: string;
  kind: ScheduleKind;
  level?: number;
  expire?: ExpireOption;
  maxDuration?: MaxDurationOption;
  rateLimit?: string;
  jobs?: number;
  nice: boolean;
  tz: string;
}

/** A schedule as `schedule list --json` prints it. */
export interface ScheduleView extends ScheduleRecord {
  /** The next run in UTC (ISO 8601), null when it never runs again. */
  nextRunAt: string | null;
  /** The same moment as local time in the schedule's zone, with its offset. */
  nextRunLocal: string | null;
  lastJob: ScheduleLastJob | null;
}

/** The scheduler: imported when a command needs it, not while argv is parsed (see program.ts). */
type SchedulerModule = typeof import('../../scheduler/index.js');
const loadScheduler = (): Promise<SchedulerModule> => import('../../scheduler/index.js');

function kindOption(value: string): ScheduleKind {
  try {
    return parseScheduleKind(value);
  } catch (err) {
    throw new InvalidArgumentError(errorMessage(err));
  }
}

function viewOf(
  { ScheduleTiming, zonedIso }: SchedulerModule,
  schedule: ScheduleRecord,
  now: Date,
  lastJob: ScheduleLastJob | null,
): ScheduleView {
  let next: Date | null;
  try {
    const timing = new ScheduleTiming(schedule.cron, schedule.timeZone);
    next = timing.nextAfter(new Date(Math.max(now.getTime(), Date.parse(schedule.lastRunAt ?? schedule.createdAt))));
  } catch {
    next = null; // a broken row: shown without a next run
  }
  return {
    ...schedule,
    nextRunAt: next?.toISOString() ?? null,
    nextRunLocal: next ? zonedIso(next, schedule.timeZone) : null,
    lastJob,
  };
}

/** "2026-03-29 03:00+02:00" from an ISO string; "-" for null. */
function shortTime(iso: string | null): string {
  if (iso === null) return '-';
  return iso.replace('T', ' ').replace(/:00(\.000)?(?=Z|[+-]\d\d:\d\d$)/, '').replace(/Z$/, ' UTC');
}

function whatItRuns(s: ScheduleRecord): string {
  if (s.kind !== 'backup') return s.kind;
  const o = s.options;
  const parts = [
    `level ${o.level ?? 0}`,
    ...(o.expire ? [`expire ${o.expire}`] : []),
    ...(o.maxDuration !== undefined ? [`max-duration ${o.maxDuration}`] : []),
    ...(o.rateLimit !== undefined ? [`rate-limit ${o.rateLimit}`] : []),
    ...(o.jobs !== undefined ? [`jobs ${o.jobs}`] : []),
    ...(o.nice === false ? ['no-nice'] : []),
  ];
  return `backup (${parts.join(', ')})`;
}

/** The options `schedule add` stores: what was given (the guard rails as typed). */
function optionsOf(opts: AddOptions): ScheduleOptions {
  const expire = opts.expire === undefined ? undefined : opts.expire === 'never' ? 'never' : formatDurationSpec(opts.expire);
  return {
    ...(opts.level !== undefined ? { level: opts.level } : {}),
    ...(expire !== undefined ? { expire } : {}),
    ...(opts.maxDuration !== undefined ? { maxDuration: opts.maxDuration.label } : {}),
    ...(opts.rateLimit !== undefined ? { rateLimit: opts.rateLimit } : {}),
    ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}),
    ...(opts.nice === false ? { nice: false } : {}),
  };
}

function schedulesTable({ describeTarget }: SchedulerModule, views: readonly ScheduleView[]): string {
  return renderTable(
    [
      { header: 'NAME' },
      { header: 'RUNS' },
      { header: 'TARGET' },
      { header: 'CRON' },
      { header: 'ZONE' },
      { header: 'NEXT (UTC)' },
      { header: 'NEXT (ZONE)' },
      { header: 'LAST RUN' },
    ],
    views.map((v) => [
      v.name,
      whatItRuns(v),
      describeTarget(v),
      v.cron,
      v.timeZone,
      shortTime(v.nextRunAt),
      v.timeZone === 'UTC' ? '' : shortTime(v.nextRunLocal),
      v.lastJob ? `${formatTimestamp(v.lastJob.startedAt)} ${v.lastJob.status}` : '-',
    ]),
  );
}

/** The error `schedule run` ends with when the job failed (its own error is already on stderr). */
function runFailure(schedule: ScheduleRecord, outcome: string, exitCode: number | null, interrupted: boolean): ArcaError {
  const codes: Record<ScheduleKind, ErrorCode> = { backup: 'SOURCE', purge: 'SOURCE', prune: 'BACKEND', check: 'CHECK_FAILED' };
  const code: ErrorCode = interrupted ? 'ABORTED' : exitCode === 2 ? 'USAGE' : codes[schedule.kind];
  return new ArcaError(code, `schedule ${schedule.name}: the ${schedule.kind} failed (${outcome})`);
}

async function runNow(ctx: CliContext, name: string): Promise<void> {
  validateName('schedule', name);
  const catalog = ctx.catalog();
  const schedule = requireSchedule(catalog, name);
  const { ChildLauncher, describeOutcome, recordLaunchOutcome, runningJobOfSchedule, runningScheduledJobs, succeeded } = await loadScheduler();
  const busy = runningJobOfSchedule(name, runningScheduledJobs(catalog));
  if (busy) {
    throw new ArcaError('CONFLICT', `the previous run of schedule ${name} (job ${busy.id}, started ${busy.startedAt}) is still running`);
  }
  const launcher = new ChildLauncher({ ...childLauncherOptions(ctx), foreground: true });
  const launchedAt = new Date();
  const job = launcher.launch({ schedule, scheduledAt: null });
  // The terminal sends Ctrl-C to the child as well; other signals are passed on.
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
    const handler = (): void => {
      ctx.interruptedBy ??= signal;
      if (signal === 'SIGTERM' || ctx.io.stdin.isTTY !== true) job.stop();
    };
    ctx.io.onSignal(signal, handler);
    return { signal, handler };
  });
  try {
    const ended = await job.done;
    // Interrupted by a signal (Ctrl-C reaches the child directly): a stop, not a failure.
    const outcome = { ...ended, stopped: ended.stopped === true || ctx.interruptedBy !== null };
    recordLaunchOutcome(catalog, schedule, job.pid, launchedAt, outcome);
    if (!succeeded(outcome)) throw runFailure(schedule, describeOutcome(outcome), outcome.exitCode, ctx.interruptedBy !== null);
  } finally {
    for (const { signal, handler } of handlers) ctx.io.offSignal(signal, handler);
  }
}

export function registerScheduleCommands(program: Command, contextOf: ContextFactory): void {
  const schedule = program.command('schedule').description('cron schedules of backups, prunes, purges and checks');

  const add = schedule
    .command('add')
    .description('add a schedule (cron times are UTC unless --tz names a zone)')
    .argument('<name>', 'a name for the schedule')
    .requiredOption('--cron <expression>', 'five cron fields "minute hour day month weekday", e.g. "0 0 * * *" (daily at 00:00)')
    .option('--db <database>', 'the database (backup and purge; a prune may name one to remove only its backups)')
    .option('--volume <volume>', 'the volume (may be left out when only one is registered)')
    .option('--kind <kind>', 'backup, prune, purge or check', kindOption, 'backup' as ScheduleKind)
    .option('--level <n>', 'backup level: 0 = full, 1-9 = incremental', parseLevel)
    .option('--expire <duration>', 'expiry of the backups it takes: "1w 3d", "12h", "30m" or never', parseExpire);
  addGuardRailOptions(add, { rate: 'text', nice: true })
    .option('--tz <zone>', 'the IANA time zone the cron times are in, e.g. Europe/Berlin', 'UTC')
    .action(async (name: string, opts: AddOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      const catalog = ctx.catalog();
      const scheduler = await loadScheduler();
      const { describeTarget } = scheduler;
      const spec = scheduler.prepareSchedule(catalog, {
        name,
        kind: opts.kind,
        database: opts.db ?? null,
        volume: opts.volume ?? null,
        cron: opts.cron,
        timeZone: opts.tz,
        options: optionsOf(opts),
      });
      const view = viewOf(scheduler, addSchedule(catalog, spec), new Date(), null);
      ctx.output.result(view, () => {
        const zone = view.timeZone === 'UTC' ? '' : ` = ${shortTime(view.nextRunLocal)} ${view.timeZone}`;
        return `added schedule ${view.name}: ${whatItRuns(view)} of ${describeTarget(view)} at "${view.cron}" ${view.timeZone}; next run ${shortTime(view.nextRunAt)}${zone}`;
      });
    });

  schedule
    .command('list')
    .description('list the schedules with their next run (UTC and their zone) and last run')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      const catalog = ctx.catalog();
      const scheduler = await loadScheduler();
      const last = lastJobsOfSchedules(catalog);
      const now = new Date();
      const views = listSchedules(catalog).map((s) => viewOf(scheduler, s, now, last.get(s.name) ?? null));
      ctx.output.result(views, () =>
        views.length === 0 ? 'no schedules; add one with: arca schedule add NAME --db DB --cron "0 0 * * *"' : schedulesTable(scheduler, views),
      );
    });

  schedule
    .command('remove')
    .description('remove a schedule (a job it started keeps running)')
    .argument('<name>', 'the schedule')
    .action((name: string, _opts: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      validateName('schedule', name);
      removeSchedule(ctx.catalog(), name);
      ctx.output.result({ removed: name }, () => `removed schedule ${name}`);
    });

  schedule
    .command('run')
    .description("run a schedule's job now, in the foreground, recorded under the schedule's name")
    .argument('<name>', 'the schedule')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await runNow(contextOf(cmd), name);
    });
}
