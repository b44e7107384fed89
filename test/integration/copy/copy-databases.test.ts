// Database backups copied between volumes with different passwords: a SQLite
// database (Chinook) and a PostgreSQL database whose big table was dumped in
// key-range parts (each part starts on a chunk boundary; the copy keeps those
// boundaries, so the parts still load side by side). Each copy keeps `extra`
// (row counts, checksums, parts) and restores from the target alone into a
// database identical to the source.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runBackup, runCopy, runRestore } from '../../../src/jobs/index.js';
import type { PostgresExtra } from '../../../src/sources/postgres/index.js';
import { makeScratch, type Scratch } from '../../helpers/index.js';
import { copyChinook, describeDb as describeSqlite, toSqliteUrl } from '../../unit/sources/sqlite-helpers.js';
import { createDb, describeDb as describePg, dropScratch, scratchName, urlOf } from '../postgres/pg-helpers.js';
import { createVolume, localSpec, openSpec, withVolume, type VolumeSpec } from './copy-helpers.js';

let scratch: Scratch;
let A: VolumeSpec;
let B: VolumeSpec;

beforeAll(async () => {
  scratch = makeScratch('copy-db');
  A = localSpec('A', scratch.path('vol-a'), 'password of A');
  B = localSpec('B', scratch.path('vol-b'), 'password of B');
  await createVolume(A);
  await createVolume(B);
});
afterEach(() => {
  delete process.env.ARCA_PG_PART_BYTES;
});
afterAll(async () => {
  await dropScratch();
  scratch?.cleanup();
});

async function copyAll(database: string) {
  const [from, to] = [await openSpec(A), await openSpec(B)];
  try {
    return await runCopy({ from, to, database });
  } finally {
    await Promise.all([from.close(), to.close()]);
  }
}

const extraOf = (spec: VolumeSpec, id: string) => withVolume(spec, async (v) => (await v.repo.readManifest(id)).extra);

describe('arca copy of database backups', () => {
  it('copies a SQLite backup: extra kept, restores identical from the target', async () => {
    const db = copyChinook();
    const backup = await withVolume(A, (a) => runBackup({ volume: a, database: { name: 'chinook', url: toSqliteUrl(db) }, level: 0, expiresAt: null }));
    const report = await copyAll('chinook');
    expect(report.copied.map((c) => c.id)).toEqual([backup.id]);
    const extra = await extraOf(B, backup.id);
    expect(extra).toEqual(await extraOf(A, backup.id));
    expect(Object.keys(extra)).toContain('sqlite');
    const target = join(scratch.path('restored'), 'chinook.db');
    mkdirSync(scratch.path('restored'));
    await withVolume(B, (b) => runRestore({ volume: b, backupId: backup.id, to: target, force: false }));
    expect(await describeSqlite(target)).toEqual(await describeSqlite(db));
  });

  it('copies a PostgreSQL backup whose table was dumped in parts; the parts restore from the target', async () => {
    const db = await createDb({
      text: `CREATE TABLE big (id bigint PRIMARY KEY, t text, j jsonb);
             INSERT INTO big SELECT i, repeat(md5(i::text), 6), jsonb_build_object('i', i) FROM generate_series(1, 20000) i;
             CREATE TABLE small (id int PRIMARY KEY, v text);
             INSERT INTO small SELECT i, md5(i::text) FROM generate_series(1, 500) i;
             ANALYZE;`,
    });
    process.env.ARCA_PG_PART_BYTES = String(256 * 1024);
    const backup = await withVolume(A, (a) => runBackup({ volume: a, database: { name: 'pg', url: urlOf(db) }, level: 0, expiresAt: null }));
    delete process.env.ARCA_PG_PART_BYTES;
    const extra = (await extraOf(A, backup.id)) as unknown as PostgresExtra;
    const big = extra.postgres.tables.find((t) => t.name === 'big');
    expect(big?.parts).toBeGreaterThan(3);

    const report = await copyAll('pg');
    expect(report.copied.map((c) => c.id)).toEqual([backup.id]);
    expect(await extraOf(B, backup.id)).toEqual(extra);
    const target = scratchName();
    await withVolume(B, (b) => runRestore({ volume: b, backupId: backup.id, to: urlOf(target), force: false }));
    expect(await describePg(target)).toEqual(await describePg(db));
  });
});
