// The SQLite purge engine: the shared contract, then values stored as ISO
// text with and without a zone, as Unix seconds, WITHOUT ROWID tables, and a
// database locked by another connection (waited for, abortable).
import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { PurgeRuleSpec, TableRule } from '../../../src/catalog/purge-rules.js';
import { openPurgeEngine } from '../../../src/jobs/purge/index.js';
import { toSqliteUrl } from '../../../src/sources/sqlite/index.js';
import { makeScratch } from '../../helpers/index.js';
import { DAY, NOW, purgeEngineContract } from './purge-contract.js';

const scratch = makeScratch('purge-sqlite');
afterAll(() => scratch.cleanup());
let n = 0;

function newDb(schema: string): { path: string; db: Database.Database } {
  const path = join(scratch.root, `db${++n}.db`);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(schema);
  return { path, db };
}

const rule = (table: string, column: string, olderThanMs: number, extra: Partial<TableRule> = {}): PurgeRuleSpec => ({
  kind: 'table',
  table,
  column,
  olderThan: `${olderThanMs / DAY}d`,
  olderThanMs,
  ...extra,
});

purgeEngineContract('sqlite', async () => {
  const { path, db } = newDb('CREATE TABLE events (id INTEGER PRIMARY KEY, created_at DATETIME, kind TEXT, n INTEGER);');
  return {
    engine: await openPurgeEngine(toSqliteUrl(path)),
    rule: (ms) => rule('events', 'created_at', ms),
    seed: async (ages) => {
      db.exec('DELETE FROM events');
      const ins = db.prepare('INSERT INTO events (id, created_at) VALUES (?, ?)');
      ages.forEach((a, i) => ins.run(i + 1, new Date(NOW.getTime() - a).toISOString()));
    },
    remaining: async () => db.prepare<[], { id: number }>('SELECT id FROM events ORDER BY id').all().map((r) => r.id),
    invalid: [
      { rule: rule('nope', 'created_at', DAY), message: /no table "nope" in the SQLite database .*tables: events/ },
      { rule: rule('events', 'nope', DAY), message: /no column "nope" in table events .*created_at, kind, n/ },
      { rule: rule('events', 'kind', DAY), message: /column kind of events is declared as TEXT, not as a date\/time type/ },
      { rule: rule('events', 'created_at', DAY, { match: { column: 'nope', values: ['a'] } }), message: /no column "nope".*--match/ },
      { rule: { kind: 'files', glob: '*.log', olderThan: '1d', olderThanMs: DAY }, message: /table rules/ },
    ],
    cleanup: async () => {
      db.close();
    },
  };
});

const cutoff30 = new Date(NOW.getTime() - 30 * DAY);

describe('sqlite purge engine', () => {
  it('reads ISO text with and without zone and Unix seconds; unparseable values stay', async () => {
    const { path, db } = newDb('CREATE TABLE t (id INTEGER PRIMARY KEY, at TIMESTAMP, status INTEGER);');
    const old = new Date(NOW.getTime() - 40 * DAY);
    const young = new Date(NOW.getTime() - DAY);
    const ins = db.prepare('INSERT INTO t (at, status) VALUES (?, ?)');
    for (const d of [old, young]) {
      ins.run(d.toISOString(), 1); // 2026-01-20T12:00:00.000Z
      ins.run(d.toISOString().replace('T', ' ').slice(0, 19), 1); // 2026-01-20 12:00:00 (UTC)
      ins.run(Math.floor(d.getTime() / 1000), 1); // Unix seconds
      ins.run(d.toISOString().replace('Z', '+02:00'), 2); // an offset
    }
    ins.run('not a date', 1);
    ins.run(null, 1);
    const e = await openPurgeEngine(toSqliteUrl(path));
    try {
      const checked = await e.check(rule('T', 'AT', 30 * DAY, { match: { column: 'status', values: ['1'] } }));
      expect((await e.count(checked, cutoff30)).items).toBe(3);
      expect(await e.purge(checked, { cutoff: cutoff30, batchSize: 2 })).toMatchObject({ items: 3, batches: 2 });
    } finally {
      await e.close();
    }
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 7 });
    db.close();
  });

  it('WITHOUT ROWID tables are walked by their primary key', async () => {
    const { path, db } = newDb('CREATE TABLE kv (k TEXT, j INTEGER, at DATE, PRIMARY KEY (k, j)) WITHOUT ROWID;');
    const ins = db.prepare('INSERT INTO kv VALUES (?, ?, ?)');
    for (const k of ['a', 'b', 'c']) for (let j = 0; j < 10; j++) ins.run(k, j, j < 7 ? '2025-06-01' : '2026-02-28');
    const e = await openPurgeEngine(toSqliteUrl(path));
    try {
      const checked = await e.check(rule('kv', 'at', 30 * DAY));
      expect(await e.purge(checked, { cutoff: cutoff30, batchSize: 4 })).toMatchObject({ items: 21, batches: 6 });
    } finally {
      await e.close();
    }
    expect(db.prepare('SELECT count(*) AS n FROM kv').get()).toEqual({ n: 9 });
    db.close();
  });

  it('waits while another connection holds the write lock, and an abort ends the wait', async () => {
    const { path, db } = newDb('CREATE TABLE t (id INTEGER PRIMARY KEY, at DATETIME);');
    db.prepare("INSERT INTO t (at) SELECT '2025-01-01' FROM (SELECT 1 UNION SELECT 2 UNION SELECT 3)").run();
    const e = await openPurgeEngine(toSqliteUrl(path));
    try {
      const checked = await e.check(rule('t', 'at', 30 * DAY));
      db.exec('BEGIN IMMEDIATE');
      const waiting = e.purge(checked, { cutoff: cutoff30, batchSize: 10 });
      await new Promise((r) => setTimeout(r, 400));
      db.exec('COMMIT');
      expect((await waiting).items).toBe(3);

      db.prepare("INSERT INTO t (at) VALUES ('2025-01-01')").run();
      db.exec('BEGIN IMMEDIATE');
      const ctl = new AbortController();
      const aborted = e.purge(checked, { cutoff: cutoff30, batchSize: 10, signal: ctl.signal });
      setTimeout(() => ctl.abort(), 300);
      await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
      db.exec('COMMIT');
    } finally {
      await e.close();
    }
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 1 });
    db.close();
  });
});
