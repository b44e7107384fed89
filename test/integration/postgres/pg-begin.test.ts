// A PostgreSQL backup begun before the volume opens (Source.begin, as
// `arca backup` does while the volume's key is derived): it restores to what
// the database held when it began (rows written after begin() are not in it),
// its per-table checksums equal a plain backup's, release() leaves no
// session behind, a failure while beginning is reported by the backup, and an
// abort or release while it still waits (for a table lock) ends it at once.

import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/backend/memory/memory-backend.js';
import { listBackups, runBackup, runRestore } from '../../../src/jobs/index.js';
import { postgresDriver } from '../../../src/sources/postgres/index.js';
import type { PostgresExtra } from '../../../src/sources/postgres/pg-backup.js';
import { makeVolume, reopen } from '../../unit/repository/fixtures.js';
import { createDb, describeDb, dropScratch, scratchName, sql, urlOf, until } from './pg-helpers.js';

const TABLES = `
CREATE TABLE big (id int PRIMARY KEY, v text);
INSERT INTO big SELECT i, repeat(md5(i::text), 4) FROM generate_series(1, 60000) i;
CREATE TABLE small (id int PRIMARY KEY, note text);
INSERT INTO small SELECT i, 'note ' || i FROM generate_series(1, 500) i;
`;

afterAll(dropScratch);

async function arcaSessions(db: string): Promise<number> {
  const r = await sql('postgres', "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'arca'", [db]);
  return r.rows[0].n as number;
}


const tablesOf = (extra: unknown) => (extra as PostgresExtra).postgres.tables.map((t) => ({ name: t.name, rows: t.rows, blake3: t.blake3 }));

describe('a PostgreSQL backup begun before the volume opens', () => {
  it('holds what the database held when it began (not rows written later), read partly ahead, and closes its sessions', async () => {
    const db = await createDb({ text: TABLES });
    const url = urlOf(db);
    const before = await describeDb(url);
    const volume = await makeVolume(new MemoryBackend(), { packSize: 256 * 1024 });

    const source = postgresDriver.open(url);
    const begunAt = new Date();
    source.begin!({ jobs: 2, readAhead: 1 << 20 });
    await until(async () => (await arcaSessions(db)) >= 3); // coordinator and two snapshot workers
    await new Promise((r) => setTimeout(r, 300)); // the first COPY reads ahead meanwhile
    const copying = await sql('postgres', "SELECT query FROM pg_stat_activity WHERE datname = $1 AND application_name = 'arca' AND query LIKE 'COPY%'", [db]);
    expect(copying.rows.map((r: { query: string }) => r.query)).toEqual([expect.stringContaining('FROM ONLY "public"."big"')]);
    await sql(db, "INSERT INTO small VALUES (100000, 'written after the backup began')");
    const begun = await runBackup({ volume, database: { name: 'db', url }, level: 0, expiresAt: null, source, startedAt: begunAt });
    expect(begun.startedAt).toBe(begunAt.toISOString()); // not the later time runBackup was called

    const target = scratchName();
    await runRestore({ volume: await reopen(volume), backupId: begun.id, to: urlOf(target), force: false });
    expect(await describeDb(urlOf(target))).toEqual(before);
    await until(async () => (await arcaSessions(db)) === 0);
    expect(await arcaSessions(db)).toBe(0);
  });

  it('gives the same per-table checksums as a plain backup', async () => {
    const db = await createDb({ text: TABLES });
    const url = urlOf(db);
    const volume = await makeVolume(new MemoryBackend(), { packSize: 256 * 1024 });
    const source = postgresDriver.open(url);
    source.begin!({ jobs: 2, readAhead: 4 << 20 });
    const begun = await runBackup({ volume, database: { name: 'db', url }, level: 0, expiresAt: null, source });
    const plain = await runBackup({ volume: await reopen(volume), database: { name: 'db', url }, level: 0, expiresAt: null });
    const manifests = await (await reopen(volume)).repo.listManifests();
    const extraOf = (id: string) => manifests.find((m) => m.id === id)!.extra;
    expect(tablesOf(extraOf(begun.id))).toEqual(tablesOf(extraOf(plain.id)));
    expect(tablesOf(extraOf(begun.id)).every((t) => /^[0-9a-f]{64}$/.test(t.blake3 ?? ''))).toBe(true);
    expect(tablesOf(extraOf(begun.id)).find((t) => t.name === 'big')!.rows).toBe(60000);
  });

  it('leaves no session on the database when released instead of continued', async () => {
    const db = await createDb({ text: TABLES });
    const source = postgresDriver.open(urlOf(db));
    source.begin!({ jobs: 2, readAhead: 1 << 20 });
    await until(async () => (await arcaSessions(db)) >= 3);
    expect(await arcaSessions(db)).toBeGreaterThanOrEqual(3);
    await source.release!();
    await until(async () => (await arcaSessions(db)) === 0);
    expect(await arcaSessions(db)).toBe(0);
    await source.release!(); // twice: nothing left to do
  });

  it('counts --max-duration from when the backup began, not from when the volume had opened', async () => {
    const db = await createDb({ text: TABLES });
    const url = urlOf(db);
    const volume = await makeVolume(new MemoryBackend(), { packSize: 256 * 1024 });
    const source = postgresDriver.open(url);
    source.begin!({ jobs: 2 });
    const began = new Date(Date.now() - 10_000); // as if the volume had taken ten seconds to open
    const backup = runBackup({ volume, database: { name: 'db', url }, level: 0, expiresAt: null, source, startedAt: began, maxDuration: { ms: 5_000, label: '5s' } });
    await expect(backup).rejects.toMatchObject({ code: 'ABORTED', message: 'backup of db exceeded --max-duration 5s and was stopped; nothing was listed' });
    expect(await listBackups(await reopen(volume))).toEqual([]);
    await source.release!();
    await until(async () => (await arcaSessions(db)) === 0);
    expect(await arcaSessions(db)).toBe(0);
  });

  it('reports a failure while beginning from the backup, as a plain backup would', async () => {
    const url = urlOf(`${scratchName()}_missing`);
    const volume = await makeVolume(new MemoryBackend(), { packSize: 256 * 1024 });
    const source = postgresDriver.open(url);
    source.begin!({ jobs: 2 });
    const plainError = await runBackup({ volume, database: { name: 'db', url }, level: 0, expiresAt: null }).catch((e: unknown) => e);
    const begunError = await runBackup({ volume: await reopen(volume), database: { name: 'db', url }, level: 0, expiresAt: null, source }).catch((e: unknown) => e);
    expect(begunError).toMatchObject({ code: (plainError as { code: string }).code, message: (plainError as Error).message });
    expect((begunError as Error).message).toMatch(/does not exist/);
    expect(await listBackups(await reopen(volume))).toEqual([]);
  });

  describe('while it still waits for a table lock the application holds', () => {
    /** Runs `body` on a scratch database whose table `small` another session holds in ACCESS EXCLUSIVE mode meanwhile. */
    async function whileLocked(body: (db: string) => Promise<void>): Promise<void> {
      const db = await createDb({ text: TABLES });
      const app = new pg.Client({ connectionString: urlOf(db) });
      await app.connect();
      try {
        await app.query('BEGIN');
        await app.query('LOCK TABLE small IN ACCESS EXCLUSIVE MODE');
        await body(db);
      } finally {
        await app.query('ROLLBACK').catch(() => undefined);
        await app.end();
      }
    }
    const waitingForLock = async (db: string) =>
      (await sql('postgres', "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'arca' AND wait_event_type = 'Lock'", [db])).rows[0].n > 0;
    /** The backup is seen waiting for the lock. */
    async function expectWaiting(db: string): Promise<void> {
      await until(() => waitingForLock(db));
      expect(await waitingForLock(db)).toBe(true);
    }
    /** No session of the backup is left (while the lock is still held). */
    async function expectNoSession(db: string): Promise<void> {
      await until(async () => (await arcaSessions(db)) === 0);
      expect(await arcaSessions(db)).toBe(0);
    }

    it('an abort ends the backup as ABORTED and its sessions, while the lock is still held', () =>
      whileLocked(async (db) => {
        const url = urlOf(db);
        const volume = await makeVolume(new MemoryBackend(), { packSize: 256 * 1024 });
        const source = postgresDriver.open(url);
        source.begin!({ jobs: 2 });
        await expectWaiting(db);
        const ac = new AbortController();
        const backup = runBackup({ volume, database: { name: 'db', url }, level: 0, expiresAt: null, source, signal: ac.signal });
        setImmediate(() => ac.abort());
        await expect(backup).rejects.toMatchObject({ code: 'ABORTED' });
        await expectNoSession(db);
        await source.release!(); // nothing left to release
        expect(await listBackups(await reopen(volume))).toEqual([]);
      }));

    it('an already aborted backup ends it too', () =>
      whileLocked(async (db) => {
        const source = postgresDriver.open(urlOf(db));
        source.begin!({ jobs: 2 });
        await expectWaiting(db);
        // The source itself, as a job calls it: it stops before it would reach the session.
        const p = source.backup({ session: undefined as never, signal: AbortSignal.abort(), onBytes: () => undefined });
        await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
        await expectNoSession(db);
      }));

    it('a backup not begun (as the server runs one) ends the same way when aborted', () =>
      whileLocked(async (db) => {
        const url = urlOf(db);
        const volume = await makeVolume(new MemoryBackend(), { packSize: 256 * 1024 });
        const ac = new AbortController();
        const backup = runBackup({ volume, database: { name: 'db', url }, level: 0, expiresAt: null, signal: ac.signal });
        await expectWaiting(db);
        ac.abort();
        await expect(backup).rejects.toMatchObject({ code: 'ABORTED' });
        await expectNoSession(db);
      }));

    it('release() returns and leaves no session', () =>
      whileLocked(async (db) => {
        const source = postgresDriver.open(urlOf(db));
        source.begin!({ jobs: 2 });
        await expectWaiting(db);
        await source.release!();
        await expectNoSession(db);
      }));
  });
});
