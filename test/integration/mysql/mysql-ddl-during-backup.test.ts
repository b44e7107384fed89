// The application changes a table's definition while a MySQL/MariaDB backup
// runs. MySQL keeps no lock on a table across a consistent snapshot, so the
// ALTER goes on at once: a column added later is left out (the backup reads
// the columns it listed), and one dropped later fails the backup, saying the
// table changed after the snapshot, with nothing listed.

import { afterAll, describe, expect, it } from 'vitest';
import { listBackups, runBackup, runRestore } from '../../../src/jobs/index.js';
import { makeVolume, reopen } from '../../unit/repository/fixtures.js';
import { createDb, describeDb, dropScratch, scratchName, sql, urlOf } from './mysql-helpers.js';

const TABLES = `
CREATE TABLE big (id int PRIMARY KEY, v text);
INSERT INTO big SELECT seq, REPEAT(MD5(seq), 4) FROM seq_1_to_40000;
CREATE TABLE later (id int PRIMARY KEY, note varchar(20));
INSERT INTO later VALUES (1, 'one'), (2, 'two');
ANALYZE TABLE big, later;
`;

afterAll(dropScratch);

/**
 * A backup on one connection, rate limited so that `big` (about 5 MB, dumped
 * first) takes some five seconds; `ddl` runs on `later` when the first bytes
 * are read, long before `later` is dumped.
 */
async function backupWhile(db: string, ddl: string) {
  const volume = await makeVolume();
  let altered: Promise<unknown> | undefined;
  const backup = runBackup({
    volume,
    database: { name: 'db', url: urlOf(db) },
    level: 0,
    expiresAt: null,
    jobs: 1,
    rateLimit: 1024 * 1024,
    onProgress: (e) => {
      if (e.bytesDone > 0 && !altered) altered = sql(db, ddl);
    },
  });
  const outcome = await backup.then(
    (b) => ({ ok: true as const, id: b.id }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  await altered; // it ran, and did not wait for the backup
  return { volume, outcome };
}

describe('a table altered while a MySQL backup runs', () => {
  it('a column added after the snapshot is left out: the backup restores as of its snapshot', async () => {
    const db = await createDb({ text: TABLES });
    const before = await describeDb(db);
    const { volume, outcome } = await backupWhile(db, 'ALTER TABLE later ADD COLUMN added int');
    expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
    const target = scratchName();
    await runRestore({ volume: await reopen(volume), backupId: (outcome as { id: string }).id, to: urlOf(target), force: false });
    expect(await describeDb(target)).toEqual(before);
  });

  it('a column dropped after the snapshot fails the backup, saying the table changed, and lists nothing', async () => {
    const db = await createDb({ text: TABLES });
    const { volume, outcome } = await backupWhile(db, 'ALTER TABLE later DROP COLUMN note');
    expect(outcome.ok).toBe(false);
    expect((outcome as { err: unknown }).err).toMatchObject({
      code: 'SOURCE',
      message: expect.stringMatching(/^dump of table later failed: the table was changed \(ALTER TABLE, DROP, TRUNCATE…\) after the backup's snapshot/),
    });
    expect(await listBackups(await reopen(volume))).toEqual([]);
  });
});
