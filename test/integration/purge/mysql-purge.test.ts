// The MySQL/MariaDB purge engine: the shared contract, then tables without a
// primary key (DELETE … LIMIT), composite keys, DATETIME and TIMESTAMP
// columns read in UTC, --match on an int column, and a `?` inside a
// literal of --where (server-side prepared statements).
import { afterAll, describe, expect, it } from 'vitest';
import type { PurgeRuleSpec, TableRule } from '../../../src/catalog/purge-rules.js';
import { checkPurgeRule, openPurgeEngine, type PurgeEngine } from '../../../src/jobs/purge/index.js';
import { createDb, dropScratch, sql, urlOf } from '../mysql/mysql-helpers.js';
import { DAY, NOW, purgeEngineContract } from './purge-contract.js';

afterAll(dropScratch);

const rule = (table: string, column: string, olderThanMs: number, extra: Partial<TableRule> = {}): PurgeRuleSpec => ({
  kind: 'table',
  table,
  column,
  olderThan: `${olderThanMs / DAY}d`,
  olderThanMs,
  ...extra,
});

const utc = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', '');

purgeEngineContract('mysql', async () => {
  const db = await createDb({ text: 'CREATE TABLE events (id int PRIMARY KEY, created_at timestamp(3) NULL, kind varchar(20), n int);' });
  return {
    engine: await openPurgeEngine(urlOf(db)),
    rule: (ms) => rule('events', 'created_at', ms),
    seed: async (ages) => {
      await sql(db, 'TRUNCATE events');
      if (ages.length === 0) return;
      const rows = ages.map((a, i) => [i + 1, utc(new Date(NOW.getTime() - a))]);
      await sql(db, "SET time_zone = '+00:00'; INSERT INTO events (id, created_at) VALUES ?", [rows]);
    },
    remaining: async () => (await sql<Array<{ id: number }>>(db, 'SELECT id FROM events ORDER BY id')).map((r) => r.id),
    invalid: [
      { rule: rule('nope', 'created_at', DAY), message: /no table "nope" in database .*tables: events/ },
      { rule: rule('events', 'nope', DAY), message: /no column "nope" in table events .*created_at, kind, n/ },
      { rule: rule('events', 'kind', DAY), message: /column kind of events is varchar, not a date\/time type/ },
      { rule: rule('events', 'created_at', DAY, { match: { column: 'nope', values: ['a'] } }), message: /no column "nope".*--match/ },
      { rule: { kind: 'files', glob: '*.log', olderThan: '1d', olderThanMs: DAY }, message: /table rules/ },
    ],
    cleanup: async () => undefined,
  };
});

async function withEngine<T>(db: string, work: (e: PurgeEngine) => Promise<T>): Promise<T> {
  const e = await openPurgeEngine(urlOf(db));
  try {
    return await work(e);
  } finally {
    await e.close();
  }
}

const cutoff30 = new Date(NOW.getTime() - 30 * DAY);

describe('mysql purge engine', () => {
  it('a table without a primary key is purged by DELETE … LIMIT, in batches', async () => {
    const db = await createDb({
      text: `CREATE TABLE logs (at datetime, msg varchar(20));
             INSERT INTO logs SELECT '2025-12-01' - INTERVAL seq MINUTE, CONCAT('old ', seq) FROM seq_1_to_2500;
             INSERT INTO logs SELECT '2026-02-28', CONCAT('new ', seq) FROM seq_1_to_10;`,
    });
    await withEngine(db, async (e) => {
      const checked = await e.check(rule('logs', 'at', 30 * DAY));
      expect((await e.count(checked, cutoff30)).items).toBe(2500);
      expect(await e.purge(checked, { cutoff: cutoff30, batchSize: 1000 })).toMatchObject({ items: 2500, batches: 3 });
    });
    expect(await sql(db, 'SELECT COUNT(*) AS n FROM logs')).toEqual([{ n: 10 }]);
  });

  it('composite primary keys and a cutoff boundary on a DATETIME column', async () => {
    const db = await createDb({
      text: `CREATE TABLE Orders (region varchar(8), no int, day datetime(3), PRIMARY KEY (region, no));
             INSERT INTO Orders SELECT r.r, s.seq, '2026-01-01' FROM (SELECT 'eu' r UNION SELECT 'us' UNION SELECT 'asia') r, seq_1_to_40 s;
             INSERT INTO Orders VALUES ('eu', 100, '2026-01-30 11:59:59.999'), ('eu', 101, '2026-01-30 12:00:00');`,
    });
    await withEngine(db, async (e) => {
      const checked = await e.check(rule('orders', 'DAY', 30 * DAY));
      expect(checked).toMatchObject({ table: 'Orders', column: 'day' });
      expect((await e.count(checked, cutoff30)).items).toBe(121);
      expect(await e.purge(checked, { cutoff: cutoff30, batchSize: 7 })).toMatchObject({ items: 121, batches: 18 });
    });
    expect(await sql(db, 'SELECT region, no FROM Orders')).toEqual([{ region: 'eu', no: 101 }]);
  });

  it('--match on an int column and --where with a ? inside a literal', async () => {
    const db = await createDb({
      text: `CREATE TABLE t (id int AUTO_INCREMENT PRIMARY KEY, at datetime, status int, note varchar(5));
             INSERT INTO t (at, status, note) SELECT '2025-01-01', s.v, n.v FROM (SELECT 1 v UNION SELECT 2 UNION SELECT 3) s, (SELECT '?' v UNION SELECT 'x') n;`,
    });
    await withEngine(db, async (e) => {
      const checked = await e.check(rule('t', 'at', 30 * DAY, { match: { column: 'status', values: ['1', '3'] }, where: "note = '?'" }));
      expect((await e.count(checked, cutoff30)).items).toBe(2);
      expect((await e.purge(checked, { cutoff: cutoff30, batchSize: 1 })).items).toBe(2);
    });
    const left = (await sql<Array<{ s: string }>>(db, 'SELECT CONCAT(status, note) AS s FROM t ORDER BY 1')).map((r) => r.s);
    expect(left).toEqual(['1x', '2?', '2x', '3x']);
  });

  it('a bad --where is refused by the dry-run count with the server\'s message', async () => {
    const db = await createDb({ text: 'CREATE TABLE t (id int PRIMARY KEY, at datetime);' });
    await expect(checkPurgeRule(urlOf(db), rule('t', 'at', DAY, { where: 'no_such_column > 1' }))).rejects.toMatchObject({
      code: 'SOURCE',
      message: expect.stringMatching(/Unknown column 'no_such_column'/),
    });
  });
});
