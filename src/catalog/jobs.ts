// Job history and the running-job registry: the catalog's `jobs` table. A
// process that runs a job inserts a 'running' row, updates its heartbeat and
// progress while it works (so `arca progress` in another process sees it),
// reads `abort_requested` back (so `arca abort` in another process stops it),
// and records the outcome. A 'running' row whose process is gone (killed,
// crashed) is closed as failed the next time anyone looks.
//
// Exclusivity ("only one purge of a database at a time", "a restore puts the
// database in maintenance") is decided inside one IMMEDIATE transaction, so
// two processes starting at once cannot both win.
import { hostname } from 'node:os';
import { ArcaError } from '../errors.js';
import { guard, type Catalog } from './catalog.js';
import type { JsonValue } from './databases.js';

export const JOB_KINDS = ['backup', 'restore', 'prune', 'purge', 'check', 'export', 'copy', 'drill'] as const;
export type JobKind = (typeof JOB_KINDS)[number];
export type JobStatus = 'running' | 'succeeded' | 'failed' | 'aborted' | 'skipped';
export type JobFigures = { [key: string]: JsonValue };

/** What a running job last reported about its progress. */
export interface JobProgress {
  phase: string;
  bytesDone: number;
  bytesTotal: number | null;
  itemsDone: number;
  itemsTotal: number | null;
  /** Bytes per second over the recent window, null while unknown. */
  rate: number | null;
}

export interface JobRecord {
  id: number;
  kind: JobKind;
  database: string | null;
  volume: string | null;
  /** The schedule that started it, null for a manual run. */
  schedule: string | null;
  host: string;
  pid: number;
  startedAt: string;
  heartbeatAt: string;
  finishedAt: string | null;
  status: JobStatus;
  progress: JobProgress | null;
  figures: JobFigures;
  error: string | null;
  abortRequested: boolean;
}

/** A job that must not run beside another: `kinds` running on the same database (or volume). */
export interface Exclusion {
  kinds: readonly JobKind[];
  scope: 'database' | 'volume';
}

export interface NewJob {
  kind: JobKind;
  database?: string | null;
  volume?: string | null;
  schedule?: string | null;
  /** Refuse to start (CONFLICT) while a job these rules name is running. */
  exclusive?: readonly Exclusion[];
}

/** A 'running' row whose heartbeat is older than this belongs to a process on another host that is gone. */
export const JOB_STALE_MS = 5 * 60_000;

/** Kinds that put the database they write into maintenance while they run. */
export const MAINTENANCE_KINDS: readonly JobKind[] = ['purge', 'restore'];

interface JobRow {
  id: number;
  kind: string;
  database: string | null;
  volume: string | null;
  schedule: string | null;
  host: string;
  pid: number;
  started_at: string;
  heartbeat_at: string;
  finished_at: string | null;
  status: string;
  progress: string | null;
  figures: string;
  error: string | null;
  abort_requested: number;
}

const COLUMNS =
  'id, kind, database, volume, schedule, host, pid, started_at, heartbeat_at, finished_at, status, progress, figures, error, abort_requested';

function fromRow(row: JobRow): JobRecord {
  return {
    id: row.id,
    kind: row.kind as JobKind,
    database: row.database,
    volume: row.volume,
    schedule: row.schedule,
    host: row.host,
    pid: row.pid,
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
    finishedAt: row.finished_at,
    status: row.status as JobStatus,
    progress: row.progress === null ? null : (JSON.parse(row.progress) as JobProgress),
    figures: JSON.parse(row.figures) as JobFigures,
    error: row.error,
    abortRequested: row.abort_requested !== 0,
  };
}

/** True when the process that owns a running row still exists (same host: by pid; elsewhere: by heartbeat). */
export function isJobAlive(job: Pick<JobRecord, 'host' | 'pid' | 'heartbeatAt'>, now: Date): boolean {
  if (job.host === hostname()) {
    if (job.pid === process.pid) return true;
    try {
      process.kill(job.pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
    }
  }
  return now.getTime() - Date.parse(job.heartbeatAt) < JOB_STALE_MS;
}

/**
 * The running rows, oldest first, after closing those whose process is gone
 * as failed (one query for both: the server asks this on most requests).
 */
function liveRunningRows(catalog: Catalog): { alive: JobRecord[]; reaped: number } {
  return guard(() => {
    const now = catalog.now();
    const running = catalog.db
      .prepare<[], JobRow>(`SELECT ${COLUMNS} FROM jobs WHERE status = 'running' ORDER BY started_at, id`)
      .all()
      .map(fromRow);
    const alive: JobRecord[] = [];
    const dead: JobRecord[] = [];
    for (const j of running) (isJobAlive(j, now) ? alive : dead).push(j);
    if (dead.length > 0) {
      const close = catalog.db.prepare<[string, string, number]>(
        `UPDATE jobs SET status = 'failed', finished_at = ?, error = ? WHERE id = ? AND status = 'running'`,
      );
      for (const j of dead) {
        close.run(now.toISOString(), 'the process running this job ended without recording an outcome (killed or crashed)', j.id);
      }
    }
    return { alive, reaped: dead.length };
  });
}

/** Closes 'running' rows whose process is gone, as failed. Returns how many. */
export function reapDeadJobs(catalog: Catalog): number {
  return liveRunningRows(catalog).reaped;
}

function describeRunning(job: JobRecord): string {
  const on = job.database ?? job.volume ?? '';
  return `a ${job.kind} of ${on} is already running since ${job.startedAt} (job ${job.id}, pid ${job.pid} on ${job.host})`;
}

function runningConflict(catalog: Catalog, spec: NewJob): JobRecord | undefined {
  for (const rule of spec.exclusive ?? []) {
    const target = rule.scope === 'database' ? spec.database : spec.volume;
    if (target === undefined || target === null) continue;
    const placeholders = rule.kinds.map(() => '?').join(', ');
    const row = catalog.db
      .prepare<string[], JobRow>(
        `SELECT ${COLUMNS} FROM jobs WHERE status = 'running' AND ${rule.scope} = ? AND kind IN (${placeholders}) ORDER BY started_at LIMIT 1`,
      )
      .get(target, ...rule.kinds);
    if (row) return fromRow(row);
  }
  return undefined;
}

/** Records a job as running in this process. CONFLICT when one of its exclusion rules is violated. */
export function startJob(catalog: Catalog, spec: NewJob): JobRecord {
  const begin = catalog.db.transaction((): JobRecord => {
    reapDeadJobs(catalog);
    const conflict = runningConflict(catalog, spec);
    if (conflict) throw new ArcaError('CONFLICT', describeRunning(conflict));
    const now = catalog.now().toISOString();
    const row = catalog.db
      .prepare<[string, string | null, string | null, string | null, string, number, string, string], JobRow>(
        `INSERT INTO jobs (kind, database, volume, schedule, host, pid, started_at, heartbeat_at, status)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running') RETURNING ${COLUMNS}`,
      )
      .get(spec.kind, spec.database ?? null, spec.volume ?? null, spec.schedule ?? null, hostname(), process.pid, now, now);
    if (!row) throw new ArcaError('INTERNAL', 'the catalog did not return the new job');
    return fromRow(row);
  });
  return guard(() => begin.immediate());
}

/** Records a run that did not happen (e.g. a schedule that would overlap its still-running previous run). */
export function recordSkippedJob(catalog: Catalog, spec: Omit<NewJob, 'exclusive'>, reason: string): JobRecord {
  const now = catalog.now().toISOString();
  const row = guard(() =>
    catalog.db
      .prepare<[string, string | null, string | null, string | null, string, number, string, string, string, string], JobRow>(
        `INSERT INTO jobs (kind, database, volume, schedule, host, pid, started_at, heartbeat_at, finished_at, status, error)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'skipped', ?) RETURNING ${COLUMNS}`,
      )
      .get(spec.kind, spec.database ?? null, spec.volume ?? null, spec.schedule ?? null, hostname(), process.pid, now, now, now, reason),
  );
  if (!row) throw new ArcaError('INTERNAL', 'the catalog did not return the skipped job');
  return fromRow(row);
}

/** Updates a running job's heartbeat (and progress, when given); tells whether an abort was requested. */
export function heartbeatJob(catalog: Catalog, id: number, progress?: JobProgress | null): { abortRequested: boolean } {
  return guard(() => {
    const now = catalog.now().toISOString();
    if (progress === undefined) {
      catalog.db.prepare<[string, number]>(`UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND status = 'running'`).run(now, id);
    } else {
      catalog.db
        .prepare<[string, string | null, number]>(`UPDATE jobs SET heartbeat_at = ?, progress = ? WHERE id = ? AND status = 'running'`)
        .run(now, progress === null ? null : JSON.stringify(progress), id);
    }
    const row = catalog.db.prepare<[number], { abort_requested: number }>('SELECT abort_requested FROM jobs WHERE id = ?').get(id);
    return { abortRequested: (row?.abort_requested ?? 0) !== 0 };
  });
}

export interface JobOutcome {
  status: Exclude<JobStatus, 'running' | 'skipped'>;
  figures?: JobFigures;
  error?: string | null;
}

/** Records how a job ended. */
export function finishJob(catalog: Catalog, id: number, outcome: JobOutcome): JobRecord {
  const row = guard(() =>
    catalog.db
      .prepare<[string, string, string, string | null, number], JobRow>(
        `UPDATE jobs SET status = ?, finished_at = ?, figures = ?, error = ? WHERE id = ? RETURNING ${COLUMNS}`,
      )
      .get(outcome.status, catalog.now().toISOString(), JSON.stringify(outcome.figures ?? {}), outcome.error ?? null, id),
  );
  if (!row) throw new ArcaError('NOT_FOUND', `no job ${id} in the catalog`);
  return fromRow(row);
}

export interface JobFilter {
  database?: string;
  volume?: string;
  kind?: JobKind;
  status?: JobStatus;
  /** Newest first; default 100. */
  limit?: number;
}

/** Jobs, newest first. */
export function listJobs(catalog: Catalog, filter: JobFilter = {}): JobRecord[] {
  reapDeadJobs(catalog);
  const where: string[] = [];
  const args: Array<string | number> = [];
  for (const [column, value] of [
    ['database', filter.database],
    ['volume', filter.volume],
    ['kind', filter.kind],
    ['status', filter.status],
  ] as const) {
    if (value === undefined) continue;
    where.push(`${column} = ?`);
    args.push(value);
  }
  const sql = `SELECT ${COLUMNS} FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC, id DESC LIMIT ?`;
  return guard(() =>
    catalog.db
      .prepare<Array<string | number>, JobRow>(sql)
      .all(...args, filter.limit ?? 100)
      .map(fromRow),
  );
}

export function getJob(catalog: Catalog, id: number): JobRecord | null {
  const row = guard(() => catalog.db.prepare<[number], JobRow>(`SELECT ${COLUMNS} FROM jobs WHERE id = ?`).get(id));
  return row ? fromRow(row) : null;
}

/** Running jobs (after closing dead ones), oldest first. */
export function runningJobs(catalog: Catalog, filter: Omit<JobFilter, 'status' | 'limit'> = {}): JobRecord[] {
  return liveRunningRows(catalog).alive.filter(
    (j) =>
      (filter.database === undefined || j.database === filter.database) &&
      (filter.volume === undefined || j.volume === filter.volume) &&
      (filter.kind === undefined || j.kind === filter.kind),
  );
}

/** Asks the running jobs of a database (or one job) to stop; returns the jobs asked. */
export function requestAbort(catalog: Catalog, target: { database: string } | { id: number }): JobRecord[] {
  const running = 'id' in target ? runningJobs(catalog).filter((j) => j.id === target.id) : runningJobs(catalog, target);
  guard(() => {
    const mark = catalog.db.prepare<[number]>(`UPDATE jobs SET abort_requested = 1 WHERE id = ? AND status = 'running'`);
    for (const j of running) mark.run(j.id);
  });
  return running.map((j) => ({ ...j, abortRequested: true }));
}

/**
 * The running job that puts a database in maintenance (a purge or a restore
 * into it), or null. `running`: the result of runningJobs() when the caller
 * already has it (a listing of many databases asks once).
 */
export function maintenanceOf(catalog: Catalog, database: string, running: readonly JobRecord[] = runningJobs(catalog, { database })): JobRecord | null {
  return running.find((j) => j.database === database && MAINTENANCE_KINDS.includes(j.kind)) ?? null;
}
