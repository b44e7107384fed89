// `arca export` of a SQLite backup (Chinook, WAL mode), end to end through the
// real CLI: the .db it writes passes `sqlite3 FILE 'PRAGMA integrity_check'`,
// has the source's row counts (asked of the sqlite3 tool) and the same schema
// and per-table ordered data hashes; the default name ends in .db; an
// existing file is kept without --force.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arcaOk, backup, describeRun, expectCleanFailure, freshHome, makeScratch, requireBuiltCli, runArca, type Home, type Scratch } from '../../helpers/index.js';
import { copyChinook, describeDb } from '../../unit/sources/sqlite-helpers.js';
import { runArcaIn } from './export-helpers.js';

function sqlite3(file: string, sql: string): string {
  const r = spawnSync('sqlite3', [file, sql], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim();
}

function rowCounts(file: string): Record<string, number> {
  const tables = sqlite3(file, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").split('\n');
  return Object.fromEntries(tables.map((t) => [t, Number(sqlite3(file, `SELECT count(*) FROM "${t.replace(/"/g, '""')}"`))]));
}

describe('export: sqlite → .db', () => {
  let scratch: Scratch;
  let home: Home;
  let src: string;
  let id: string;

  beforeAll(async () => {
    requireBuiltCli();
    scratch = makeScratch('export-sqlite');
    src = copyChinook();
    const db = new Database(src);
    db.pragma('journal_mode = WAL');
    db.exec("INSERT INTO Genre (Name) VALUES ('exported'); CREATE TABLE no_key (v BLOB); INSERT INTO no_key VALUES (x'00ff'), (NULL)");
    db.close();
    home = await freshHome(scratch.root);
    await arcaOk(['db', 'add', 'chinook', src], home.opts);
    id = await backup('chinook', home.opts);
  });

  afterAll(() => scratch?.cleanup());

  it('writes a database file sqlite3 accepts, with the source rows', async () => {
    const out = scratch.path('chinook-export.db');
    const r = await arcaOk(['export', id, '-o', out], home.opts);
    expect(r.stdout, describeRun(r)).toContain(out);
    expect(sqlite3(out, 'PRAGMA integrity_check')).toBe('ok');
    const counts = rowCounts(out);
    expect(counts['Track']).toBeGreaterThan(3000);
    expect(counts).toEqual(rowCounts(src));
    expect(await describeDb(out)).toEqual(await describeDb(src));
  });

  it('names the file <database>-<yyyymmdd-hhmmss>.db by default', async () => {
    const cwd = scratch.path('cwd');
    mkdirSync(cwd);
    const r = await runArcaIn(cwd, ['export', id], home.opts);
    expect(r.code, r.stderr).toBe(0);
    const names = readdirSync(cwd);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^chinook-\d{8}-\d{6}\.db$/);
    expect(sqlite3(`${cwd}/${names[0]}`, 'PRAGMA integrity_check')).toBe('ok');
  });

  it('refuses an existing file without --force', async () => {
    const out = scratch.path('occupied.db');
    writeFileSync(out, 'keep me');
    expectCleanFailure(await runArca(['export', id, '-o', out], home.opts), [1]);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    await arcaOk(['export', id, '-o', out, '--force'], home.opts);
    expect(sqlite3(out, 'PRAGMA integrity_check')).toBe('ok');
  });
});
