// `arca --server URL …`: the same commands, run by a remote Arca server over
// its REST API instead of on this machine. The token comes from ARCA_TOKEN
// (never a command-line argument); output (tables, --json shapes) and exit
// statuses are those of a local run. Supported: db list, backups, backup,
// restore, progress, abort, jobs. Paths in `restore --to` are the server's.
// `backup` takes the guard rails of a local one (--max-duration, --rate-limit,
// --jobs) but not --no-nice: the server sets its jobs' priority.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ArcaError, errorMessage } from '../../errors.js';
import { formatBytes, formatDuration } from '../../common/format.js';
import { validateName } from '../../common/names.js';
import { JOB_KINDS, type JobKind, type JobRecord } from '../../catalog/jobs.js';
import type { DatabaseRecord } from '../../catalog/databases.js';
import type { BackupInfo } from '../../jobs/types.js';
import type { ProgressView } from '../../jobs/progress-view.js';
import { errorReport, exitCodeFor, EXIT_OK } from '../exit.js';
import { listenForStop } from '../stop-signals.js';
import type { Io, StopSignal } from '../io.js';
import { addGuardRailOptions, parseExpire, parseLevel, type ExpireOption, type MaxDurationOption } from '../options.js';
import { backupsTable, databasesTable, Output, shortId, sortBackups } from '../output.js';
import { ProgressLine } from '../progress.js';
import { jobsTable, progressText } from '../commands/jobs.js';
import { ApiClient } from './api-client.js';

/** True when the command line asks for a remote server. */
export function wantsRemote(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--server' || a.startsWith('--server='));
}

interface RemoteGlobals {
  server: string;
  serverCa?: string;
  json?: boolean;
  debug?: boolean;
}

type DbView = DatabaseRecord & { state: string; maintenance: { job: number; kind: string; since: string } | null };

const enc = encodeURIComponent;

function expireText(e: ExpireOption): string {
  return e === 'never' ? 'never' : `${Math.max(1, Math.round(e / 60_000))}m`;
}

function positiveInt(what: string) {
  return (v: string): number => {
    if (!/^[1-9][0-9]{0,15}$/.test(v)) throw new InvalidArgumentError(`${what} must be a positive whole number`);
    return Number(v);
  };
}

interface RemoteBackupOptions {
  volume?: string;
  level: number;
  expire?: ExpireOption;
  maxDuration?: MaxDurationOption;
  jobs: number;
  /** As typed (checked, trimmed): the server parses it again. */
  rateLimit?: string;
  nice: boolean;
}

class Remote {
  readonly output: Output;
  private client: ApiClient | null = null;
  /** Set when SIGINT/SIGTERM asked the server to abort the job this run follows. */
  interruptedBy: StopSignal | null = null;

  constructor(
    readonly io: Io,
    private readonly program: Command,
  ) {
    this.output = new Output(io.stdout, this.globals.json === true);
  }

  get globals(): RemoteGlobals {
    return this.program.opts<RemoteGlobals>();
  }

  api(): ApiClient {
    if (this.client) return this.client;
    const token = this.io.env['ARCA_TOKEN'];
    if (!token) throw new ArcaError('USAGE', '--server needs an API token in ARCA_TOKEN (make one on the server with: arca token create --user NAME)');
    const caFile = this.globals.serverCa ?? (this.io.env['ARCA_SERVER_CA'] || undefined);
    let ca: string | undefined;
    if (caFile !== undefined) {
      try {
        ca = readFileSync(caFile, 'utf8');
      } catch (err) {
        throw new ArcaError('USAGE', `cannot read the server certificate ${caFile}: ${errorMessage(err)}`);
      }
    }
    this.client = new ApiClient({ server: this.globals.server, token, ...(ca !== undefined ? { ca } : {}) });
    return this.client;
  }

  /**
   * Follows a job to its end with a progress line on a terminal; throws its
   * error when it did not succeed. Ctrl-C (or SIGTERM) asks the server to
   * abort the job and waits for it to stop, as a local run does; a second
   * one stops waiting at once (the job still stops on the server).
   */
  async finish(id: number): Promise<JobRecord> {
    const line = new ProgressLine({ stream: this.io.stderr, enabled: !this.output.json && this.io.stderr.isTTY === true });
    const unlisten = listenForStop(this.io, this, () => {
      line.clear();
      this.io.stderr.write(`arca: asking the server to abort job ${id}; waiting for it to stop (press Ctrl-C again to stop waiting)\n`);
      this.api()
        .request('PUT', `/api/v1/jobs/${id}/abort`)
        .catch((err: unknown) => this.io.stderr.write(`arca: could not ask the server to abort job ${id}: ${errorMessage(err)}\n`));
    });
    let job: JobRecord;
    try {
      job = await this.api().followJob(id, (v) => line.update({ phase: (v.phase ?? 'scan') as 'backup', bytesDone: v.bytesDone, bytesTotal: v.bytesTotal, itemsDone: 0, itemsTotal: null }));
    } finally {
      line.clear();
      unlisten();
    }
    if (job.status !== 'succeeded') throw new ArcaError(job.status === 'aborted' ? 'ABORTED' : 'INTERNAL', `${job.kind} job ${job.id} ${job.status}: ${job.error ?? 'no reason recorded'}`);
    return job;
  }
}

function register(program: Command, remote: () => Remote): void {
  const db = program.command('db').description('the databases the server backs up');
  db.command('list')
    .description('list the registered databases')
    .action(async () => {
      const r = remote();
      const dbs = await r.api().request<DbView[]>('GET', '/api/v1/databases');
      r.output.result(dbs, () => (dbs.length === 0 ? 'no databases registered; add one with: arca db add NAME URL' : databasesTable(dbs)));
    });

  program
    .command('backups')
    .description('list completed backups, of one database or of all')
    .argument('[name]', 'only the backups of this database')
    .option('--volume <volume>', 'only this volume')
    .action(async (name: string | undefined, opts: { volume?: string }) => {
      const r = remote();
      if (name !== undefined) validateName('database', name);
      const names = name !== undefined ? [name] : (await r.api().request<DbView[]>('GET', '/api/v1/databases')).map((d) => d.name);
      const backups: BackupInfo[] = [];
      for (const n of names) backups.push(...(await r.api().request<BackupInfo[]>('GET', `/api/v1/databases/${enc(n)}/backups`)));
      const shown = sortBackups(opts.volume === undefined ? backups : backups.filter((b) => b.volume === opts.volume));
      const volumes = new Set(shown.map((b) => b.volume));
      r.output.result(shown, () => (shown.length === 0 ? `no backups${name === undefined ? '' : ` of ${name}`}` : backupsTable(shown, { showVolume: volumes.size > 1 })));
    });

  const backup = program
    .command('backup')
    .description('back up a registered database on the server; prints the backup id')
    .argument('<name>', 'the database')
    .option('--volume <volume>', 'the volume (may be left out when only one is registered)')
    .option('--level <n>', '0 = full, 1-9 = incremental', parseLevel, 0)
    .option('--expire <duration>', 'when the backup may be pruned: "1w 3d", "12h", "30m" or never', parseExpire);
  addGuardRailOptions(backup, { rate: 'text', jobsDefault: 2, nice: false })
    // Accepted only to be refused with a reason (commander would say "unknown option").
    .addOption(new Option('--no-nice').hideHelp())
    .action(async (name: string, opts: RemoteBackupOptions, cmd: Command) => {
      if (!opts.nice) {
        throw new ArcaError('USAGE', '--no-nice does not apply with --server: the server sets the priority of all its jobs (arca serve --no-nice)');
      }
      const r = remote();
      validateName('database', name);
      const started = performance.now();
      const body = {
        level: opts.level,
        ...(opts.volume !== undefined ? { volume: opts.volume } : {}),
        ...(opts.expire !== undefined ? { expire: expireText(opts.expire) } : {}),
        ...(opts.maxDuration !== undefined ? { maxDuration: opts.maxDuration.label } : {}),
        ...(opts.rateLimit !== undefined ? { rateLimit: opts.rateLimit } : {}),
        // Only when given: the server's default is the same, and older servers refuse fields they do not know.
        ...(cmd.getOptionValueSource('jobs') === 'cli' ? { jobs: opts.jobs } : {}),
      };
      const job = await r.api().request<JobRecord>('PUT', `/api/v1/databases/${enc(name)}/backups/start`, body);
      const ended = await r.finish(job.id);
      const backup = await r.api().request<BackupInfo>('GET', `/api/v1/backups/${enc(String(ended.figures['backup']))}`);
      r.output.result(backup, () => backup.id);
      if (!r.output.json && r.io.stderr.isTTY) {
        r.io.stderr.write(`backup ${shortId(backup.id)} of ${backup.database} (level ${backup.level}) on ${backup.volume}: read ${formatBytes(backup.bytesRead)}, added ${formatBytes(backup.bytesAdded)} in ${formatDuration(performance.now() - started)}\n`);
      }
    });

  program
    .command('restore')
    .description('restore a backup on the server')
    .argument('<id>', 'the backup id or any unique prefix of it')
    .requiredOption('--to <target>', "a registered database's name, a database URL or an absolute path on the server")
    .option('--force', 'restore into a non-empty target, replacing what is there')
    .option('--volume <volume>', 'the volume holding the backup (default: search all)')
    .action(async (id: string, opts: { to: string; force?: boolean; volume?: string }) => {
      const r = remote();
      const started = performance.now();
      const backup = await r.api().request<BackupInfo>('GET', `/api/v1/backups/${enc(id)}`);
      const body = { backupId: backup.id, target: opts.to, ...(opts.force ? { force: true } : {}), ...(opts.volume !== undefined ? { volume: opts.volume } : {}) };
      const job = await r.api().request<JobRecord>('PUT', `/api/v1/databases/${enc(backup.database)}/backups/restore`, body);
      const ended = await r.finish(job.id);
      const result = { backup, target: String(ended.figures['target'] ?? opts.to), files: Number(ended.figures['files'] ?? 0), bytesWritten: Number(ended.figures['bytesWritten'] ?? 0) };
      r.output.result(result, () => `restored backup ${shortId(backup.id)} of ${backup.database} to ${result.target}: ${result.files} files, ${formatBytes(result.bytesWritten)} in ${formatDuration(performance.now() - started)}`);
    });

  program
    .command('progress')
    .description('the progress of running jobs on the server (of one database, or all)')
    .argument('[database]', 'only this database')
    .action(async (database: string | undefined) => {
      const r = remote();
      if (database !== undefined) validateName('database', database);
      const names = database !== undefined ? [database] : (await r.api().request<DbView[]>('GET', '/api/v1/databases')).map((d) => d.name);
      const views: ProgressView[] = [];
      for (const n of names) views.push(...(await r.api().request<ProgressView[]>('GET', `/api/v1/databases/${enc(n)}/backups/progress`)));
      r.output.result(views, () => (views.length === 0 ? `no job running${database !== undefined ? ` for ${database}` : ''}` : progressText(views)));
    });

  program
    .command('abort')
    .description('stop running backups of a database (or one job with --job) on the server; waits until they have stopped')
    .argument('[database]', 'the database whose backups to stop')
    .option('--job <id>', 'stop this job instead', positiveInt('a job id'))
    .option('--no-wait', 'ask and return at once')
    .action(async (database: string | undefined, opts: { job?: number; wait: boolean }) => {
      const r = remote();
      if ((database === undefined) === (opts.job === undefined)) throw new ArcaError('USAGE', 'name a database, or a job with --job ID (not both)');
      const path = opts.job !== undefined ? `/api/v1/jobs/${opts.job}/abort` : `/api/v1/databases/${enc(validateName('database', database!))}/backups/abort`;
      const asked = (await r.api().request<{ jobs: ProgressView[] }>('PUT', path)).jobs;
      let ended: JobRecord[] = [];
      const deadline = Date.now() + 60_000;
      for (;;) {
        ended = await Promise.all(asked.map((j) => r.api().request<JobRecord>('GET', `/api/v1/jobs/${j.job}`)));
        if (!opts.wait || ended.every((j) => j.status !== 'running') || Date.now() >= deadline) break;
        await sleep(250);
      }
      r.output.result(ended, () =>
        ended.map((j) => `job ${j.id} (${j.kind} of ${j.database ?? j.volume ?? '?'}): ${j.status === 'running' ? (opts.wait ? 'still running after 60 s' : 'asked to stop') : j.status}`).join('\n'),
      );
      const stuck = ended.filter((j) => j.status === 'running');
      if (opts.wait && stuck.length > 0) throw new ArcaError('CONFLICT', `job ${stuck.map((j) => j.id).join(', ')} did not stop within 60 s; it will stop at its next checkpoint`);
    });

  program
    .command('jobs')
    .description('the job history on the server, newest first')
    .option('--db <database>', 'only jobs of this database')
    .option('--volume <volume>', 'only jobs on this volume')
    .option('--kind <kind>', `only jobs of this kind (${JOB_KINDS.join(', ')})`, (v: string): JobKind => {
      if (!(JOB_KINDS as readonly string[]).includes(v)) throw new InvalidArgumentError(`the kind must be one of ${JOB_KINDS.join(', ')}`);
      return v as JobKind;
    })
    .option('--limit <n>', 'at most this many (default 50)', positiveInt('the limit'), 50)
    .action(async (opts: { db?: string; volume?: string; kind?: JobKind; limit: number }) => {
      const r = remote();
      const q = new URLSearchParams({ limit: String(Math.min(opts.limit, 1000)) });
      if (opts.db !== undefined) q.set('db', validateName('database', opts.db));
      if (opts.volume !== undefined) q.set('volume', validateName('volume', opts.volume));
      if (opts.kind !== undefined) q.set('kind', opts.kind);
      const jobs = await r.api().request<JobRecord[]>('GET', `/api/v1/jobs?${q.toString()}`);
      r.output.result(jobs, () => (jobs.length === 0 ? 'no jobs recorded yet' : jobsTable(jobs)));
    });
}

/** Runs one `arca --server URL …` invocation and returns its exit status. */
export async function runRemoteCli(argv: readonly string[], io: Io): Promise<number> {
  const program = new Command('arca');
  program
    .description('Drive a remote Arca server (--server URL, token in ARCA_TOKEN)')
    .addOption(new Option('--server <url>', 'the Arca server, e.g. https://arca.example:8443').makeOptionMandatory())
    .addOption(new Option('--server-ca <file>', "a PEM certificate to trust for the server (else $ARCA_SERVER_CA or the system's CAs)"))
    .option('--json', 'print JSON on stdout')
    .option('--debug', 'show stack traces of errors')
    .exitOverride()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s), outputError: () => undefined });
  const made: { remote: Remote | null } = { remote: null };
  register(program, () => (made.remote ??= new Remote(io, program)));
  program.on('command:*', (operands: string[]) => {
    throw new ArcaError('USAGE', `arca ${operands[0] ?? ''} does not run against a server; with --server: db list, backups, backup, restore, progress, abort, jobs`);
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    for (const line of errorReport(err, { debug: argv.includes('--debug') })) io.stderr.write(`${line}\n`);
    return exitCodeFor(err, made.remote?.interruptedBy ?? null);
  }
}
