// The PostgreSQL purge engine: the shared contract, then what is particular
// to PostgreSQL: tables without a primary key (ctid), composite keys,
// schemas and case, timestamp/date columns read as UTC, --match on typed
// columns, --where with `$1` and `?` inside literals, and useful errors.
import { afterAll, describe, expect, it } from 'vitest';
import type { PurgeRuleSpec, TableRule } from '../../../src/catalog/purge-rules.js';
import { checkPurgeRule, openPurgeEngine, type PurgeEngine } from '../../../src/jobs/purge/index.js';
import { createDb, dropScratch, sql, urlOf } from '../postgres/pg-helpers.js';
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

purgeEngineContract('postgres', async () => {
  const db = await createDb({ text: 'CREATE TABLE events (id int PRIMARY KEY, created_at timestamptz, kind text, n int);' });
  return {
    engine: await openPurgeEngine(urlOf(db)),
    rule: (ms) => rule('events', 'created_at', ms),
    seed: async (ages) => {
      await sql(db, 'TRUNCATE events');
      await sql(db, `INSERT INTO events (id, created_at) SELECT i, $1::timestamptz - make_interval(secs => a / 1000.0)
                     FROM unnest($2::float8[]) WITH ORDINALITY AS t(a, i)`, [NOW.toISOString(), ages]);
    },
    remaining: async () => (await sql(db, 'SELECT id FROM events ORDER BY id')).rows.map((r: { id: number }) => r.id),
    invalid: [
      { rule: rule('nope', 'created_at', DAY), message: /no table "nope" in database .*tables: events/ },
      { rule: rule('events', 'nope', DAY), message: /no column "nope" in table public\.events .*created_at, kind, n/ },
      { rule: rule('events', 'kind', DAY), message: /column kind of public\.events is text, not a date\/time type/ },
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

describe('postgres purge engine', () => {
  it('a table without a primary key is walked by ctid, in batches', async () => {
    const db = await createDb({
      text: `CREATE TABLE logs (at timestamp, msg text);
             INSERT INTO logs SELECT '2026-01-01'::timestamp - i * interval '1 minute', 'old ' || i FROM generate_series(1, 2500) i;
             INSERT INTO logs SELECT '2026-02-28', 'new ' || i FROM generate_series(1, 10) i;`,
    });
    await withEngine(db, async (e) => {
      const r = rule('logs', 'at', 30 * DAY);
      const checked = await e.check(r);
      expect((await e.count(checked, cutoff30)).items).toBe(2500);
      expect(await e.purge(checked, { cutoff: cutoff30, batchSize: 1000 })).toMatchObject({ items: 2500, batches: 3 });
    });
    expect((await sql(db, "SELECT count(*)::int AS n FROM logs WHERE msg LIKE 'new %'")).rows[0].n).toBe(10);
    expect((await sql(db, 'SELECT count(*)::int AS n FROM logs')).rows[0].n).toBe(10);
  });

  it('composite primary keys, another schema, mixed-case names, a date column', async () => {
    const db = await createDb({
      text: `CREATE SCHEMA app; CREATE TABLE app."Orders" (region text, no int, "Day" date, PRIMARY KEY (region, no));
             INSERT INTO app."Orders" SELECT r, i, DATE '2026-01-01' FROM unnest(ARRAY['eu','us','asia']) r, generate_series(1, 40) i;
             INSERT INTO app."Orders" VALUES ('eu', 100, DATE '2026-01-30'), ('eu', 101, DATE '2026-01-31');`,
    });
    await withEngine(db, async (e) => {
      const checked = await e.check(rule('app.orders', 'day', 30 * DAY));
      expect(checked).toMatchObject({ schema: 'app', table: 'Orders', column: 'Day' });
      // cutoff 2026-01-30T12:00Z: midnight of Jan 30 (UTC) is older, Jan 31 is not.
      expect((await e.count(checked, cutoff30)).items).toBe(121);
      expect(await e.purge(checked, { cutoff: cutoff30, batchSize: 7 })).toMatchObject({ items: 121, batches: 18 });
    });
    expect((await sql(db, 'SELECT region, no FROM app."Orders"')).rows).toEqual([{ region: 'eu', no: 101 }]);
  });

  it('--match binds values cast to the column type; --where is ANDed and may hold $1 and ? in literals', async () => {
    const db = await createDb({
      text: `CREATE TABLE t (id serial PRIMARY KEY, at timestamptz, status int, note text);
             INSERT INTO t (at, status, note) SELECT '2025-01-01', s, n FROM unnest(ARRAY[1,2,3]) s, unnest(ARRAY['$1','?','x']) n;`,
    });
    await withEngine(db, async (e) => {
      const r = rule('t', 'at', 30 * DAY, { match: { column: 'status', values: ['1', '3'] }, where: "note IN ('$1', '?')" });
      const checked = await e.check(r);
      expect((await e.count(checked, cutoff30)).items).toBe(4);
      expect((await e.purge(checked, { cutoff: cutoff30, batchSize: 3 })).items).toBe(4);
    });
    const left = (await sql(db, 'SELECT status, note FROM t ORDER BY status, note')).rows.map((r: { status: number; note: string }) => `${r.status}${r.note}`);
    expect(left).toEqual(['1x', '2$1', '2?', '2x', '3x']);
  });

  it('a bad --match value or --where is refused by the dry-run count, with the database\'s message', async () => {
    const db = await createDb({ text: 'CREATE TABLE t (id int PRIMARY KEY, at timestamptz, status int);' });
    await expect(checkPurgeRule(urlOf(db), rule('t', 'at', DAY, { match: { column: 'status', values: ['abc'] } }))).rejects.toMatchObject({
      code: 'SOURCE',
      message: expect.stringMatching(/invalid input syntax for type integer: "abc"/),
    });
    await expect(checkPurgeRule(urlOf(db), rule('t', 'at', DAY, { where: 'no_such_column > 1' }))).rejects.toMatchObject({
      code: 'SOURCE',
      message: expect.stringMatching(/column "no_such_column" does not exist/),
    });
    expect(await checkPurgeRule(urlOf(db), rule('t', 'at', DAY, { where: 'status > 1' }))).toMatchObject({ count: { items: 0 } });
  });

  it('an unreachable server is a SOURCE error without the password', async () => {
    const err = await openPurgeEngine('postgres://postgres:s3cret@127.0.0.1:1/x').catch((e: unknown) => e as { code: string; message: string });
    expect(err).toMatchObject({ code: 'SOURCE', message: expect.stringMatching(/cannot reach the PostgreSQL server/) });
    expect((err as { message: string }).message).not.toContain('s3cret');
  });
});
