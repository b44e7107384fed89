// Schedules: the catalog's `schedules` table (cron schedules of backups,
// prunes, purges and checks). `last_run_at` is the scheduled time that last
// fired (written before the job is launched); claiming a run is a
// compare-and-set on it, so two schedulers sharing a catalog (`arca serve` and
// `arca scheduler`) never launch the same run twice. Validation of cron
// expressions and time zones lives in src/scheduler/; this module stores.
import { ArcaError } from '../errors.js';
import { validateName } from '../common/names.js';
import { guard, isUniqueViolation, type Catalog } from './catalog.js';
import { addDatabase, removeDatabase, type DatabaseRecord, type NewDatabase } from './databases.js';
import { reapDeadJobs, type JobStatus } from './jobs.js';

export const SCHEDULE_KINDS = ['backup', 'prune', 'purge', 'check'] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];

export function isScheduleKind(value: string): value is ScheduleKind {
  return (SCHEDULE_KINDS as readonly string[]).includes(value);
}

/** `--kind K` as typed: one of the schedule kinds; USAGE otherwise. */
export function parseScheduleKind(value: string): ScheduleKind {
  if (isScheduleKind(value)) return value;
  throw new ArcaError('USAGE', `unknown schedule kind ${JSON.stringify(value)}: use one of ${SCHEDULE_KINDS.join(', ')}`);
}

/**
 * What a schedule passes to its job (backup schedules only, for now). Stored
 * as a JSON object; a field left out means the backup's default, so rows
 * written before a field existed read the same as before.
 */
export interface ScheduleOptions {
  /** Backup level 0–9. */
  level?: number;
  /** Expiry of the backups it takes: "1w 3d" style, or "never". */
  expire?: string;
  /** `--max-duration` as typed ("2h", "90s"). */
  maxDuration?: string;
  /** `--rate-limit` as typed ("20MB/s"). */
  rateLimit?: string;
  /** `--jobs`: parallel connections, 1–16 (the backup's default when left out). */
  jobs?: number;
  /** False for `--no-nice`; left out or true: low CPU and I/O priority. */
  nice?: boolean;
}

export interface ScheduleRecord {
  name: string;
  kind: ScheduleKind;
  database: string | null;
  volume: string | null;
  cron: string;
  /** IANA time zone the cron expression is read in. */
  timeZone: string;
  options: ScheduleOptions;
  /** ISO 8601. */
  createdAt: string;
  /** The scheduled time that last fired (ISO 8601), null before the first. */
  lastRunAt: string | null;
}

export interface NewSchedule {
  name: string;
  kind: ScheduleKind;
  database?: string | null;
  volume?: string | null;
  cron: string;
  timeZone?: string;
  options?: ScheduleOptions;
}

/** The newest job a schedule started (or a manual `schedule run` of it). */
export interface ScheduleLastJob {
  id: number;
  status: JobStatus;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
}

interface ScheduleRow {
  name: string;
  kind: string;
  database: string | null;
  volume: string | null;
  cron: string;
  time_zone: string;
  options: string;
  created_at: string;
  last_run_at: string | null;
}

const COLUMNS = 'name, kind, database, volume, cron, time_zone, options, created_at, last_run_at';

function parseOptions(name: string, text: string): ScheduleOptions {
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ArcaError('CORRUPT', `the catalog's options of schedule ${name} are not a JSON object`);
  }
  const o = value as Record<string, unknown>;
  const options: ScheduleOptions = {};
  if (typeof o['level'] === 'number') options.level = o['level'];
  if (typeof o['expire'] === 'string') options.expire = o['expire'];
  if (typeof o['maxDuration'] === 'string') options.maxDuration = o['maxDuration'];
  if (typeof o['rateLimit'] === 'string') options.rateLimit = o['rateLimit'];
  if (typeof o['jobs'] === 'number') options.jobs = o['jobs'];
  if (typeof o['nice'] === 'boolean') options.nice = o['nice'];
  return options;
}

function fromRow(row: ScheduleRow): ScheduleRecord {
  return {
    name: row.name,
    kind: row.kind as ScheduleKind,
    database: row.database,
    volume: row.volume,
    cron: row.cron,
    timeZone: row.time_zone,
    options: parseOptions(row.name, row.options),
    createdAt: row.created_at,
    lastRunAt: row.last_run_at,
  };
}

/** Stores a schedule (validated by the caller). ALREADY_EXISTS when the name is taken. */
export function addSchedule(catalog: Catalog, schedule: NewSchedule): ScheduleRecord {
  validateName('schedule', schedule.name);
  const record: ScheduleRecord = {
    name: schedule.name,
    kind: schedule.kind,
    database: schedule.database ?? null,
    volume: schedule.volume ?? null,
    cron: schedule.cron,
    timeZone: schedule.timeZone ?? 'UTC',
    options: schedule.options ?? {},
    createdAt: catalog.now().toISOString(),
    lastRunAt: null,
  };
  return guard(() => {
    try {
      catalog.db
        .prepare<[string, string, string | null, string | null, string, string, string, string]>(
          `INSERT INTO schedules (name, kind, database, volume, cron, time_zone, options, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          record.name,
          record.kind,
          record.database,
          record.volume,
          record.cron,
          record.timeZone,
          JSON.stringify(record.options),
          record.createdAt,
        );
      return record;
    } catch (err) {
      if (isUniqueViolation(err, 'schedules.name')) {
        throw new ArcaError('ALREADY_EXISTS', `a schedule named ${schedule.name} already exists; remove it first with: arca schedule remove ${schedule.name}`, {
          cause: err,
        });
      }
      throw err;
    }
  });
}

export function getSchedule(catalog: Catalog, name: string): ScheduleRecord | null {
  const row = guard(() => catalog.db.prepare<[string], ScheduleRow>(`SELECT ${COLUMNS} FROM schedules WHERE name = ?`).get(name));
  return row ? fromRow(row) : null;
}

export function requireSchedule(catalog: Catalog, name: string): ScheduleRecord {
  const found = getSchedule(catalog, name);
  if (found) return found;
  throw new ArcaError('NOT_FOUND', `no schedule named ${name}; see them with: arca schedule list`);
}

/** All schedules, by name. */
export function listSchedules(catalog: Catalog): ScheduleRecord[] {
  return guard(() => catalog.db.prepare<[], ScheduleRow>(`SELECT ${COLUMNS} FROM schedules ORDER BY name`).all().map(fromRow));
}

/** Removes a schedule. NOT_FOUND when there is none of that name. */
export function removeSchedule(catalog: Catalog, name: string): void {
  const result = guard(() => catalog.db.prepare<[string]>('DELETE FROM schedules WHERE name = ?').run(name));
  if (result.changes === 0) throw new ArcaError('NOT_FOUND', `no schedule named ${name}; see them with: arca schedule list`);
}

/** Removes every schedule of a database; returns their names. */
export function removeSchedulesOfDatabase(catalog: Catalog, database: string): string[] {
  return guard(() =>
    catalog.db
      .prepare<[string], { name: string }>('DELETE FROM schedules WHERE database = ? RETURNING name')
      .all(database)
      .map((r) => r.name)
      .sort(),
  );
}

/**
 * Claims the run scheduled at `firedAt`: sets `last_run_at` to it when it is
 * still `expected` (what the caller read). False when another scheduler got
 * there first (or the schedule is gone).
 */
export function claimScheduledRun(catalog: Catalog, name: string, expected: string | null, firedAt: string): boolean {
  const result = guard(() =>
    catalog.db
      .prepare<[string, string, string | null]>('UPDATE schedules SET last_run_at = ? WHERE name = ? AND last_run_at IS ?')
      .run(firedAt, name, expected),
  );
  return result.changes === 1;
}

/** The newest job of each schedule (scheduled or run by hand with `schedule run`), by schedule name. */
export function lastJobsOfSchedules(catalog: Catalog): Map<string, ScheduleLastJob> {
  reapDeadJobs(catalog);
  const rows = guard(() =>
    catalog.db
      .prepare<[], ScheduleLastJob & { schedule: string }>(
        `SELECT schedule, id, status, started_at AS startedAt, finished_at AS finishedAt, error FROM jobs
         WHERE id IN (SELECT max(id) FROM jobs WHERE schedule IS NOT NULL GROUP BY schedule)`,
      )
      .all(),
  );
  return new Map(rows.map(({ schedule, ...job }) => [schedule, job]));
}

/** The id of the job a schedule's child process (host, pid) recorded since `since`, or null. */
export function jobOfScheduledProcess(
  catalog: Catalog,
  run: { schedule: string; host: string; pid: number; since: string },
): number | null {
  const row = guard(() =>
    catalog.db
      .prepare<[string, string, number, string], { id: number }>(
        'SELECT id FROM jobs WHERE schedule = ? AND host = ? AND pid = ? AND started_at >= ? ORDER BY id DESC LIMIT 1',
      )
      .get(run.schedule, run.host, run.pid, run.since),
  );
  return row?.id ?? null;
}

/**
 * Registers a database and, in the same transaction, its default schedule
 * (when given and no schedule of that name exists yet: one left from before
 * is kept as it is). Returns the schedule added, or null.
 */
export function addDatabaseWithSchedule(
  catalog: Catalog,
  database: NewDatabase,
  schedule: NewSchedule | null,
): { database: DatabaseRecord; schedule: ScheduleRecord | null } {
  const work = catalog.db.transaction(() => {
    const added = addDatabase(catalog, database);
    const kept = schedule === null || getSchedule(catalog, schedule.name) !== null;
    return { database: added, schedule: kept ? null : addSchedule(catalog, schedule) };
  });
  return guard(() => work.immediate());
}

/** Forgets a database and its schedules in one transaction; returns the schedules' names. NOT_FOUND when it is not registered. */
export function removeDatabaseAndSchedules(catalog: Catalog, name: string): string[] {
  const work = catalog.db.transaction(() => {
    const schedules = removeSchedulesOfDatabase(catalog, name);
    removeDatabase(catalog, name);
    return schedules;
  });
  return guard(() => work.immediate());
}
