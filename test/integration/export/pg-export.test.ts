// `arca export` of a PostgreSQL backup, end to end through the real CLI: the
// .sql it writes, run with `psql -v ON_ERROR_STOP=1 -f` into a fresh database,
// gives the source's schema dump, per-table ordered data hashes, sequence
// values and large objects (the hard-values fixture of the fidelity test, and
// Chinook). Scratch databases are arca_test_<random>, dropped afterwards.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arcaOk, backup, describeRun, expectCleanFailure, freshHome, makeScratch, requireBuiltCli, runArca, type Home, type Scratch } from '../../helpers/index.js';
import { largeObjectGrants } from '../../../src/sources/postgres/pg-export.js';
import { createChinookDb, createDb, describeDb, dropScratch, sql, urlOf } from '../postgres/pg-helpers.js';

/** The fidelity test's HARD fixture (a String.raw literal: its text is its value), read so it has one home. */
function hardFixture(): string {
  const text = readFileSync(fileURLToPath(new URL('../postgres/pg-fidelity.test.ts', import.meta.url)), 'utf8');
  const start = text.indexOf('export const HARD = String.raw`');
  const end = text.indexOf('\n`;', start);
  if (start < 0 || end < 0) throw new Error('the HARD fixture moved out of pg-fidelity.test.ts');
  return text.slice(start + 'export const HARD = String.raw`'.length, end + 1);
}

function psqlFile(db: string, file: string): void {
  execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', urlOf(db), '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
}

describe('export: postgres → .sql for psql', () => {
  let scratch: Scratch;
  let home: Home;

  beforeAll(async () => {
    requireBuiltCli();
    scratch = makeScratch('export-pg');
    home = await freshHome(scratch.root);
  });

  afterAll(async () => {
    await dropScratch();
    scratch?.cleanup();
  });

  async function exportAndLoad(source: string): Promise<{ id: string; target: string; file: string }> {
    await arcaOk(['db', 'add', source, urlOf(source)], home.opts);
    const id = await backup(source, home.opts);
    const file = scratch.path(`${source}.sql`);
    const r = await arcaOk(['export', id, '-o', file], home.opts);
    expect(r.stdout, describeRun(r)).toContain(file);
    const target = await createDb();
    psqlFile(target, file);
    return { id, target, file };
  }

  it('hard values, sequences, large objects, partitions, matviews: psql -f gives the source back', async () => {
    const db = await createDb({ text: hardFixture() });
    const { target, file } = await exportAndLoad(db);
    const [src, dst] = [await describeDb(db), await describeDb(target)];
    expect(dst.schema).toEqual(src.schema);
    expect(dst).toEqual(src);
    expect(src.largeObjects).toHaveLength(3);
    expect(src.sequences['public.far_ahead']).toBe('9000000000000 true');
    expect(readFileSync(file, 'utf8')).not.toMatch(/password/i);
  });

  it('Chinook: psql -f gives equal schema and data', async () => {
    const db = await createChinookDb();
    const { target } = await exportAndLoad(db);
    const source = await describeDb(db);
    expect(Object.keys(source.data).length).toBeGreaterThan(5); // Chinook's tables, not an empty database
    expect(await describeDb(target)).toEqual(source);
  });

  it('refuses an existing file without --force; an unknown id is one line, exit 1', async () => {
    const db = await createDb({ text: 'CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);' });
    await arcaOk(['db', 'add', db, urlOf(db)], home.opts);
    const id = await backup(db, home.opts);
    const out = scratch.path('occupied.sql');
    writeFileSync(out, 'keep me');
    expectCleanFailure(await runArca(['export', id, '-o', out], home.opts), [1]);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    expectCleanFailure(await runArca(['export', '0123456789ab', '-o', scratch.path('x.sql')], home.opts), [1]);
    expect((await sql(db, 'SELECT count(*)::int AS n FROM t')).rows[0]).toEqual({ n: 1 });
  });

  it('turns large-object ACLs into GRANTs', () => {
    expect(largeObjectGrants(7, '{postgres=rw/postgres,=r/postgres,"a b"=r*/postgres}')).toEqual([
      'GRANT SELECT ON LARGE OBJECT 7 TO "postgres";',
      'GRANT UPDATE ON LARGE OBJECT 7 TO "postgres";',
      'GRANT SELECT ON LARGE OBJECT 7 TO PUBLIC;',
      'GRANT SELECT ON LARGE OBJECT 7 TO "a b" WITH GRANT OPTION;',
    ]);
  });
});
