// The SQLite driver runs the Source contract, plus URLs, bad input, fidelity
// on Chinook, dedup between backups, and what restore does to an existing
// target (refuse without force; with force, no stale -wal survives).

import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { listBackups, runBackup, runRestore } from '../../../src/jobs/index.js';
import { normalizeDatabaseUrl } from '../../../src/sources/index.js';
import { sqliteDriver } from '../../../src/sources/sqlite/sqlite-driver.js';
import { makeVolume, reopen, tempDir } from '../repository/fixtures.js';
import { runSourceContract } from './contract.js';
import { asPath, copyChinook, describeDb, makeBank, toSqliteUrl } from './sqlite-helpers.js';

runSourceContract('sqlite', () => ({
  driver: sqliteDriver,
  create: async () => toSqliteUrl(copyChinook()),
  change: async (url) => {
    const db = new Database(asPath(url));
    db.exec("UPDATE Track SET Name = Name || ' (live)' WHERE TrackId % 500 = 0; DELETE FROM InvoiceLine WHERE InvoiceLineId > 2200;");
    db.close();
  },
  freshTarget: async () => join(tempDir(), 'restored.db'),
  occupiedTarget: async () => {
    const path = join(tempDir(), 'occupied.sqlite');
    const db = new Database(path);
    db.exec("CREATE TABLE keep (v TEXT); INSERT INTO keep VALUES ('precious');");
    db.close();
    return toSqliteUrl(path);
  },
  describe: describeDb,
}));

describe('sqlite driver', () => {
  it('normalizes sqlite URLs and plain paths to database files; directories stay with the files driver', () => {
    const path = copyChinook('my music.sqlite3');
    const url = toSqliteUrl(path);
    expect(url).toBe(`sqlite://${path.replaceAll(' ', '%20')}`);
    expect(normalizeDatabaseUrl(path)).toBe(url);
    expect(normalizeDatabaseUrl(url)).toBe(url);
    expect(normalizeDatabaseUrl(`sqlite:${path}`)).toBe(url);
    const dir = join(tempDir(), 'data.db');
    mkdirSync(dir);
    expect(normalizeDatabaseUrl(dir)).toMatch(/^file:\/\//);
  });

  it('rejects a missing file, a file that is not SQLite and an unknown scheme with one clear error', () => {
    const dir = tempDir();
    expect(() => normalizeDatabaseUrl(join(dir, 'missing.db'))).toThrow(/missing\.db does not exist \(a SQLite database is an existing file\)/);
    expect(() => normalizeDatabaseUrl(`sqlite://${join(dir, 'missing.db')}`)).toThrow(/does not exist/);
    writeFileSync(join(dir, 'notes.db'), 'these are not the pages you are looking for '.repeat(100));
    expect(() => normalizeDatabaseUrl(join(dir, 'notes.db'))).toThrow(/notes\.db is not a SQLite database/);
    expect(() => normalizeDatabaseUrl('sqlite://host/x.db')).toThrow(/not a valid SQLite URL/);
    expect(() => normalizeDatabaseUrl('gopher://x/y.db')).toThrow(/unsupported database URL scheme "gopher:".*sqlite:\/\//);
  });

  it('keeps the lock bound setting in the URL and rejects unknown parameters', () => {
    const path = copyChinook();
    expect(normalizeDatabaseUrl(`sqlite://${path}?lock_timeout_ms=500`)).toBe(`${toSqliteUrl(path)}?lock_timeout_ms=500`);
    expect(() => normalizeDatabaseUrl(`sqlite://${path}?lock_timeout_ms=soon`)).toThrow(/whole number of milliseconds/);
    expect(() => normalizeDatabaseUrl(`sqlite://${path}?mode=ro`)).toThrow(/unknown SQLite URL parameter "mode"/);
  });

  it('a backup of a file that is not SQLite (given as a URL) fails with SOURCE and lists nothing', async () => {
    const path = join(tempDir(), 'fake.db');
    writeFileSync(path, Buffer.alloc(8192, 7));
    const vol = await makeVolume();
    const database = { name: 'fake', url: toSqliteUrl(path) };
    await expect(runBackup({ volume: vol, database, level: 0, expiresAt: null })).rejects.toMatchObject({ code: 'SOURCE', message: expect.stringMatching(/not a SQLite database/) });
    expect(await listBackups(await reopen(vol))).toEqual([]);
  });

  it('restores Chinook with the same schema and per-table ordered data hashes, and records them', async () => {
    const url = toSqliteUrl(copyChinook());
    const vol = await makeVolume();
    const b = await runBackup({ volume: vol, database: { name: 'chinook', url }, level: 0, expiresAt: null });
    const target = join(tempDir(), 'chinook-restored.db');
    await runRestore({ volume: await reopen(vol), backupId: b.id, to: target, force: false });
    const want = (await describeDb(url)) as { tables: Array<{ name: string; rows: number }> };
    expect(await describeDb(target)).toEqual(want);
    expect(want.tables.find((t) => t.name === 'Track')?.rows).toBe(3503);
    const manifest = await (await reopen(vol)).repo.readManifest(b.id);
    const extra = manifest.extra.sqlite as { tables: unknown; pageSize: number; pageCount: number; journalMode: string };
    expect(extra.tables).toEqual(want.tables);
    expect(extra).toMatchObject({ pageSize: 4096, pageCount: 246, journalMode: 'delete' });
    expect(readdirSync(dirname(target))).toEqual(['chinook-restored.db']); // no temp or side files left
  });

  it('a second backup after changing a few rows adds a small fraction of the first', async () => {
    const path = makeBank('wal', 10_000); // ~10 MB of incompressible filler
    const url = toSqliteUrl(path);
    const vol = await makeVolume();
    const database = { name: 'bank', url };
    const first = await runBackup({ volume: vol, database, level: 0, expiresAt: null });
    const w = new Database(path);
    w.exec('UPDATE a SET bal = bal - 5 WHERE id IN (3, 700); UPDATE b SET bal = bal + 5 WHERE id IN (10, 900); UPDATE filler SET pad = randomblob(1000) WHERE id = 5000;');
    w.close();
    const second = await runBackup({ volume: await reopen(vol), database, level: 0, expiresAt: null });
    const ratio = second.bytesAdded / first.bytesAdded;
    console.log(`sqlite dedup: first backup added ${first.bytesAdded} B, second after 5 changed rows added ${second.bytesAdded} B (${(ratio * 100).toFixed(2)}%)`);
    // About six pages change (five rows and the header), each costing the one or two
    // chunks around it (~16 KiB each): 0.5–1.4% in most runs, 2.4% seen once (chunk
    // boundaries follow the volume's random keys). 5% would take six chunks near the
    // 64 KiB maximum at once; a copy without dedup adds 100%.
    expect(ratio).toBeLessThan(0.05);
  });

  it('restores over an existing database only with force, and no stale -wal of the old one survives', async () => {
    const url = toSqliteUrl(copyChinook());
    const vol = await makeVolume();
    const b = await runBackup({ volume: vol, database: { name: 'chinook', url }, level: 0, expiresAt: null });
    const target = join(tempDir(), 'app.db');
    const old = new Database(target);
    old.pragma('journal_mode = WAL');
    old.pragma('wal_autocheckpoint = 0');
    old.exec("CREATE TABLE old (v TEXT); INSERT INTO old VALUES ('old data in the wal');");
    // Leave the -wal behind as a crashed process would: copy it aside, close (which checkpoints), put it back.
    const { readFileSync } = await import('node:fs');
    const wal = readFileSync(`${target}-wal`);
    old.close();
    writeFileSync(`${target}-wal`, wal);
    await expect(runRestore({ volume: vol, backupId: b.id, to: target, force: false })).rejects.toMatchObject({ code: 'CONFLICT' });
    await runRestore({ volume: vol, backupId: b.id, to: target, force: true });
    expect(await describeDb(target)).toEqual(await describeDb(url));
    expect(existsSync(`${target}-wal`)).toBe(false);
  });

  it('refuses to replace a target another connection is using', async () => {
    const url = toSqliteUrl(copyChinook());
    const vol = await makeVolume();
    const b = await runBackup({ volume: vol, database: { name: 'chinook', url }, level: 0, expiresAt: null });
    const target = join(tempDir(), 'busy.db');
    const other = new Database(target);
    other.exec('CREATE TABLE t (v); BEGIN IMMEDIATE; INSERT INTO t VALUES (1);');
    try {
      await expect(runRestore({ volume: vol, backupId: b.id, to: target, force: true })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/in use/) });
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(readdirSync(dirname(target))).toEqual(['busy.db']);
  });
});
