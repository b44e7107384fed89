// `arca --server URL …` (the built CLI, token in ARCA_TOKEN, the server's
// self-signed certificate in ARCA_SERVER_CA) against an in-process server:
// the same commands print the same JSON as a local run on the same catalog,
// a backup and a restore run on the server, the guard rails of `arca backup`
// reach the server's job (--no-nice is refused: priority is the server's),
// errors keep their exit status, and Ctrl-C aborts the job on the server as
// it would a local one.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDatabase } from '../../../src/catalog/databases.js';
import { getJob, listJobs, runningJobs } from '../../../src/catalog/jobs.js';
import { createToken } from '../../../src/catalog/tokens.js';
import { bulkTree, makeTree, requireBuiltCli, runArca, spawnArca, type ArcaResult } from '../../helpers/index.js';
import { createDb, dropScratch, urlOf } from '../postgres/pg-helpers.js';
import { startTestServer, type TestServer } from './fixture.js';

let t: TestServer;
let env: Record<string, string | undefined>;
beforeAll(async () => {
  requireBuiltCli();
  t = await startTestServer({ label: 'remote-cli' });
  env = { ARCA_TOKEN: createToken(t.catalog, 'operator', 'cli').token, ARCA_SERVER_CA: t.tls!.certFile, ARCA_PASSWORD: undefined };
});
afterAll(async () => {
  await t?.close();
  await dropScratch();
});

const remote = (args: string[], extra: Record<string, string | undefined> = {}): Promise<ArcaResult> =>
  runArca(['--server', t.server.url, ...args], { home: t.scratch.path('client-home'), env: { ...env, ...extra } });
const local = (args: string[]): Promise<ArcaResult> => runArca(args, { home: t.home });

describe('arca --server', () => {
  it('lists databases, backups and jobs as a local run does', async () => {
    for (const args of [['--json', 'db', 'list'], ['--json', 'backups'], ['--json', 'backups', 'docs'], ['db', 'list'], ['backups', 'docs']]) {
      const [r, l] = [await remote(args), await local(args)];
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout, args.join(' ')).toBe(l.stdout);
    }
    const jobs = await remote(['--json', 'jobs', '--limit', '5']);
    expect(jobs.code, jobs.stderr).toBe(0);
    expect(JSON.parse(jobs.stdout)).toEqual(JSON.parse((await local(['--json', 'jobs', '--limit', '5'])).stdout));
    const progress = await remote(['progress', 'docs']);
    expect(progress.stdout.trim()).toBe('no job running for docs');
  });

  it('runs a backup and a restore on the server', async () => {
    const b = await remote(['backup', 'docs', '--level', '1', '--expire', '2d']);
    expect(b.code, b.stderr).toBe(0);
    const id = b.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const shown = JSON.parse((await local(['--json', 'backups', 'docs'])).stdout) as Array<{ id: string; level: number; expiresAt: string | null }>;
    expect(shown.find((x) => x.id === id)).toMatchObject({ level: 1, expiresAt: expect.any(String) });
    const to = t.scratch.path('restored-remote');
    const r = await remote(['--json', 'restore', id.slice(0, 12), '--to', to]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ backup: { id }, target: to });
    expect(readFileSync(`${to}/readme.txt`, 'utf8')).toBe('hello from the api test\n');
  });

  it('passes --max-duration, --rate-limit and --jobs to the server: over its limit the job ends aborted, exit 1, nothing listed', async () => {
    // As in the guard-rails test of `arca backup --max-duration`: a rate limit
    // makes the ~10 MB backup take ~5 s, so the smallest limit (1s) is always exceeded.
    const dir = t.scratch.path('slow');
    makeTree(dir, bulkTree(9, 10 * 1000 * 1000));
    addDatabase(t.catalog, { name: 'slow', url: `file://${dir}` });
    const listed = async (): Promise<string[]> => {
      const r = await remote(['--json', 'backups', 'slow']);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as Array<{ id: string }>).map((b) => b.id);
    };

    const r = await remote(['backup', 'slow', '--max-duration', '1s', '--rate-limit', '2MB/s', '--jobs', '3']);
    expect(r.code, r.stderr).toBe(1); // as a local `arca backup` over its --max-duration
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^arca: backup job \d+ aborted: backup of slow exceeded --max-duration 1s and was stopped; nothing was listed\n$/);
    const [job] = listJobs(t.catalog, { database: 'slow', limit: 1 });
    expect(job).toMatchObject({ kind: 'backup', status: 'aborted', error: 'backup of slow exceeded --max-duration 1s and was stopped; nothing was listed' });
    expect(await listed()).toEqual([]);

    // The next one works; 10 MB at 4 MB/s takes over 2 s, so --rate-limit reached the server.
    const started = performance.now();
    const ok = await remote(['backup', 'slow', '--rate-limit', '4MB/s', '--max-duration', '10m', '--jobs', '1']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1500);
    expect(await listed()).toEqual([ok.stdout.trim()]);
  });

  it('backup takes the guard rails with the help texts of a local backup; --no-nice is refused in one line', async () => {
    const section = (help: string, from: string, to: string): string => help.slice(help.indexOf(from), help.indexOf(to));
    const remoteHelp = (await remote(['backup', '--help'])).stdout;
    const localHelp = (await local(['backup', '--help'])).stdout;
    expect(section(remoteHelp, '  --max-duration', '  -h, --help')).toBe(section(localHelp, '  --max-duration', '  --no-nice'));
    expect(remoteHelp).toContain('--rate-limit <rate>');
    expect(remoteHelp).not.toContain('--no-nice');

    const jobsBefore = listJobs(t.catalog, { limit: 1 })[0]?.id;
    const noNice = await remote(['backup', 'docs', '--no-nice']);
    expect(noNice.code).toBe(2);
    expect(noNice.stdout).toBe('');
    expect(noNice.stderr).toBe('arca: --no-nice does not apply with --server: the server sets the priority of all its jobs (arca serve --no-nice)\n');
    // Bad values are usage errors before anything is sent, as locally.
    for (const extra of [['--max-duration', 'soon'], ['--rate-limit', 'fast'], ['--jobs', '0'], ['--jobs', '17']]) {
      const bad = await remote(['backup', 'docs', ...extra]);
      expect(bad.code, extra.join(' ')).toBe(2);
      expect(bad.stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
    }
    expect(listJobs(t.catalog, { limit: 1 })[0]?.id).toBe(jobsBefore);
  });

  it('keeps error exit statuses and says what is missing', async () => {
    const missing = await remote(['backups', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^arca: server: no database named nope/);
    expect((await remote(['abort', 'docs'])).code).toBe(1);
    expect((await remote(['backup', 'docs', '--level', '12'])).code).toBe(2);
    const noToken = await remote(['db', 'list'], { ARCA_TOKEN: undefined });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('ARCA_TOKEN');
    const badToken = await remote(['db', 'list'], { ARCA_TOKEN: 'arca_000000000000_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' });
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toContain('invalid or revoked API token');
    const untrusted = await remote(['db', 'list'], { ARCA_SERVER_CA: undefined });
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/cannot reach the server/);
    const unsupported = await remote(['volume', 'list']);
    expect(unsupported.code).toBe(2);
    expect(unsupported.stderr).toContain('does not run against a server');
  });
});

describe('Ctrl-C on a remote job', () => {
  it('asks the server to abort the job, waits for it to stop and exits 130; nothing is listed', async () => {
    // A backup that cannot finish on its own: a writer holds an exclusive lock on the only table.
    const db = await createDb({ text: 'CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 1000);' });
    addDatabase(t.catalog, { name: 'locked', url: urlOf(db) });
    const holder = new pg.Client({ connectionString: urlOf(db) });
    await holder.connect();
    try {
      await holder.query('BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE');
      const run = spawnArca(['--server', t.server.url, 'backup', 'locked'], { home: t.scratch.path('client-home'), env });
      let job = runningJobs(t.catalog, { database: 'locked' })[0];
      for (let i = 0; i < 600 && job === undefined; i++) {
        await new Promise((r) => setTimeout(r, 50));
        job = runningJobs(t.catalog, { database: 'locked' })[0];
      }
      expect(job, 'the backup never started on the server').toBeDefined();
      // Waiting on the lock, not finished: the interrupt must be what ends it.
      await new Promise((r) => setTimeout(r, 500));
      expect(getJob(t.catalog, job!.id)?.status).toBe('running');
      run.child.kill('SIGINT');
      const r = await run.done;
      expect(r.code, r.stderr).toBe(130);
      expect(r.stderr).toContain(`asking the server to abort job ${job!.id}`);
      expect(getJob(t.catalog, job!.id)).toMatchObject({ status: 'aborted', abortRequested: true });
      const listed = await remote(['--json', 'backups', 'locked']);
      expect(listed.code, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout)).toEqual([]);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
  });
});
