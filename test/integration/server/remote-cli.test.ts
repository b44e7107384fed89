// `arca --server URL …` (the built CLI, token in ARCA_TOKEN, the server's
// self-signed certificate in ARCA_SERVER_CA) against an in-process server:
// the same commands print the same JSON as a local run on the same catalog,
// a backup and a restore run on the server, errors keep their exit status,
// and Ctrl-C aborts the job on the server as it would a local one.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDatabase } from '../../../src/catalog/databases.js';
import { getJob, runningJobs } from '../../../src/catalog/jobs.js';
import { createToken } from '../../../src/catalog/tokens.js';
import { requireBuiltCli, runArca, spawnArca, type ArcaResult } from '../../helpers/index.js';
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
