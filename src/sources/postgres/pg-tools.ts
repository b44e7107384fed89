// The PostgreSQL client tools Arca runs as children (pg_dump, pg_restore):
// finding them (PATH, or the directory in ARCA_PG_BINDIR), checking that
// they are new enough for the server, and running them with the password
// only in their environment (at low I/O priority during a backup, see
// common/priority.ts). Their stderr becomes the error message.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ArcaError, errorMessage } from '../../errors.js';
import { lowPriorityCommand } from '../../common/priority.js';
import { childConnection, redactUrl } from './pg-url.js';

export type PgTool = 'pg_dump' | 'pg_restore';

export function toolPath(tool: PgTool): string {
  const dir = process.env.ARCA_PG_BINDIR;
  return dir ? join(dir, tool) : tool;
}

/** `--version` answers of the last minute, by tool path: a backup asks before it opens the volume (prefetchToolVersion). */
const versionAnswers = new Map<string, { at: number; answer: Promise<string> }>();
const VERSION_ANSWER_MS = 60_000;

function versionOutput(path: string): Promise<string> {
  const cached = versionAnswers.get(path);
  if (cached && Date.now() - cached.at < VERSION_ANSWER_MS) return cached.answer;
  const answer = new Promise<string>((resolve, reject) => {
    execFile(path, ['--version'], { timeout: 15_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
  answer.catch(() => undefined); // reported by checkTool
  versionAnswers.set(path, { at: Date.now(), answer });
  return answer;
}

/** Starts asking `tool --version` (~50 ms: a process), for a checkTool soon after. Never throws. */
export function prefetchToolVersion(tool: PgTool): void {
  void versionOutput(toolPath(tool));
}

/** The tool's major version; a clear SOURCE error when missing or older than `serverMajor`. */
export async function checkTool(tool: PgTool, serverMajor: number): Promise<number> {
  const path = toolPath(tool);
  const out = await versionOutput(path).catch((err: unknown) => {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ArcaError(
      'SOURCE',
      missing
        ? `${tool} was not found (${path}); install the PostgreSQL ${serverMajor} client tools or set ARCA_PG_BINDIR`
        : `${tool} --version failed: ${errorMessage(err)}`,
      { cause: err },
    );
  });
  const major = Number(/(\d+)(?:\.\d+)?/.exec(out)?.[1] ?? NaN);
  if (!Number.isFinite(major)) throw new ArcaError('SOURCE', `cannot tell the version of ${path} from "${out.trim()}"`);
  if (major < serverMajor) {
    throw new ArcaError('SOURCE', `${tool} ${major} is too old for PostgreSQL server ${serverMajor}; install the PostgreSQL ${serverMajor} client tools or set ARCA_PG_BINDIR`);
  }
  return major;
}

export interface ToolRun {
  child: ChildProcess;
  /** Resolves when the tool exited 0; rejects with its stderr otherwise. */
  done: Promise<void>;
}

function start(tool: PgTool, url: string, args: string[], step: string): ToolRun {
  const { dbnameArg, env } = childConnection(url);
  // Under `ionice -c3` when the backup runs at low priority (nice is inherited); the password stays in env.
  const cmd = lowPriorityCommand(toolPath(tool), [...args, dbnameArg]);
  const child = spawn(cmd.command, cmd.args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    if (stderr.length < 8192) stderr += s;
  });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => reject(new ArcaError('SOURCE', `${step}: cannot run ${tool}: ${errorMessage(err)}`, { cause: err })));
    child.on('close', (code, sig) => {
      if (code === 0) return resolve();
      const why = stderr.trim() ? redactUrl(stderr.trim().split('\n').slice(0, 6).join('; ')) : sig ? `killed by ${sig}` : `exit code ${code}`;
      reject(new ArcaError('SOURCE', `${step}: ${tool} failed: ${why}`));
    });
  });
  done.catch(() => undefined); // observed by the caller
  return { child, done };
}

/**
 * How long pg_dump may wait for a table lock. The backup's coordinator holds
 * every table's ACCESS SHARE lock already, so pg_dump waits only behind
 * another session that asked for an exclusive lock since (ALTER TABLE,
 * TRUNCATE, VACUUM FULL…): that session waits for the backup and pg_dump for
 * it, for ever, and the application's queries on the table behind both.
 */
export const SCHEMA_LOCK_WAIT_SECONDS = 10;

/** pg_dump of the schema (custom format, uncompressed: the volume compresses) in `snapshot`. */
export function dumpSchema(url: string, snapshot: string): ToolRun {
  const args = ['--schema-only', `--snapshot=${snapshot}`, '--format=custom', '--compress=0', '--no-sync', `--lock-wait-timeout=${SCHEMA_LOCK_WAIT_SECONDS}s`];
  const run = start('pg_dump', url, args, 'schema dump');
  run.child.stdin!.end();
  const done = run.done.catch((err: unknown) => {
    const table = /statement timeout[\s\S]*?LOCK TABLE (\S+)/.exec(errorMessage(err))?.[1];
    if (table === undefined) throw err;
    throw new ArcaError(
      'SOURCE',
      `the schema dump (pg_dump) could not lock table ${table} within ${SCHEMA_LOCK_WAIT_SECONDS} s: another session waits for an exclusive lock on it ` +
        '(ALTER TABLE, TRUNCATE, VACUUM FULL…) behind the backup, and the backup stopped so that it can go on; run the backup again once it is done',
      { cause: err },
    );
  });
  done.catch(() => undefined); // observed by the caller
  return { child: run.child, done };
}

/**
 * pg_restore of one section of the custom-format dump in `file` (a private
 * temp file, so post-data can build indexes on `jobs` connections).
 * `keepOwners` false adds --no-owner --no-privileges.
 */
export async function restoreSection(
  url: string,
  section: 'pre-data' | 'post-data',
  file: string,
  opts: { keepOwners: boolean; jobs: number; signal?: AbortSignal },
): Promise<void> {
  const args = [`--section=${section}`, '--exit-on-error', '--format=custom', `--jobs=${opts.jobs}`];
  if (!opts.keepOwners) args.push('--no-owner', '--no-privileges');
  const run = start('pg_restore', url, [...args, file], `restore of the schema (${section})`);
  run.child.stdin!.end();
  run.child.stdout!.resume();
  const kill = () => run.child.kill('SIGTERM');
  opts.signal?.addEventListener('abort', kill, { once: true });
  try {
    await run.done;
  } finally {
    opts.signal?.removeEventListener('abort', kill);
  }
  if (opts.signal?.aborted) throw new ArcaError('ABORTED', 'restore aborted');
}
