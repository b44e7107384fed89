// Bad input for the MySQL/MariaDB source: one clear ArcaError line, no
// password in it, nothing listed; bad restore targets; objects Arca cannot
// back up yet are refused rather than silently skipped.

import { afterAll, describe, expect, it } from 'vitest';
import { listBackups, runBackup, runRestore } from '../../../src/jobs/index.js';
import { makeVolume, reopen } from '../../unit/repository/fixtures.js';
import { conn, createDb, dropScratch, urlOf } from './mysql-helpers.js';

afterAll(dropScratch);

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

describe('mysql bad input', () => {
  it('an unreachable server', async () => {
    const err = await backupFails('mysql://root:s3cret@127.0.0.1:1/db');
    expect(err).toMatchObject({ code: 'SOURCE', message: expect.stringMatching(/cannot reach the MySQL server at 127\.0\.0\.1:1/) });
  });

  it('an unknown database', async () => {
    const err = await backupFails('mysql://root@127.0.0.1:3306/arca_test_no_such_db');
    expect(err).toMatchObject({ code: 'SOURCE', message: expect.stringMatching(/database "arca_test_no_such_db" does not exist/) });
  });

  it('wrong credentials (URL or MYSQL_PWD)', async () => {
    const err = await backupFails('mariadb://arca_no_such_user:s3cret@127.0.0.1:3306/mysql');
    expect(err).toMatchObject({ code: 'SOURCE', message: expect.stringMatching(/authentication failed for user "arca_no_such_user"/) });
    process.env.MYSQL_PWD = 's3cret';
    try {
      const err2 = await backupFails('mysql://arca_no_such_user@127.0.0.1:3306/mysql');
      expect(err2.message).toMatch(/authentication failed .*using password: YES/);
    } finally {
      delete process.env.MYSQL_PWD;
    }
  });

  it('a sequence (not supported yet) fails the backup instead of being skipped', async () => {
    const db = await createDb({ text: 'CREATE TABLE t (x int); CREATE SEQUENCE s;' });
    expect(await backupFails(urlOf(db))).toMatchObject({ code: 'SOURCE', message: expect.stringMatching(/cannot back up yet: s \(sequence\)/) });
  });

  it('a table another session keeps locked fails the backup after ?lock_wait_timeout, saying why', async () => {
    const db = await createDb({ text: 'CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);' });
    const holder = await conn(db);
    try {
      await holder.query('LOCK TABLES t WRITE');
      const err = await backupFails(`${urlOf(db)}?lock_wait_timeout=1`);
      expect(err).toMatchObject({ code: 'SOURCE', message: expect.stringMatching(/another session held a lock .*lock_wait_timeout/) });
    } finally {
      await holder.end();
    }
    await expect(backupFails(`${urlOf(db)}?lock_wait_timeout=soon`)).resolves.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/whole number of seconds/) });
  });

  it('a restore target that is not a mysql URL, or on an unreachable server', async () => {
    const db = await createDb({ text: 'CREATE TABLE t (x int);' });
    const vol = await makeVolume();
    const b = await runBackup({ volume: vol, database: { name: 'x', url: urlOf(db) }, level: 0, expiresAt: null });
    await expect(runRestore({ volume: await reopen(vol), backupId: b.id, to: '/tmp/somewhere', force: false })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(runRestore({ volume: await reopen(vol), backupId: b.id, to: 'mysql://root:s3cret@127.0.0.1:1/x', force: false })).rejects.toMatchObject({
      code: 'SOURCE',
      message: expect.not.stringContaining('s3cret'),
    });
  });
});
