// Fidelity of MySQL/MariaDB backups: a table of hard values (and a table
// without a key, odd names, a trigger, view, routines, an event), Chinook and
// Sakila each restore to the same SHOW CREATE of every object and the same
// ordered data hashes; --force replaces; the recorded extra is right.

import { afterAll, describe, expect, it } from 'vitest';
import { runBackup, runRestore } from '../../../src/jobs/index.js';
import type { MysqlExtra } from '../../../src/sources/mysql/index.js';
import { makeVolume, reopen } from '../../unit/repository/fixtures.js';
import { createDb, describeDb, dropScratch, leftoverRestoreDbs, scratchName, sql, urlOf } from './mysql-helpers.js';
import { join } from 'node:path';
import { SHARED_DIR } from '../../helpers/shared.js';

const DATASETS = join(SHARED_DIR, 'datasets');

const BT = '`';

export const HARD = String.raw`
CREATE TABLE hard (
  id int AUTO_INCREMENT PRIMARY KEY, t text, vb varbinary(64), bl longblob, j json, dt datetime(6), ts timestamp(6) NULL DEFAULT NULL,
  d date, tm time(3), n decimal(40,10), f double, fl float, bits bit(10), e enum('a','b','c'), s set('x','y','z'), y year,
  g int AS (CHAR_LENGTH(t)) VIRTUAL, gs varchar(20) AS (CONCAT('v', e)) STORED, emoji varchar(50) CHARACTER SET utf8mb4,
  lat varchar(50) CHARACTER SET latin1, geo geometry NULL, u bigint unsigned, KEY (t(10)), UNIQUE KEY (vb)
) AUTO_INCREMENT = 1000 COMMENT 'values that break naive dumps';
SET time_zone = '+05:30';
SET sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO');
INSERT INTO hard (id, t) VALUES (0, NULL);
INSERT INTO hard (t, vb, bl, j, dt, ts, d, tm, n, f, fl, bits, e, s, y, emoji, lat, geo, u) VALUES
  ('tab\there\nnewline\\backslash \\N not null\rcr', x'00ff5c0a0d09', x'000102035c4e', '{"k": [1, 2.50, null, "\u00e9"], "nested": {"x": true}}',
   '2020-02-29 23:59:59.999999', '2020-02-29 23:59:59.999999', '0000-00-00', '-838:59:59.000', 123456789012345678901234567890.0123456789,
   1.7976931348623157e308, -3.4e38, b'1010101010', 'c', 'x,z', 2155, 'emoji 😀👍🏽 中文', 'café ü', ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0))', 4326), 18446744073709551615),
  ('', '', '', '[]', '1000-01-01 00:00:00', '1970-01-01 05:30:01', '9999-12-31', '00:00:00', -0.0000000001, -0, 0, b'0', 'a', '', 1901, '', '', NULL, 0),
  ('\\', NULL, NULL, 'null', NULL, NULL, NULL, NULL, NULL, 5e-324, NULL, NULL, NULL, NULL, NULL, '\t', NULL, ST_GeomFromText('POINT(1 2)'), NULL);
SET time_zone = SYSTEM;
INSERT INTO hard (bl) VALUES (REPEAT(x'00ff0a095c', 300000));
CREATE TABLE nopk (a int, b text) ENGINE=InnoDB;
INSERT INTO nopk VALUES (1, 'dup'), (1, 'dup'), (NULL, NULL), (2, '\t'), (3, '');
CREATE TABLE onecol (s varchar(10));
INSERT INTO onecol VALUES (''), (NULL), ('\\N'), ('');
CREATE TABLE ${BT}we!rd name.x%y${BT} (${BT}col "q"${BT} varchar(10) PRIMARY KEY, ${BT}über${BT} int);
INSERT INTO ${BT}we!rd name.x%y${BT} VALUES ('a', 1), ('b', NULL);
CREATE TABLE child (id int PRIMARY KEY, hard_id int, CONSTRAINT fk_hard FOREIGN KEY (hard_id) REFERENCES hard (id) ON DELETE CASCADE);
INSERT INTO child VALUES (1, 1000), (2, 1001), (3, 0);
CREATE TABLE myisam_t (id int PRIMARY KEY, v varchar(10)) ENGINE=MyISAM;
INSERT INTO myisam_t VALUES (1, 'm');
CREATE VIEW hard_view AS SELECT id, t FROM hard;
CREATE VIEW on_view AS SELECT COUNT(*) AS n FROM hard_view;
DELIMITER //
CREATE TRIGGER bump BEFORE INSERT ON hard FOR EACH ROW BEGIN SET NEW.t = CONCAT(NEW.t, ' (bumped)'); END //
CREATE FUNCTION twice(x int) RETURNS int DETERMINISTIC RETURN x * 2 //
CREATE PROCEDURE count_hard(OUT n int) BEGIN SELECT COUNT(*) INTO n FROM hard; END //
DELIMITER ;
CREATE EVENT tidy ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE DO DELETE FROM nopk WHERE a IS NULL;
`;

afterAll(dropScratch);

async function roundTrip(db: string, opts: { to?: string; force?: boolean } = {}) {
  const vol = await makeVolume();
  const b = await runBackup({ volume: vol, database: { name: 'db', url: urlOf(db) }, level: 0, expiresAt: null });
  const target = opts.to ?? scratchName();
  await runRestore({ volume: await reopen(vol), backupId: b.id, to: urlOf(target), force: opts.force ?? false });
  return { backup: b, target, vol };
}

describe('mysql fidelity', () => {
  it('hard values, a table without a key, odd names, views, trigger, routines, event', async () => {
    const db = await createDb({ text: HARD });
    const { backup, target, vol } = await roundTrip(db);
    const source = await describeDb(db);
    expect(Object.keys(source.schema)).toHaveLength(12);
    expect(await describeDb(target)).toEqual(source);
    const extra = ((await (await reopen(vol)).repo.readManifest(backup.id)).extra as unknown as MysqlExtra).mysql;
    expect(extra.tables.map((t) => [t.name, t.rows])).toEqual([
      ['child', 3],
      ['hard', 5],
      ['myisam_t', 1],
      ['nopk', 5],
      ['onecol', 4],
      ['we!rd name.x%y', 2],
    ]);
    expect(extra.tables.every((t) => /^[0-9a-f]{64}$/.test(t.blake3 ?? ''))).toBe(true);
    expect(extra).toMatchObject({ views: 2, triggers: 1, routines: 2, events: 1, nonTransactional: ['myisam_t'] });
    // the restored objects work
    expect(await sql(target, 'SELECT twice(21) AS x')).toEqual([{ x: 42 }]);
    await sql(target, "INSERT INTO hard (t) VALUES ('new')");
    expect(await sql(target, "SELECT id, t FROM hard WHERE t LIKE 'new%'")).toEqual([{ id: 1004, t: 'new (bumped)' }]);
    expect(await leftoverRestoreDbs()).toEqual([]);
  });

  it('Chinook restores to the same schema and data', async () => {
    const db = await createDb({ files: [`${DATASETS}/chinook-mysql.sql`] });
    const { target } = await roundTrip(db);
    const source = await describeDb(db);
    expect(Object.keys(source.data).length).toBeGreaterThanOrEqual(11);
    expect(await describeDb(target)).toEqual(source);
  });

  it('Sakila (routines, triggers, views, FULLTEXT, spatial, MyISAM) restores to the same schema and data; --force replaces', async () => {
    const db = await createDb({ files: [`${DATASETS}/sakila-mysql-schema.sql`, `${DATASETS}/sakila-mysql-data.sql`], qualifiedAs: 'sakila' });
    const source = await describeDb(db);
    expect(Object.keys(source.schema).filter((k) => /^(view|trigger|procedure|function) /.test(k)).length).toBeGreaterThanOrEqual(7 + 3 + 3 + 3);
    const { target } = await roundTrip(db);
    expect(await describeDb(target)).toEqual(source);
    // over an occupied database with --force
    const occupied = await createDb({ text: 'CREATE TABLE old (x int); CREATE VIEW old_v AS SELECT 1 AS one;' });
    await roundTrip(db, { to: occupied, force: true });
    expect(await describeDb(occupied)).toEqual(source);
    expect(await leftoverRestoreDbs()).toEqual([]);
  });
});
