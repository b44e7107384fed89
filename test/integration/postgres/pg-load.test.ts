// Consistency under load: a writer keeps moving money between accounts (and
// logs each transfer in another table) while a backup with 2 data
// connections runs; the restore keeps every invariant. Plus an abort in the
// middle of a backup, which must leave no session and no child behind.

import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { listBackups, runBackup, runRestore } from '../../../src/jobs/index.js';
import { makeVolume, reopen } from '../../unit/repository/fixtures.js';
import { createDb, dropScratch, leftoverRestoreDbs, scratchName, sql, urlOf } from './pg-helpers.js';

const BANK = `
CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO accounts SELECT i, 1000 FROM generate_series(1, 5000) i;
CREATE TABLE transfers (id bigserial PRIMARY KEY, src int NOT NULL REFERENCES accounts, dst int NOT NULL REFERENCES accounts, amount bigint NOT NULL);
CREATE TABLE filler (id int PRIMARY KEY, pad text);
INSERT INTO filler SELECT i, repeat(md5(i::text), 8) FROM generate_series(1, 150000) i;
`;

const INVARIANTS = `
SELECT (SELECT sum(balance) FROM accounts)::text AS total,
       (SELECT count(*) FROM accounts a
         WHERE a.balance <> 1000 + coalesce((SELECT sum(amount) FROM transfers WHERE dst = a.id), 0)
                                - coalesce((SELECT sum(amount) FROM transfers WHERE src = a.id), 0))::int AS broken,
       (SELECT count(*) FROM transfers)::int AS transfers`;

afterAll(dropScratch);

describe('postgres under load', () => {
  it('a backup taken while transfers commit restores with the sum and every per-account balance intact', async () => {
    const db = await createDb({ text: BANK });
    const writer = new pg.Client({ connectionString: urlOf(db) });
    await writer.connect();
    let running = true;
    let commits = 0;
    const writing = (async () => {
      while (running) {
        const src = 1 + Math.floor(Math.random() * 5000);
        const dst = 1 + Math.floor(Math.random() * 5000);
        const amount = 1 + Math.floor(Math.random() * 50);
        await writer.query('BEGIN');
        await writer.query('UPDATE accounts SET balance = balance - $2 WHERE id = $1', [src, amount]);
        await writer.query('INSERT INTO transfers (src, dst, amount) VALUES ($1, $2, $3)', [src, dst, amount]);
        await writer.query('UPDATE accounts SET balance = balance + $2 WHERE id = $1', [dst, amount]);
        await writer.query('COMMIT');
        commits++;
      }
    })();
    try {
      while (commits < 20) await new Promise((r) => setTimeout(r, 10));
      const before = commits;
      const vol = await makeVolume();
      const b = await runBackup({ volume: vol, database: { name: 'bank', url: urlOf(db) }, level: 0, expiresAt: null });
      const during = commits - before;
      running = false;
      await writing;
      expect(during).toBeGreaterThan(5); // the writer really wrote while the backup ran
      const target = scratchName();
      await runRestore({ volume: await reopen(vol), backupId: b.id, to: urlOf(target), force: false });
      const got = (await sql(target, INVARIANTS)).rows[0] as { total: string; broken: number; transfers: number };
      expect(got.total).toBe(String(5000 * 1000));
      expect(got.broken).toBe(0);
      expect(got.transfers).toBeGreaterThan(0);
      expect(got.transfers).toBeLessThan(commits);
    } finally {
      running = false;
      await writing.catch(() => undefined);
      await writer.end();
    }
  });

  it('an abort during the backup: ABORTED, nothing listed, no session or pg_dump left', async () => {
    const db = await createDb({ text: BANK });
    const vol = await makeVolume();
    const ac = new AbortController();
    // Aborted when the first bytes are read (not after a fixed delay, which a fast backup may outrun).
    const onProgress = (e: { bytesDone: number }) => {
      if (e.bytesDone > 0) ac.abort();
    };
    const p = runBackup({ volume: vol, database: { name: 'bank', url: urlOf(db) }, level: 0, expiresAt: null, signal: ac.signal, onProgress });
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
    expect(await listBackups(await reopen(vol))).toEqual([]);
    let left = 1;
    for (let i = 0; i < 50 && left > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = (await sql('postgres', "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name IN ('arca', 'pg_dump')", [db])).rows[0].n as number;
    }
    expect(left).toBe(0);
    expect(await leftoverRestoreDbs()).toEqual([]);
  });

  it('an abort during a restore: ABORTED, the target not created, no scratch database left', async () => {
    const db = await createDb({ text: BANK });
    const vol = await makeVolume();
    const b = await runBackup({ volume: vol, database: { name: 'bank', url: urlOf(db) }, level: 0, expiresAt: null });
    const target = scratchName();
    const ac = new AbortController();
    // Aborted when the first bytes load (not after a fixed delay, which a fast restore outran).
    const onProgress = (e: { bytesDone: number }) => {
      if (e.bytesDone > 0) ac.abort();
    };
    const p = runRestore({ volume: await reopen(vol), backupId: b.id, to: urlOf(target), force: false, signal: ac.signal, onProgress });
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
    expect((await sql('postgres', 'SELECT count(*)::int AS n FROM pg_database WHERE datname = $1', [target])).rows[0].n).toBe(0);
    expect(await leftoverRestoreDbs()).toEqual([]);
  });
});
