// `arca jobs`, `arca progress` and `arca abort`: the job history, the live
// progress of running jobs (in any process on this machine), and stopping them.
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { ArcaError } from '../../errors.js';
import { formatBytes, formatDuration, formatEta, formatPercent, formatRate, formatTimestamp } from '../../common/format.js';
import { validateName } from '../../common/names.js';
import { getJob, JOB_KINDS, listJobs, requestAbort, runningJobs, type JobKind, type JobRecord } from '../../catalog/jobs.js';
import type { CliContext, ContextFactory } from '../context.js';
import { renderTable } from '../output.js';
import { progressView, type ProgressView } from '../../jobs/progress-view.js';

// The progress view moved to src/jobs/progress-view.ts (the server shows it too).
export { progressView, type ProgressView } from '../../jobs/progress-view.js';

export function progressText(views: readonly ProgressView[]): string {
  return views
    .map((v) => {
      const what = `job ${v.job}: ${v.kind} of ${v.database ?? v.volume ?? '?'}, started ${formatTimestamp(v.startedAt)}`;
      const amount = v.bytesTotal !== null ? `${formatBytes(v.bytesDone)} / ${formatBytes(v.bytesTotal)}` : formatBytes(v.bytesDone);
      const pct = v.bytesTotal !== null ? `  ${formatPercent(v.bytesDone, v.bytesTotal)}` : '';
      const eta = v.bytesTotal !== null ? `  ETA ${formatEta(v.etaSeconds)}` : '';
      const aborting = v.abortRequested ? '  (stopping)' : '';
      return `${what}\n  ${v.phase ?? 'starting'}  ${amount}${pct}  ${formatRate(v.bytesPerSecond)}${eta}${aborting}`;
    })
    .join('\n');
}

export function jobsTable(jobs: readonly JobRecord[]): string {
  return renderTable(
    [{ header: 'JOB' }, { header: 'KIND' }, { header: 'DATABASE' }, { header: 'VOLUME' }, { header: 'STARTED' }, { header: 'TOOK' }, { header: 'OUTCOME' }],
    jobs.map((j) => {
      const took = j.finishedAt ? formatDuration(Date.parse(j.finishedAt) - Date.parse(j.startedAt)) : '-';
      const outcome = j.error ? `${j.status}: ${j.error}` : j.schedule ? `${j.status} (schedule ${j.schedule})` : j.status;
      return [String(j.id), j.kind, j.database ?? '-', j.volume ?? '-', formatTimestamp(j.startedAt), took, outcome];
    }),
  );
}

function parseKind(value: string): JobKind {
  if (!(JOB_KINDS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`the kind must be one of ${JOB_KINDS.join(', ')}`);
  }
  return value as JobKind;
}

function parseLimit(value: string): number {
  if (!/^[1-9][0-9]{0,5}$/.test(value)) throw new InvalidArgumentError('the limit must be a whole number from 1 to 999999');
  return Number(value);
}

function parseJobId(value: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(value)) throw new InvalidArgumentError('a job id is a positive whole number');
  return Number(value);
}

/** Waits (up to `timeoutMs`) until the jobs are no longer running; returns them as they ended. */
async function waitForEnd(ctx: CliContext, ids: readonly number[], timeoutMs: number): Promise<JobRecord[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    runningJobs(ctx.catalog()); // closes the rows of processes that are gone
    const now = ids.map((id) => getJob(ctx.catalog(), id)).filter((j): j is JobRecord => j !== null);
    if (now.every((j) => j.status !== 'running') || Date.now() >= deadline) return now;
    await sleep(200);
  }
}

export function registerJobsCommands(program: Command, contextOf: ContextFactory): void {
  program
    .command('jobs')
    .description('the job history: every backup, restore, prune, purge and check, newest first')
    .option('--db <database>', 'only jobs of this database')
    .option('--volume <volume>', 'only jobs on this volume')
    .option('--kind <kind>', `only jobs of this kind (${JOB_KINDS.join(', ')})`, parseKind)
    .option('--limit <n>', 'at most this many (default 50)', parseLimit, 50)
    .action((opts: { db?: string; volume?: string; kind?: JobKind; limit: number }, cmd: Command) => {
      const ctx = contextOf(cmd);
      if (opts.db !== undefined) validateName('database', opts.db);
      if (opts.volume !== undefined) validateName('volume', opts.volume);
      const jobs = listJobs(ctx.catalog(), {
        ...(opts.db !== undefined ? { database: opts.db } : {}),
        ...(opts.volume !== undefined ? { volume: opts.volume } : {}),
        ...(opts.kind !== undefined ? { kind: opts.kind } : {}),
        limit: opts.limit,
      });
      ctx.output.result(jobs, () => (jobs.length === 0 ? 'no jobs recorded yet' : jobsTable(jobs)));
    });

  program
    .command('progress')
    .description('the progress of running jobs (of one database, or all): phase, bytes, percent, ETA')
    .argument('[database]', 'only this database')
    .action((database: string | undefined, _opts: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      if (database !== undefined) validateName('database', database);
      const views = runningJobs(ctx.catalog(), database !== undefined ? { database } : {}).map(progressView);
      ctx.output.result(views, () =>
        views.length === 0 ? `no job running${database !== undefined ? ` for ${database}` : ''}` : progressText(views),
      );
    });

  program
    .command('abort')
    .description('stop the running jobs of a database (or one job with --job); waits until they have stopped')
    .argument('[database]', 'the database whose jobs to stop')
    .option('--job <id>', 'stop this job instead', parseJobId)
    .option('--no-wait', 'ask and return at once')
    .action(async (database: string | undefined, opts: { job?: number; wait: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      if ((database === undefined) === (opts.job === undefined)) {
        throw new ArcaError('USAGE', 'name a database, or a job with --job ID (not both)');
      }
      if (database !== undefined) validateName('database', database);
      const asked = requestAbort(ctx.catalog(), opts.job !== undefined ? { id: opts.job } : { database: database! });
      if (asked.length === 0) {
        throw new ArcaError('NOT_FOUND', opts.job !== undefined ? `job ${opts.job} is not running` : `no job of ${database} is running`);
      }
      const ended = opts.wait ? await waitForEnd(ctx, asked.map((j) => j.id), 60_000) : asked;
      ctx.output.result(ended, () =>
        ended
          .map((j) => `job ${j.id} (${j.kind} of ${j.database ?? j.volume ?? '?'}): ${j.status === 'running' ? (opts.wait ? 'still running after 60 s' : 'asked to stop') : j.status}`)
          .join('\n'),
      );
      const stuck = ended.filter((j) => j.status === 'running');
      if (opts.wait && stuck.length > 0) {
        throw new ArcaError('CONFLICT', `job ${stuck.map((j) => j.id).join(', ')} did not stop within 60 s; it will stop at its next checkpoint`);
      }
    });
}
