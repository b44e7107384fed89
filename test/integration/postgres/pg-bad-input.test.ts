// Bad input for the PostgreSQL source: one clear ArcaError, no password in
// it, nothing listed; client tools that are missing or too old; and the
// password never on a child's command line.

import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { listBackups, runBackup, runRestore } from '../../../src/jobs/index.js';
import { makeVolume, reopen, tempDir } from '../../unit/repository/fixtures.js';
import { createDb, dropScratch, scratchName, urlOf } from './pg-helpers.js';

afterAll(dropScratch);
afterEach(() => {
  delete process.env.ARCA_PG_BINDIR;
});

async function backupFails(url: string) {
  const vol = await makeVolume();
  const err = await runBackup({ volume: vol, database: { name: 'x', url }, level: 0, expiresAt: null }).then(
    () => undefined,
    (e: unknown) => e as { code: string; message: string },
  );
  expect(await listBackups(await reopen(vol))).toEqual([]);
  expect(err).toBeDefined();
  expect(err!.message).not.toContain('s3cret');
  expect(err!.message.split('\n')).toHaveLength(1);
  return err!;
}

function fakeTool(name: string, body: string): string {
  const dir = tempDir('arca-pgbin-');
  writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
  chmodSync(join(dir, name), 0o755);
  return dir;
}

describe('postgres bad input', () => {
  it('an unreachable server', async () => {
    const err = await backupFails('postgres://postgres:s3cret@127.0.0.1:1/db');
    expect(err).toMatchObject({ code: 'SOURCE', message: expect.stringMatching(/cannot reach the PostgreSQL server at 127\.0\.0\.1:1/) });
  });

  it('an unknown database', async () => {
    const err = await backupFails('postgres://postgres:s3cret@127.0.0.1:5432/arca_test_no_such_db');
    expect(err).toMatchObject({ code: 'SOURCE', message: expect.stringMatching(/database "arca_test_no_such_db" does not exist/) });
  });

  it('an unknown user', async () => {
    const err = await backupFails('postgres://arca_no_such_user:s3cret@127.0.0.1:5432/postgres');
    expect(err).toMatchObject({ code: 'SOURCE', message: expect.stringMatching(/authentication failed for user "arca_no_such_user"/) });
  });

  it('a missing or too old pg_dump', async () => {
    const db = await createDb();
    process.env.ARCA_PG_BINDIR = '/nonexistent/bin';
    expect(await backupFails(urlOf(db))).toMatchObject({ code: 'SOURCE', message: expect.stringMatching(/pg_dump was not found/) });
    process.env.ARCA_PG_BINDIR = fakeTool('pg_dump', 'echo "pg_dump (PostgreSQL) 9.6.24"');
    expect(await backupFails(urlOf(db))).toMatchObject({ code: 'SOURCE', message: expect.stringMatching(/pg_dump 9 is too old for PostgreSQL server 15/) });
  });

  it('the password reaches pg_dump and pg_restore only through their environment', async () => {
    const db = await createDb({ text: 'CREATE TABLE t (x int); INSERT INTO t VALUES (1);' });
    const log = join(tempDir(), 'log');
    const wrap = (tool: string) => `echo "${tool} args: $*" >> ${log}; echo "${tool} env: $PGPASSWORD" >> ${log}; exec /usr/bin/${tool} "$@"`;
    const dir = fakeTool('pg_dump', wrap('pg_dump'));
    writeFileSync(join(dir, 'pg_restore'), `#!/bin/sh\n${wrap('pg_restore')}\n`, { mode: 0o755 });
    process.env.ARCA_PG_BINDIR = dir;
    const vol = await makeVolume();
    const b = await runBackup({ volume: vol, database: { name: 'x', url: `postgres://postgres:s3cret@127.0.0.1:5432/${db}` }, level: 0, expiresAt: null });
    await runRestore({ volume: await reopen(vol), backupId: b.id, to: `postgres://postgres:s3cret@127.0.0.1:5432/${scratchName()}`, force: false });
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines.filter((l) => l.includes(' args: ') && !l.includes('--version')).length).toBeGreaterThanOrEqual(3); // dump, pre-data, post-data
    for (const l of lines.filter((x) => x.includes(' args: '))) expect(l).not.toContain('s3cret');
    expect(lines.filter((l) => l.includes(' env: s3cret')).length).toBeGreaterThanOrEqual(3);
  });

  it('a restore target that is not a postgres URL, or on an unreachable server', async () => {
    const db = await createDb({ text: 'CREATE TABLE t (x int);' });
    const vol = await makeVolume();
    const b = await runBackup({ volume: vol, database: { name: 'x', url: urlOf(db) }, level: 0, expiresAt: null });
    await expect(runRestore({ volume: await reopen(vol), backupId: b.id, to: '/tmp/somewhere', force: false })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(runRestore({ volume: await reopen(vol), backupId: b.id, to: 'postgres://postgres:s3cret@127.0.0.1:1/x', force: false })).rejects.toMatchObject({
      code: 'SOURCE',
      message: expect.not.stringContaining('s3cret'),
    });
  });
});
