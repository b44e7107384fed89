// Fidelity of PostgreSQL backups: a table of hard values (and sequences,
// large objects, partitions, matviews, domains, enums, odd names), Chinook
// and the Pagila schema each restore to the same schema dump and the same
// ordered data hashes; --force replaces; the recorded extra is right.

import { afterAll, describe, expect, it } from 'vitest';
import { runBackup, runRestore } from '../../../src/jobs/index.js';
import type { PostgresExtra } from '../../../src/sources/postgres/index.js';
import { makeVolume, reopen } from '../../unit/repository/fixtures.js';
import { createChinookDb, createDb, describeDb, dropScratch, leftoverRestoreDbs, scratchName, sql, urlOf } from './pg-helpers.js';
import { datasetPath } from '../../helpers/shared.js';

export const HARD = String.raw`
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE TABLE hard (
  id serial PRIMARY KEY, t text, b bytea, arr int[], tarr text[], j jsonb, ts timestamptz, tz time with time zone,
  f float8, r real, n numeric, m mood, p posint, iv interval, g int GENERATED ALWAYS AS (id * 2) STORED
);
COMMENT ON TABLE hard IS 'values that break naive dumps';
INSERT INTO hard (t) VALUES (NULL);
INSERT INTO hard (t, b, arr, tarr, j, ts, tz, f, r, n, m, p, iv) VALUES
  (E'tab\there\nnewline\\backslash \\N not null', '\x00ff5c0a0d09'::bytea, '{1,NULL,3}', '{"a,b","c\"d",NULL,"",""}',
   '{"k": [1, 2.50, null, "\u00e9"], "nested": {"x": true}}', '2020-02-29 23:59:59.999999+05:30', '12:00+03',
   'NaN', 'Infinity', 1234567890123456789012345678901234567890.0123456789, 'happy', 1, '1 year 2 mons -3 days 04:05:06.7'),
  ('', '', '{}', '{}', '[]', 'infinity', '00:00+00', '-Infinity', '-0', 'NaN', 'sad', 2147483647, '-178000000 years'),
  (E'unicode \u00e9\u4e2d\U0001F600 \r\n', NULL, '{{1,2},{3,4}}', NULL, 'null', '-infinity', NULL, 1e308, 1.17549435e-38, -0.000000000000000000000000000001, NULL, NULL, NULL);
CREATE TABLE nopk (a int, b text);
INSERT INTO nopk VALUES (1, 'dup'), (1, 'dup'), (NULL, NULL), (2, E'\t');
CREATE TABLE nocols ();
INSERT INTO nocols DEFAULT VALUES;
INSERT INTO nocols DEFAULT VALUES;
CREATE UNLOGGED TABLE scratchpad (k text PRIMARY KEY, v text);
INSERT INTO scratchpad VALUES ('a', 'b');
CREATE TABLE uniq (a int NOT NULL UNIQUE, b text);
INSERT INTO uniq SELECT i, md5(i::text) FROM generate_series(1, 100) i;
CREATE SEQUENCE far_ahead;
SELECT setval('far_ahead', 9000000000000);
CREATE SEQUENCE never_called START 42;
CREATE TABLE ident (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);
INSERT INTO ident (v) SELECT 'v' || i FROM generate_series(1, 10) i;
SELECT setval(pg_get_serial_sequence('hard', 'id'), 1000);
CREATE TABLE meas (id int, logdate date NOT NULL, v text NOT NULL, PRIMARY KEY (id, logdate, v)) PARTITION BY RANGE (logdate);
CREATE TABLE meas_2023 PARTITION OF meas FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE meas_2024 PARTITION OF meas FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY LIST (v);
CREATE TABLE meas_2024_a PARTITION OF meas_2024 FOR VALUES IN ('a');
CREATE TABLE meas_2024_rest PARTITION OF meas_2024 DEFAULT;
INSERT INTO meas SELECT i, '2023-06-01'::date + i, CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END FROM generate_series(1, 400) i;
CREATE MATERIALIZED VIEW mood_counts AS SELECT m, count(*) AS n FROM hard GROUP BY m;
CREATE UNIQUE INDEX ON mood_counts (m);
CREATE MATERIALIZED VIEW on_top AS SELECT * FROM mood_counts WHERE n > 0;
CREATE MATERIALIZED VIEW empty_mv AS SELECT 1 AS one WITH NO DATA;
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."we!rd.name/x%y" ("Col ""q""" text PRIMARY KEY);
INSERT INTO "Odd Schema"."we!rd.name/x%y" VALUES ('a'), ('b');
CREATE TABLE child (id int PRIMARY KEY, hard_id int REFERENCES hard(id) ON DELETE CASCADE);
INSERT INTO child SELECT i, i FROM generate_series(1, 4) i;
CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.t := NEW.t || ' (bumped)'; RETURN NEW; END $$;
CREATE TRIGGER bump BEFORE INSERT ON hard FOR EACH ROW EXECUTE FUNCTION bump();
CREATE VIEW hard_view AS SELECT id, t FROM hard;
SELECT lo_from_bytea(0, 'small large object');
SELECT lo_from_bytea(0, '');
SELECT lo_from_bytea(0, decode(string_agg(md5(i::text), ''), 'hex')) FROM generate_series(1, 150000) i;
DO $$ DECLARE o oid; BEGIN SELECT max(oid) INTO o FROM pg_largeobject_metadata;
  EXECUTE format('GRANT SELECT ON LARGE OBJECT %s TO PUBLIC', o);
  EXECUTE format('COMMENT ON LARGE OBJECT %s IS %L', o, 'a 2.4 MB object'); END $$;
`;

afterAll(dropScratch);

async function roundTrip(db: string, opts: { target?: string; force?: boolean } = {}) {
  const vol = await makeVolume();
  const database = { name: db, url: urlOf(db) };
  const b = await runBackup({ volume: vol, database, level: 0, expiresAt: null });
  const target = opts.target ?? scratchName();
  await runRestore({ volume: await reopen(vol), backupId: b.id, to: urlOf(target), force: opts.force ?? false });
  return { backup: b, target, vol };
}

describe('postgres fidelity', () => {
  it('hard values, sequences, large objects, partitions, matviews, domains, enums, odd names', async () => {
    const db = await createDb({ text: HARD });
    const { backup, target, vol } = await roundTrip(db);
    const [src, dst] = [await describeDb(db), await describeDb(target)];
    expect(dst.schema).toEqual(src.schema);
    expect(dst).toEqual(src);
    expect(src.sequences['public.far_ahead']).toBe('9000000000000 true');
    expect(src.largeObjects).toHaveLength(3);
    expect(Object.keys(src.data)).toContain('public.on_top');
    // the recorded extra: rows and checksums per table
    const extra = (await (await reopen(vol)).repo.readManifest(backup.id)).extra as unknown as PostgresExtra;
    const byName = new Map(extra.postgres.tables.map((t) => [`${t.schema}.${t.name}`, t]));
    expect(byName.get('public.hard')?.rows).toBe(4);
    const parts = ['meas_2023', 'meas_2024_a', 'meas_2024_rest'].map((n) => byName.get(`public.${n}`)?.rows ?? 0);
    expect(parts.reduce((a, b) => a + b)).toBe(400);
    expect(byName.has('public.meas')).toBe(false); // partitioned parents hold no rows of their own: leaves are dumped
    expect(byName.get('Odd Schema.we!rd.name/x%y')?.blake3).toMatch(/^[0-9a-f]{64}$/);
    expect(extra.postgres.largeObjects?.count).toBe(3);
    expect(await leftoverRestoreDbs()).toEqual([]);
  });

  it('Chinook restores with equal schema and data', async () => {
    const db = await createChinookDb();
    const { target } = await roundTrip(db);
    const [src, dst] = [await describeDb(db), await describeDb(target)];
    expect(Object.keys(src.data).length).toBeGreaterThan(5);
    expect(dst).toEqual(src);
  });

  it('the Pagila schema (partitions, triggers, functions, domains, enums, a matview) restores equal, with some rows', async () => {
    const db = await createDb({ file: datasetPath('pagila-schema.sql') });
    await sql(db, "INSERT INTO language (name) VALUES ('English'), ('Italian')");
    await sql(db, "INSERT INTO actor (first_name, last_name) VALUES ('PENELOPE', 'GUINESS'), ('NICK', 'WAHLBERG')");
    const { target } = await roundTrip(db);
    const [src, dst] = [await describeDb(db), await describeDb(target)];
    expect(dst.schema).toEqual(src.schema);
    expect(dst).toEqual(src);
  });

  it('--force replaces an occupied database; without it the database is untouched', async () => {
    const db = await createDb({ text: 'CREATE TABLE a (x int PRIMARY KEY); INSERT INTO a VALUES (1), (2);' });
    const occupied = await createDb({ text: "CREATE TABLE other (y text); INSERT INTO other VALUES ('old');" });
    const vol = await makeVolume();
    const b = await runBackup({ volume: vol, database: { name: db, url: urlOf(db) }, level: 0, expiresAt: null });
    await expect(runRestore({ volume: await reopen(vol), backupId: b.id, to: urlOf(occupied), force: false })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await sql(occupied, 'SELECT y FROM other')).rows).toEqual([{ y: 'old' }]);
    await runRestore({ volume: await reopen(vol), backupId: b.id, to: urlOf(occupied), force: true });
    expect(await describeDb(occupied)).toEqual(await describeDb(db));
    expect(await leftoverRestoreDbs()).toEqual([]);
  });
});
