// End to end with PostgreSQL: `arca backup --jobs N` opens N data connections
// in the snapshot, and the dump tool runs at the backup's low priority (nice
// 10, idle I/O class where ionice exists) with no password on its command
// line. A wrapper pg_dump (ARCA_PG_BINDIR) records what it sees, then runs
// the real one. --max-duration ends a backup that waits for a table lock the
// application holds, without waiting for the lock.

import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arcaOk, describeRun, freshHome, makeScratch, requireBuiltCli, runArca, type Home, type Scratch } from '../../helpers/index.js';
import { createDb, dropScratch, sql, until, urlOf } from '../postgres/pg-helpers.js';

const hasIonice = (() => {
  try {
    execFileSync('ionice', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('postgres backup guard rails', () => {
  let scratch: Scratch;
  let home: Home;
  let db: string;
  let bindir: string;

  beforeAll(async () => {
    requireBuiltCli();
    scratch = makeScratch('pg-guard-rails');
    db = await createDb({ text: 'CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY); INSERT INTO a VALUES (1); INSERT INTO b VALUES (2);' });
    bindir = scratch.path();
    const real = execFileSync('sh', ['-c', 'command -v pg_dump'], { encoding: 'utf8' }).trim();
    const count = `SELECT count(*) FROM pg_stat_activity WHERE datname = '${db}' AND pid <> pg_backend_pid()`;
    writeFileSync(
      scratch.path('pg_dump'),
      [
        '#!/bin/sh',
        `if [ "$1" = "--version" ]; then exec ${real} --version; fi`,
        `nice > ${scratch.path('nice')}`,
        `ionice -p $$ > ${scratch.path('ionice')} 2>/dev/null`,
        `echo "$@" > ${scratch.path('argv')}`,
        `psql -X -At -d ${urlOf(db)} -c "${count}" > ${scratch.path('connections')}`,
        `exec ${real} "$@"`,
        '',
      ].join('\n'),
    );
    chmodSync(scratch.path('pg_dump'), 0o755);
    home = await freshHome(scratch.root);
    await arcaOk(['db', 'add', 'pg', urlOf(db).replace('postgres@', 'postgres:s3cret@')], home.opts);
  });

  afterAll(async () => {
    await dropScratch();
    scratch?.cleanup();
  });

  const env = () => ({ ...home.opts, env: { ARCA_PG_BINDIR: bindir } });

  /** Sessions on the test database: a backup's server processes outlive the CLI for a moment after it exits. */
  const sessions = async () => Number((await sql('postgres', 'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [db])).rows[0].n);

  it('--jobs 3 opens three data connections besides the coordinator', async () => {
    expect(await until(async () => (await sessions()) === 0)).toBe(true);
    await arcaOk(['backup', 'pg', '--jobs', '3'], env());
    expect(Number(readFileSync(scratch.path('connections'), 'utf8').trim())).toBe(4);
    // Counted by the next backup's pg_dump: the first backup's sessions must be gone first.
    expect(await until(async () => (await sessions()) === 0)).toBe(true);
    await arcaOk(['backup', 'pg', '--jobs', '1'], env());
    expect(Number(readFileSync(scratch.path('connections'), 'utf8').trim())).toBe(2);
  });

  it('pg_dump runs at nice 10 (idle I/O where ionice exists), without the password in argv', async () => {
    await arcaOk(['backup', 'pg'], env());
    expect(readFileSync(scratch.path('nice'), 'utf8').trim()).toBe('10');
    if (hasIonice) expect(readFileSync(scratch.path('ionice'), 'utf8')).toMatch(/idle/);
    expect(readFileSync(scratch.path('argv'), 'utf8')).not.toContain('s3cret');
    await arcaOk(['backup', 'pg', '--no-nice'], env());
    expect(readFileSync(scratch.path('nice'), 'utf8').trim()).toBe(String(execFileSync('nice', { encoding: 'utf8' }).trim()));
  });

  it('--max-duration ends a backup stuck behind an application lock: exit 1 while the lock is still held, no session left', async () => {
    const listed = async () => (JSON.parse((await arcaOk(['backups', 'pg', '--json'], env())).stdout) as unknown[]).length;
    const before = await listed();
    const app = new pg.Client({ connectionString: urlOf(db) });
    await app.connect();
    try {
      await app.query('BEGIN');
      await app.query('LOCK TABLE b IN ACCESS EXCLUSIVE MODE');
      // The lock is held until this test releases it: a backup that waited for it would hang here.
      const r = await runArca(['backup', 'pg', '--max-duration', '2s'], env());
      expect(r.code, describeRun(r)).toBe(1);
      expect(r.stderr).toMatch(/exceeded --max-duration 2s/);
      const left = await sql('postgres', "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'arca'", [db]);
      expect(left.rows[0].n).toBe(0);
      expect((await app.query('SELECT count(*)::int AS n FROM b')).rows[0].n).toBe(1); // the application's transaction goes on
    } finally {
      await app.query('ROLLBACK').catch(() => undefined);
      await app.end();
    }
    expect(await listed()).toBe(before);
  });
});

describe('postgres backup --rate-limit', () => {
  let scratch: Scratch;
  let home: Home;

  beforeAll(async () => {
    requireBuiltCli();
    scratch = makeScratch('pg-rate-limit');
    // about 3 MB of table data
    const db = await createDb({ text: "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 30000) g;" });
    home = await freshHome(scratch.root);
    await arcaOk(['db', 'add', 'pg', urlOf(db)], home.opts);
  });

  afterAll(async () => {
    await dropScratch();
    scratch?.cleanup();
  });

  it('a database source is read no faster than the limit (the limiter can only slow it down)', async () => {
    const started = Date.now();
    const out = await arcaOk(['backup', 'pg', '--rate-limit', '1MB/s', '--json'], home.opts);
    const elapsed = Date.now() - started;
    const backup = JSON.parse(out.stdout) as { bytesRead: number };
    expect(backup.bytesRead).toBeGreaterThan(2_500_000);
    expect(elapsed).toBeGreaterThanOrEqual(((backup.bytesRead - 1_000_000) / 1_000_000) * 1000);
  });

});
