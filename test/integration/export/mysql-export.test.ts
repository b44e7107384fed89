// `arca export` of a MySQL/MariaDB backup, end to end through the real CLI:
// the .sql it writes, fed to the `mariadb` client in a fresh database, gives
// the source's SHOW CREATE of every object and per-table ordered data hashes
// (the hard-values fixture of the fidelity test, and Sakila: routines,
// triggers, views, FULLTEXT, spatial, MyISAM). Scratch databases are
// arca_test_<random>, dropped afterwards.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arcaOk, backup, describeRun, expectCleanFailure, freshHome, makeScratch, requireBuiltCli, runArca, type Home, type Scratch } from '../../helpers/index.js';
import { SHARED_DIR } from '../../helpers/shared.js';
import { orderViews, TsvRows, valueLiteral } from '../../../src/sources/mysql/mysql-export.js';
import { createDb, describeDb, dropScratch, sql, urlOf } from '../mysql/mysql-helpers.js';

/** The fidelity test's HARD fixture (String.raw with ${BT} for a backtick), read so it has one home. */
function hardFixture(): string {
  const text = readFileSync(fileURLToPath(new URL('../mysql/mysql-fidelity.test.ts', import.meta.url)), 'utf8');
  const open = 'export const HARD = String.raw`';
  const start = text.indexOf(open);
  const end = text.indexOf('\n`;', start);
  if (start < 0 || end < 0) throw new Error('the HARD fixture moved out of mysql-fidelity.test.ts');
  return text.slice(start + open.length, end + 1).replaceAll('${BT}', '`');
}

describe('export: mysql → .sql for the mariadb client', () => {
  let scratch: Scratch;
  let home: Home;

  beforeAll(async () => {
    requireBuiltCli();
    scratch = makeScratch('export-mysql');
    home = await freshHome(scratch.root);
  });

  afterAll(async () => {
    await dropScratch();
    scratch?.cleanup();
  });

  async function exportAndLoad(source: string): Promise<string> {
    await arcaOk(['db', 'add', source, urlOf(source)], home.opts);
    const id = await backup(source, home.opts);
    const file = scratch.path(`${source}.sql`);
    const r = await arcaOk(['export', id, '-o', file], home.opts);
    expect(r.stdout, describeRun(r)).toContain(file);
    const target = await createDb();
    execFileSync('mariadb', ['-uroot', '-h127.0.0.1', target], { input: readFileSync(file), stdio: ['pipe', 'ignore', 'pipe'] });
    return target;
  }

  it('hard values, a table without a key, odd names, views, trigger, routines, event', async () => {
    const db = await createDb({ text: hardFixture() });
    const target = await exportAndLoad(db);
    const source = await describeDb(db);
    expect(Object.keys(source.schema)).toHaveLength(12);
    expect(await describeDb(target)).toEqual(source);
    expect(await sql(target, 'SELECT twice(21) AS x')).toEqual([{ x: 42 }]);
    await sql(target, "INSERT INTO hard (t) VALUES ('new')");
    expect(await sql(target, "SELECT id, t FROM hard WHERE t LIKE 'new%'")).toEqual([{ id: 1004, t: 'new (bumped)' }]);
  });

  it('Sakila loads back with the same schema and data', async () => {
    const db = await createDb({ files: [`${SHARED_DIR}/datasets/sakila-mysql-schema.sql`, `${SHARED_DIR}/datasets/sakila-mysql-data.sql`], qualifiedAs: 'sakila' });
    const target = await exportAndLoad(db);
    expect(await describeDb(target)).toEqual(await describeDb(db));
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
  });

  it('splits LOAD DATA text across chunks and writes safe literals', () => {
    const rows = new TsvRows();
    const input = Buffer.from('a\\tb\t\\N\tx\\Ny\n\\\\\t\\0\t\n');
    const got = [...rows.push(input.subarray(0, 3)), ...rows.push(input.subarray(3, 9)), ...rows.push(input.subarray(9))];
    expect(got).toEqual([
      [Buffer.from('a\tb'), null, Buffer.from('xNy')],
      [Buffer.from('\\'), Buffer.from([0]), Buffer.alloc(0)],
    ]);
    expect(rows.clean).toBe(true);
    expect(valueLiteral(Buffer.from("it's \\"), false)).toBe("'it\\'s \\\\'");
    expect(valueLiteral(Buffer.from('é'), false)).toBe("X'c3a9'");
    expect(valueLiteral(Buffer.from('a'), true)).toBe("X'61'");
    expect(valueLiteral(null, false)).toBe('NULL');
    const v = (name: string, createSql: string) => ({ name, createSql, sqlMode: '', charset: 'utf8mb4', collation: '' });
    expect(orderViews([v('b', 'CREATE VIEW `b` AS SELECT * FROM `a`'), v('a', 'CREATE VIEW `a` AS SELECT 1')]).map((x) => x.name)).toEqual(['a', 'b']);
  });
});
