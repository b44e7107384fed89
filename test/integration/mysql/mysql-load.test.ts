// Consistency under load: a writer keeps moving money between accounts (and
// logs each transfer in another table) while a backup runs; the restore keeps
// every invariant. An abort in the middle of a backup or a restore leaves no
// query, no scratch database and nothing listed. Dedup: a second backup
// after a realistic change adds a small fraction of the first.

import { afterAll, describe, expect, it } from 'vitest';
import { listBackups, runBackup, runRestore } from '../../../src/jobs/index.js';
import { makeVolume, reopen } from '../../unit/repository/fixtures.js';
import { conn, createDb, dropScratch, leftoverRestoreDbs, scratchName, sql, urlOf } from './mysql-helpers.js';

const BANK = `
CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO accounts SELECT seq, 1000 FROM seq_1_to_5000;
CREATE TABLE transfers (id bigint AUTO_INCREMENT PRIMARY KEY, src int NOT NULL, dst int NOT NULL, amount bigint NOT NULL,
  FOREIGN KEY (src) REFERENCES accounts (id), FOREIGN KEY (dst) REFERENCES accounts (id));
CREATE TABLE filler (id int PRIMARY KEY, pad varchar(200));
INSERT INTO filler SELECT seq, CONCAT(SHA2(seq, 256), SHA2(seq * 7, 256), SHA2(seq * 13, 256)) FROM seq_1_to_150000;
`;

const INVARIANTS = `
SELECT CAST((SELECT SUM(balance) FROM accounts) AS CHAR) AS total,
       (SELECT COUNT(*) FROM accounts a
         WHERE a.balance <> 1000 + COALESCE((SELECT SUM(amount) FROM transfers WHERE dst = a.id), 0)
                                - COALESCE((SELECT SUM(amount) FROM transfers WHERE src = a.id), 0)) AS broken,
       (SELECT COUNT(*) FROM transfers) AS transfers`;

afterAll(dropScratch);

describe('mysql under load', () => {
  it('a backup taken while transfers commit restores with the sum and every per-account balance intact', async () => {
    const db = await createDb({ text: BANK });
    const writer = await conn(db);
    let running = true;
    let commits = 0;
    const writing = (async () => {
      while (running) {
        const src = 1 + Math.floor(Math.random() * 5000);
        const dst = 1 + Math.floor(Math.random() * 5000);
        const amount = 1 + Math.floor(Math.random() * 50);
        await writer.query('START TRANSACTION');
        await writer.query('UPDATE accounts SET balance = balance - ? WHERE id = ?', [amount, src]);
        await writer.query('INSERT INTO transfers (src, dst, amount) VALUES (?, ?, ?)', [src, dst, amount]);
        await writer.query('UPDATE accounts SET balance = balance + ? WHERE id = ?', [amount, dst]);
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
      const got = (await sql<Array<{ total: string; broken: number; transfers: number }>>(target, INVARIANTS))[0]!;
      expect(got.total).toBe(String(5000 * 1000));
      expect(Number(got.broken)).toBe(0);
      expect(Number(got.transfers)).toBeGreaterThan(0);
      expect(Number(got.transfers)).toBeLessThan(commits);
    } finally {
      running = false;
      await writing.catch(() => undefined);
      await writer.end();
    }
  });

  it('a second backup after a realistic change adds a small fraction of the first', async () => {
    const db = await createDb({ text: BANK });
    const vol = await makeVolume();
    const database = { name: 'bank', url: urlOf(db) };
    const first = await runBackup({ volume: vol, database, level: 0, expiresAt: null });
    await sql(db, 'DELETE FROM filler WHERE id <= 500');
    await sql(db, "INSERT INTO filler SELECT 150000 + seq, CONCAT('new ', SHA2(seq, 256)) FROM seq_1_to_500");
    await sql(db, "UPDATE filler SET pad = CONCAT('upd ', pad) WHERE id > 149000 AND id % 10 = 0");
    await sql(db, 'UPDATE accounts SET balance = balance + 1 WHERE id IN (1, 2500, 4999)');
    const second = await runBackup({ volume: await reopen(vol), database, level: 0, expiresAt: null });
    const ratio = second.bytesAdded / first.bytesAdded;
    console.log(`mysql dedup: first backup added ${first.bytesAdded} bytes, second ${second.bytesAdded} (${(ratio * 100).toFixed(2)}%)`);
    expect(ratio).toBeLessThan(0.1);
  });

  it('an abort during the backup: ABORTED, nothing listed, no query left running', async () => {
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
      left = (await sql<unknown[]>(undefined, 'SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()', [db])).length;
    }
    expect(left).toBe(0);
  });

  it('an abort during a restore: ABORTED, the target not created, no scratch database left', async () => {
    const db = await createDb({ text: BANK });
    const vol = await makeVolume();
    const b = await runBackup({ volume: vol, database: { name: 'bank', url: urlOf(db) }, level: 0, expiresAt: null });
    const target = scratchName();
    const ac = new AbortController();
    // Aborted when the first bytes load (not after a fixed delay, which a fast restore may outrun).
    const onProgress = (e: { bytesDone: number }) => {
      if (e.bytesDone > 0) ac.abort();
    };
    const p = runRestore({ volume: await reopen(vol), backupId: b.id, to: urlOf(target), force: false, signal: ac.signal, onProgress });
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
    expect(await sql<unknown[]>(undefined, 'SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [target])).toEqual([]);
    expect(await leftoverRestoreDbs()).toEqual([]);
  });
});
