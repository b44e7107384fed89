// The purge job: deletes old data from one database by its rules. It checks
// every rule against the live database first (nothing is deleted and no
// backup taken when one is broken), takes a full backup when asked
// (`backupBeforePurge`; it expires `backupExpireMs` after the purge starts,
// or never), and stops without deleting anything if that backup fails; then
// counts what each rule selects, deletes it in batches through the
// database's PurgeEngine, and reports per rule what went. One clock
// reading gives every rule its cutoff, so a dry run and a real run at the
// same moment select the same rows. Exclusivity (one purge per database) and
// the job history are the caller's (trackJob with exclusive rules).
import { ArcaError, errorMessage, isArcaError } from '../../errors.js';
import type { PurgeRuleRecord, PurgeRuleSpec } from '../../catalog/purge-rules.js';
import type { JobFigures } from '../../catalog/jobs.js';
import { runBackup } from '../backup-job.js';
import type { DatabaseRef, JobContext } from '../types.js';
import type { OpenVolume } from '../volume-service.js';
import { withPurgeEngine } from './open-engine.js';
import type { PurgeCount } from './purge-engine.js';
import { DEFAULT_BATCH_SIZE, validateBatchSize } from '../job-limits.js';

export { DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE, validateBatchSize } from '../job-limits.js';

export interface PurgeOptions extends JobContext {
  database: DatabaseRef;
  rules: readonly PurgeRuleRecord[];
  /** Count only: no backup, nothing deleted. */
  dryRun?: boolean;
  batchSize?: number;
  /** The clock reading the cutoffs are computed from (default: now). */
  now?: Date;
  /** A real run first takes a level-0 backup to this volume; null or absent: no backup. */
  backupTo?: OpenVolume | null;
  /** That backup expires this long after the purge starts (`now`); null or absent: never. */
  backupExpireMs?: number | null;
}

export interface PurgeRuleResult {
  rule: number;
  kind: 'table' | 'files';
  /** Table rules: the table (PostgreSQL: schema.table). */
  table?: string;
  /** Files rules: the glob. */
  glob?: string;
  olderThan: string;
  /** Rows (files) older than this went (would go). ISO 8601. */
  cutoff: string;
  /** Table rules: rows deleted (a dry run: rows it would delete). */
  rows?: number;
  /** Files rules: files and their bytes deleted (would be). */
  files?: number;
  bytes?: number;
  /** Batches that deleted something (0 in a dry run). */
  batches: number;
}

export interface PurgeResult {
  database: string;
  dryRun: boolean;
  /** The id of the backup taken before deleting, or null (dry run, or backupBeforePurge off). */
  backup: string | null;
  /** When that backup expires (ISO 8601); null when it never does or none was taken. */
  backupExpiresAt: string | null;
  rules: PurgeRuleResult[];
  rows: number;
  files: number;
  bytes: number;
  batches: number;
  startedAt: string;
  finishedAt: string;
}

interface Planned {
  id: number;
  spec: PurgeRuleSpec;
  cutoff: Date;
}

export function noPurgeRules(database: string): ArcaError {
  return new ArcaError('NOT_FOUND', `database ${database} has no purge rules; add one with: arca purge rule add ${database} --table TABLE --column COLUMN --older-than 90d`);
}


function describe(p: Planned, count: PurgeCount, batches: number): PurgeRuleResult {
  const common = { rule: p.id, olderThan: p.spec.olderThan, cutoff: p.cutoff.toISOString(), batches };
  if (p.spec.kind === 'files') return { ...common, kind: 'files', glob: p.spec.glob, files: count.items, bytes: count.bytes };
  const table = p.spec.schema === undefined ? p.spec.table : `${p.spec.schema}.${p.spec.table}`;
  return { ...common, kind: 'table', table, rows: count.items };
}

function totals(rules: PurgeRuleResult[]): Pick<PurgeResult, 'rows' | 'files' | 'bytes' | 'batches'> {
  const sum = (f: (r: PurgeRuleResult) => number | undefined) => rules.reduce((n, r) => n + (f(r) ?? 0), 0);
  return { rows: sum((r) => r.rows), files: sum((r) => r.files), bytes: sum((r) => r.bytes), batches: sum((r) => r.batches) };
}

/** Checks every rule against the live database; returns them with their cutoffs. */
async function plan(opts: PurgeOptions, now: Date): Promise<Planned[]> {
  return withPurgeEngine(opts.database.url, async (engine) => {
    const planned: Planned[] = [];
    for (const r of opts.rules) {
      let spec: PurgeRuleSpec;
      try {
        spec = await engine.check(r.spec);
      } catch (err) {
        if (!isArcaError(err, 'USAGE')) throw err;
        throw new ArcaError('USAGE', `purge rule ${r.id} of ${opts.database.name} no longer fits the database: ${err.message}; fix or remove it (arca purge rule remove ${opts.database.name} ${r.id})`, { cause: err });
      }
      planned.push({ id: r.id, spec, cutoff: new Date(now.getTime() - r.spec.olderThanMs) });
    }
    return planned;
  });
}

export async function runPurge(opts: PurgeOptions): Promise<PurgeResult> {
  const batchSize = validateBatchSize(opts.batchSize ?? DEFAULT_BATCH_SIZE);
  const name = opts.database.name;
  if (opts.rules.length === 0) throw noPurgeRules(name);
  const started = opts.now ?? new Date();
  const dryRun = opts.dryRun === true;
  const planned = await plan(opts, started);

  let backup: string | null = null;
  let backupExpiresAt: string | null = null;
  if (!dryRun && opts.backupTo) {
    const expiresAt = typeof opts.backupExpireMs === 'number' ? new Date(started.getTime() + opts.backupExpireMs) : null;
    try {
      const taken = await runBackup({
        volume: opts.backupTo,
        database: opts.database,
        level: 0,
        expiresAt,
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      });
      backup = taken.id;
      backupExpiresAt = expiresAt?.toISOString() ?? null;
    } catch (err) {
      if (isArcaError(err, 'ABORTED')) throw err;
      const code = isArcaError(err) ? err.code : 'INTERNAL';
      throw new ArcaError(code, `the backup before the purge of ${name} failed, so nothing was deleted: ${errorMessage(err)}`, { cause: err });
    }
  }

  const results: PurgeRuleResult[] = [];
  await withPurgeEngine(opts.database.url, async (engine) => {
    const counts: PurgeCount[] = [];
    for (const p of planned) counts.push(await engine.count(p.spec, p.cutoff));
    if (dryRun) {
      planned.forEach((p, i) => results.push(describe(p, counts[i]!, 0)));
      return;
    }
    const itemsTotal = counts.reduce((n, c) => n + c.items, 0);
    const bytesTotal = counts.reduce((n, c) => n + c.bytes, 0);
    let itemsDone = 0;
    let bytesDone = 0;
    const report = () =>
      opts.onProgress?.({ phase: 'purge', bytesDone, bytesTotal: bytesTotal > 0 ? bytesTotal : null, itemsDone, itemsTotal });
    report();
    for (const p of planned) {
      try {
        const r = await engine.purge(p.spec, {
          cutoff: p.cutoff,
          batchSize,
          ...(opts.signal ? { signal: opts.signal } : {}),
          onBatch: (b) => {
            itemsDone += b.deleted;
            bytesDone += b.bytes;
            report();
          },
        });
        results.push(describe(p, r, r.batches));
      } catch (err) {
        if (!isArcaError(err, 'ABORTED')) throw err;
        const kept = backup ? `; the backup taken before is ${backup}` : '';
        throw new ArcaError('ABORTED', `the purge of ${name} was aborted after deleting ${itemsDone} ${p.spec.kind === 'files' ? 'files' : 'rows'} (committed batches stay deleted)${kept}`, { cause: err });
      }
    }
  });
  return { database: name, dryRun, backup, backupExpiresAt, rules: results, ...totals(results), startedAt: started.toISOString(), finishedAt: new Date().toISOString() };
}

/** Checks a new rule against the live database and counts what it would delete now (a dry run of it). */
export async function checkPurgeRule(url: string, spec: PurgeRuleSpec, now = new Date()): Promise<{ spec: PurgeRuleSpec; count: PurgeCount }> {
  return withPurgeEngine(url, async (engine) => {
    const checked = await engine.check(spec);
    const count = await engine.count(checked, new Date(now.getTime() - checked.olderThanMs));
    return { spec: checked, count };
  });
}

/** The figures a purge leaves in the job history. */
export function purgeFigures(result: PurgeResult): JobFigures {
  return {
    backup: result.backup,
    backupExpiresAt: result.backupExpiresAt,
    rows: result.rows,
    files: result.files,
    bytes: result.bytes,
    batches: result.batches,
    rules: result.rules.map((r) => JSON.parse(JSON.stringify(r)) as JobFigures),
  };
}
