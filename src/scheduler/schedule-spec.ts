// What a valid schedule is, checked in one place before it is stored (for
// `arca schedule add`, `arca db add` and later the API): its kind and target
// (backup and purge name a database, prune may, check does not; any may name
// a volume), options only where they apply (level, expiry and the guard
// rails of `arca backup`, parsed as it parses them), a cron expression and
// time zone that parse, and the default daily backup a new database gets.
import { ArcaError, isArcaError } from '../errors.js';
import { checkJobs, parseMaxDuration, parseRateLimit } from '../common/guard-rails.js';
import { validateName } from '../common/names.js';
import { requireDatabase, requireVolume, type Catalog } from '../catalog/index.js';
import { isScheduleKind, parseScheduleKind, type NewSchedule, type ScheduleKind, type ScheduleOptions } from '../catalog/schedules.js';
import { ScheduleTiming } from './schedule-timing.js';

/** The cron expression of the daily backup `arca db add` schedules: 00:00 UTC. */
export const DEFAULT_BACKUP_CRON = '0 0 * * *';

export { parseScheduleKind } from '../catalog/schedules.js';

function checkTargets(spec: NewSchedule): void {
  const { kind, database } = spec;
  if ((kind === 'backup' || kind === 'purge') && !database) {
    throw new ArcaError('USAGE', `a ${kind} schedule needs a database: add --db NAME`);
  }
  if (kind === 'check' && database) {
    throw new ArcaError('USAGE', 'a check verifies a volume, not a database: name the volume with --volume instead of --db');
  }
}

/** The backup-only options a schedule may carry, by the `arca backup` option that stands for each. */
const GUARD_RAIL_FLAGS = [
  ['maxDuration', '--max-duration'],
  ['rateLimit', '--rate-limit'],
  ['jobs', '--jobs'],
  ['nice', '--no-nice'],
] as const satisfies ReadonlyArray<readonly [keyof ScheduleOptions, string]>;

function listed(flags: readonly string[]): string {
  return flags.length === 1 ? flags[0]! : `${flags.slice(0, -1).join(', ')} and ${flags.at(-1)!}`;
}

/** Runs a check of one option; its USAGE error names the option ("--jobs: …"). */
function checked<T>(flag: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (isArcaError(err, 'USAGE')) throw new ArcaError('USAGE', `${flag}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** The guard rails of a backup schedule, validated like `arca backup`'s and tidied (the text kept as typed). */
function guardRails(options: ScheduleOptions): ScheduleOptions {
  const { maxDuration, rateLimit, jobs, nice } = options;
  const out: ScheduleOptions = {};
  if (maxDuration !== undefined) out.maxDuration = checked('--max-duration', () => parseMaxDuration(String(maxDuration)).label);
  if (rateLimit !== undefined) {
    checked('--rate-limit', () => parseRateLimit(String(rateLimit)));
    out.rateLimit = String(rateLimit).trim();
  }
  if (jobs !== undefined) out.jobs = checked('--jobs', () => checkJobs(jobs));
  if (nice !== undefined) {
    if (typeof nice !== 'boolean') throw new ArcaError('USAGE', 'nice must be true or false (false: like --no-nice)');
    out.nice = nice;
  }
  return out;
}

function checkOptions(kind: ScheduleKind, options: ScheduleOptions): ScheduleOptions {
  if (kind !== 'backup') {
    if (options.level !== undefined || options.expire !== undefined) {
      throw new ArcaError('USAGE', `--level and --expire apply to backup schedules only, not to a ${kind} schedule`);
    }
    const given = GUARD_RAIL_FLAGS.filter(([key]) => options[key] !== undefined).map(([, flag]) => flag);
    if (given.length > 0) {
      throw new ArcaError('USAGE', `${listed(given)} ${given.length === 1 ? 'applies' : 'apply'} to backup schedules only, not to a ${kind} schedule`);
    }
    return {};
  }
  if (options.level !== undefined && !(Number.isInteger(options.level) && options.level >= 0 && options.level <= 9)) {
    throw new ArcaError('USAGE', 'the level must be an integer from 0 to 9');
  }
  return { level: options.level ?? 0, ...(options.expire !== undefined ? { expire: options.expire } : {}), ...guardRails(options) };
}

/**
 * Checks a new schedule against the catalog (its database and volume must be
 * registered) and returns it normalized: canonical time zone, tidy cron
 * expression, options for its kind. USAGE or NOT_FOUND with what to fix.
 */
export function prepareSchedule(catalog: Catalog, spec: NewSchedule): NewSchedule {
  validateName('schedule', spec.name);
  if (!isScheduleKind(spec.kind)) parseScheduleKind(spec.kind);
  checkTargets(spec);
  if (spec.database) requireDatabase(catalog, spec.database);
  if (spec.volume) requireVolume(catalog, spec.volume);
  const timing = new ScheduleTiming(spec.cron, spec.timeZone ?? 'UTC');
  return {
    name: spec.name,
    kind: spec.kind,
    database: spec.database ?? null,
    volume: spec.volume ?? null,
    cron: timing.expression,
    timeZone: timing.zone,
    options: checkOptions(spec.kind, spec.options ?? {}),
  };
}

/** The schedule name `arca db add NAME` uses: NAME-daily (NAME shortened to stay a valid name). */
export function defaultScheduleName(database: string): string {
  return `${database.slice(0, 58).replace(/[._-]+$/, '')}-daily`;
}

/** The daily 00:00 UTC level-0 backup a database gets when it is added. */
export function defaultBackupSchedule(database: string): NewSchedule {
  return {
    name: defaultScheduleName(database),
    kind: 'backup',
    database,
    volume: null,
    cron: DEFAULT_BACKUP_CRON,
    timeZone: 'UTC',
    options: { level: 0 },
  };
}

/** A schedule's target for people: "docs", "volume local", "every volume". */
export function describeTarget(schedule: { kind: ScheduleKind; database: string | null; volume: string | null }): string {
  if (schedule.database) return schedule.volume ? `${schedule.database} on ${schedule.volume}` : schedule.database;
  if (schedule.volume) return `volume ${schedule.volume}`;
  return schedule.kind === 'backup' || schedule.kind === 'purge' ? '?' : 'the default volume';
}
