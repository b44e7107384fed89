// The purge job against a real PostgreSQL table with a fixed clock: exactly
// the rows the rules name go (checked by SQL: the kept rows are exactly the
// expected ones), with --match, --where and a timestamptz row exactly at the
// cutoff (it stays); a completed backup first (listed, and it still holds
// the deleted rows; it never expires by default, or expires `backupExpireMs`
// after the purge's clock reading); the dry run's count equals the real
// run's; a failing backup deletes nothing; progress reports every batch.
import { afterAll, describe, expect, it } from 'vitest';
import type { PurgeRuleRecord, PurgeRuleSpec } from '../../../src/catalog/purge-rules.js';
import { listBackups, runRestore } from '../../../src/jobs/index.js';
import { purgeFigures, runPurge } from '../../../src/jobs/purge/index.js';
import type { ProgressEvent } from '../../../src/jobs/types.js';
import { makeVolume, reopen } from '../../unit/repository/fixtures.js';
import { createDb, dropScratch, scratchName, sql, urlOf } from '../postgres/pg-helpers.js';
import { DAY } from './purge-contract.js';

afterAll(dropScratch);

const NOW = new Date('2026-05-01T00:00:00.000Z');
const CUTOFF = '2026-04-01T00:00:00.000Z'; // NOW - 30d

// id: at, level, note
const ROWS: Array<[number, string, string, string]> = [
  [1, '2026-03-01T00:00:00Z', 'debug', 'x'], // old debug: goes
  [2, '2026-03-01T00:00:00Z', 'trace', 'x'], // old trace: goes
  [3, '2026-03-01T00:00:00Z', 'error', 'x'], // old error: --match keeps it
  [4, '2026-03-01T00:00:00Z', 'debug', 'keep'], // --where keeps it
  [5, CUTOFF, 'debug', 'x'], // exactly at the cutoff: stays
  [6, '2026-03-31T23:59:59.999999Z', 'debug', 'x'], // a microsecond before: goes
  [7, '2026-04-01T02:00:00+02:00', 'debug', 'x'], // = 2026-04-01T00:00Z, another zone: stays
  [8, '2026-04-15T00:00:00Z', 'debug', 'x'], // young: stays
  [9, '2026-03-01T00:00:00Z', 'debug', null as unknown as string], // NULL note: the where (note <> 'keep') is NULL: stays
];

const spec: PurgeRuleSpec = {
  kind: 'table',
  table: 'events',
  column: 'at',
  olderThan: '30d',
  olderThanMs: 30 * DAY,
  match: { column: 'level', values: ['debug', 'trace'] },
  where: "note <> 'keep'",
};
const rules: PurgeRuleRecord[] = [{ id: 1, database: 'app', spec, createdAt: NOW.toISOString() }];

async function seeded(): Promise<string> {
  const db = await createDb({ text: 'CREATE TABLE events (id int PRIMARY KEY, at timestamptz NOT NULL, level text, note text);' });
  for (const [id, at, level, note] of ROWS) await sql(db, 'INSERT INTO events VALUES ($1, $2, $3, $4)', [id, at, level, note]);
  return db;
}

const keptIds = async (db: string) => (await sql(db, 'SELECT id FROM events ORDER BY id')).rows.map((r: { id: number }) => r.id);

describe('purge job (PostgreSQL, fixed clock)', () => {
  it('deletes exactly the named rows after a completed backup; the dry run counts the same', async () => {
    const db = await seeded();
    const database = { name: 'app', url: urlOf(db) };
    const dry = await runPurge({ database, rules, dryRun: true, now: NOW });
    expect(dry).toMatchObject({ dryRun: true, backup: null, rows: 3, batches: 0 });
    expect(dry.rules[0]).toMatchObject({ rule: 1, table: 'public.events', rows: 3, cutoff: CUTOFF });
    expect(await keptIds(db)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);

    const vol = await makeVolume();
    const progress: ProgressEvent[] = [];
    const real = await runPurge({ database, rules, now: NOW, backupTo: vol, batchSize: 2, onProgress: (e) => progress.push(e) });
    expect(real.rows).toBe(dry.rows);
    expect(real).toMatchObject({ dryRun: false, rows: 3, batches: 2 });
    expect(await keptIds(db)).toEqual([3, 4, 5, 7, 8, 9]);

    // The backup was completed and is listed, and it still holds the deleted rows.
    const listed = await listBackups(await reopen(vol));
    expect(listed.map((b) => b.id)).toEqual([real.backup]);
    expect(listed[0]!.expiresAt).toBeNull(); // no backupExpireMs: never
    expect(real.backupExpiresAt).toBeNull();
    const restored = scratchName();
    await runRestore({ volume: await reopen(vol), backupId: real.backup!, to: urlOf(restored), force: false });
    expect(await keptIds(restored)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);

    const purging = progress.filter((e) => e.phase === 'purge');
    expect(purging.map((e) => e.itemsDone)).toEqual([0, 2, 3]);
    expect(purging.every((e) => e.itemsTotal === 3)).toBe(true);
  });

  it('the backup before the purge expires backupExpireMs after the purge started', async () => {
    const db = await seeded();
    const database = { name: 'app', url: urlOf(db) };
    const vol = await makeVolume();
    const dry = await runPurge({ database, rules, dryRun: true, now: NOW, backupTo: vol, backupExpireMs: 14 * DAY });
    expect(dry).toMatchObject({ backup: null, backupExpiresAt: null });
    const real = await runPurge({ database, rules, now: NOW, backupTo: vol, backupExpireMs: 14 * DAY });
    const expected = new Date(NOW.getTime() + 14 * DAY).toISOString();
    expect(real).toMatchObject({ rows: 3, startedAt: NOW.toISOString(), backupExpiresAt: expected });
    const listed = await listBackups(await reopen(vol));
    expect(listed.map((b) => [b.id, b.expiresAt])).toEqual([[real.backup, expected]]);
    expect(purgeFigures(real)).toMatchObject({ backup: real.backup, backupExpiresAt: expected });
  });

  it('a failing backup stops the purge before anything is deleted', async () => {
    const db = await seeded();
    const vol = await makeVolume();
    process.env.ARCA_PG_BINDIR = '/nonexistent/bin';
    try {
      await expect(runPurge({ database: { name: 'app', url: urlOf(db) }, rules, now: NOW, backupTo: vol })).rejects.toMatchObject({
        code: 'SOURCE',
        message: expect.stringMatching(/^the backup before the purge of app failed, so nothing was deleted: .*pg_dump was not found/),
      });
    } finally {
      delete process.env.ARCA_PG_BINDIR;
    }
    expect(await keptIds(db)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('a rule that no longer fits the table is refused before the backup', async () => {
    const db = await seeded();
    await sql(db, 'ALTER TABLE events RENAME COLUMN at TO happened_at');
    const vol = await makeVolume();
    await expect(runPurge({ database: { name: 'app', url: urlOf(db) }, rules, now: NOW, backupTo: vol })).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/purge rule 1 of app no longer fits the database: no column "at".*arca purge rule remove app 1/),
    });
    expect(await listBackups(await reopen(vol))).toEqual([]);
  });
});
