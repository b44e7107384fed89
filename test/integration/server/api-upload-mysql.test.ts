// Upload-restore of MySQL/MariaDB over real HTTPS against the local MariaDB:
// the export downloaded from the API (and a plain mariadb-dump of the same
// database) uploaded again with the caller's password restores the same data
// and the same SHOW CREATE of tables, views, triggers and routines; a script
// that fails in the middle, an aborted load, a dump of several databases, a
// file that is no dump and a wrong password change nothing and leave no
// scratch database behind.
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDatabase } from '../../../src/catalog/index.js';
import { normalizeDatabaseUrl } from '../../../src/jobs/index.js';
import { JobSchema } from '../../../src/server/schemas.js';
import { scratchName as restoreScratchName } from '../../../src/sources/mysql/mysql-scratch.js';
import { errorOf } from './client.js';
import { backupAndDownload, followJob, PASSWORDS, startTestServer, type TestServer } from './fixture.js';
import { createDb, describeDb, dropScratch, leftoverRestoreDbs, sql, urlOf } from '../mysql/mysql-helpers.js';

const SCHEMA = String.raw`
CREATE TABLE customers (id int AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL, note text, avatar varbinary(32), UNIQUE KEY (name))
  AUTO_INCREMENT = 500 DEFAULT CHARSET = utf8mb4;
CREATE TABLE orders (
  id int AUTO_INCREMENT PRIMARY KEY, customer_id int NOT NULL, total decimal(12,2), at timestamp(3) NULL DEFAULT NULL, raw longblob,
  status enum('new','paid','gone') NOT NULL DEFAULT 'new', flags bit(5), j json,
  CONSTRAINT fk_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE
);
CREATE TABLE audit (n int AUTO_INCREMENT PRIMARY KEY, what varchar(200));
INSERT INTO customers (id, name, note, avatar) VALUES
  (1, 'plain', NULL, NULL),
  (2, 'tab\there\nnewline\\backslash \\N not null\rcr ''quote''', 'emoji 😀👍🏽 中文 café', x'00ff5c0a0d09275c4e'),
  (3, '', '', ''),
  (4, '\\', '\t', x'00');
INSERT INTO orders (customer_id, total, at, raw, status, flags, j) VALUES
  (1, 10.50, '2020-02-29 23:59:59.999', REPEAT(x'00ff0a095c27', 5000), 'paid', b'10101', '{"k": [1, null, "\u00e9"]}'),
  (2, NULL, NULL, NULL, 'new', NULL, NULL),
  (2, -0.01, '1970-01-01 00:00:01', x'', 'gone', b'0', '[]');
CREATE VIEW big_customers AS SELECT c.id, c.name, COUNT(o.id) AS n FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.id, c.name;
CREATE VIEW on_view AS SELECT COUNT(*) AS n FROM big_customers;
DELIMITER //
CREATE TRIGGER audit_orders AFTER INSERT ON orders FOR EACH ROW BEGIN INSERT INTO audit (what) VALUES (CONCAT('order ', NEW.id)); END //
CREATE FUNCTION twice(x int) RETURNS int DETERMINISTIC RETURN x * 2 //
CREATE PROCEDURE count_orders(OUT n int) BEGIN SELECT COUNT(*) INTO n FROM orders; END //
DELIMITER ;
INSERT INTO orders (customer_id, total) VALUES (3, 99.99);
`;

let t: TestServer;
let db: string;
let before: Awaited<ReturnType<typeof describeDb>>;
let exported: Buffer;
let dumped: Buffer;

beforeAll(async () => {
  t = await startTestServer({ label: 'api-upload-mysql' });
  db = await createDb({ text: SCHEMA });
  addDatabase(t.catalog, { name: 'shopmy', url: normalizeDatabaseUrl(urlOf(db)) });
  before = await describeDb(db);
  expect(Object.keys(before.schema).sort()).toEqual([
    'function twice', 'procedure count_orders', 'table audit', 'table customers', 'table orders', 'trigger audit_orders', 'view big_customers', 'view on_view',
  ]);
  dumped = execFileSync('mariadb-dump', ['-uroot', '-h127.0.0.1', '--routines', '--events', '--triggers', db], { maxBuffer: 64 << 20 });
});
afterAll(async () => {
  await t?.close();
  await dropScratch();
});

const upload = (data: Buffer, password = PASSWORDS.operator) =>
  t.as.operator.upload('/api/v1/databases/shopmy/restore/upload', [
    ['password', password],
    ['file', { filename: 'shopmy.sql', data }],
  ]);

async function uploadAndFollow(data: Buffer) {
  const r = await upload(data);
  expect(r.status, r.text).toBe(202);
  return followJob(t.as.viewer, JobSchema.parse(r.json).id);
}

/** Changes data and schema, so that a restore shows. */
async function change(): Promise<Awaited<ReturnType<typeof describeDb>>> {
  await sql(db, "DELETE FROM customers WHERE id = 2; INSERT INTO customers (name) VALUES ('changed'); DROP VIEW on_view; CREATE TABLE extra (i int)");
  const changed = await describeDb(db);
  expect(changed).not.toEqual(before);
  return changed;
}

describe('MySQL/MariaDB upload-restore', () => {
  it('restores the downloaded export to the same data and schema; a broken script changes nothing', async () => {
    exported = await backupAndDownload(t, 'shopmy');
    expect(exported.toString('utf8', 0, 100)).toMatch(/^-- MySQL\/MariaDB export of backup /);
    const changed = await change();

    // Valid header, a syntax error in the middle (after the tables were created and some loaded).
    const text = exported.toString('latin1');
    const cut = text.indexOf('START TRANSACTION;', text.indexOf('START TRANSACTION;') + 1);
    expect(cut).toBeGreaterThan(0);
    const broken = Buffer.from(`${text.slice(0, cut)}SELEC broken syntax;\n${text.slice(cut)}`, 'latin1');
    const failed = await uploadAndFollow(broken);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/loading the uploaded script \((mariadb|mysql)\): ERROR 1064/);
    expect(await describeDb(db)).toEqual(changed);
    expect(await leftoverRestoreDbs()).toEqual([]);

    // A scratch database abandoned by a killed restore (its process is gone) is dropped by the next one.
    const gone = spawnSync('true').pid!;
    const orphan = restoreScratchName().replace(/_\d+_([0-9a-f]+)$/, `_${gone}_$1`);
    await sql(undefined, `CREATE DATABASE \`${orphan}\``);

    const end = await uploadAndFollow(exported);
    expect(end, end.error ?? '').toMatchObject({ kind: 'restore', database: 'shopmy', status: 'succeeded', figures: { upload: true, format: 'mysql-sql' } });
    expect(await describeDb(db)).toEqual(before);
    expect(await leftoverRestoreDbs()).toEqual([]);
    // The triggers work in the restored database.
    await sql(db, 'INSERT INTO orders (customer_id) VALUES (1)');
    expect(await sql(db, 'SELECT what FROM audit ORDER BY n DESC LIMIT 1')).toEqual([{ what: "order 5" }]);
  });

  it('restores a plain mariadb-dump of the database', async () => {
    expect(dumped.toString('utf8', 0, 200)).toMatch(/-- MariaDB dump /);
    await change();
    const end = await uploadAndFollow(dumped);
    expect(end.status, end.error ?? '').toBe('succeeded');
    expect(await describeDb(db)).toEqual(before);
    expect(await leftoverRestoreDbs()).toEqual([]);
  });

  it('refuses files that are no dump of one database, NUL bytes and a wrong password, changing nothing', async () => {
    const changed = await change();
    const several = execFileSync('mariadb-dump', ['-uroot', '-h127.0.0.1', '--databases', db], { maxBuffer: 64 << 20 });
    const attempts: Array<[number, Buffer, string?, RegExp?]> = [
      [400, Buffer.from('hello world\nDROP TABLE customers;\n'), undefined, /not a MySQL\/MariaDB export/],
      [400, Buffer.from('PGDMP\0\0binary'), undefined, /not a MySQL\/MariaDB export/],
      [400, several, undefined, /creates, drops or alters a database at line \d+/],
      [400, Buffer.concat([exported.subarray(0, 300), Buffer.from([0]), exported.subarray(300)]), undefined, /NUL bytes/],
      [403, exported, 'not my password', /password/],
    ];
    for (const [status, data, password, message] of attempts) {
      const r = await upload(data, password);
      expect(r.status, r.text).toBe(status);
      expect(errorOf(r).message).toMatch(message!);
      expect(errorOf(r).message).not.toContain(PASSWORDS.operator);
    }
    expect(await describeDb(db)).toEqual(changed);
    expect(await leftoverRestoreDbs()).toEqual([]);
  });

  it('an aborted load kills the client, drops the scratch database and leaves the target as it was', async () => {
    const changed = await describeDb(db);
    const text = exported.toString('latin1');
    const cut = text.indexOf('START TRANSACTION;');
    const slow = Buffer.from(`${text.slice(0, cut)}SELECT SLEEP(60);\n${text.slice(cut)}`, 'latin1');
    const r = await upload(slow);
    expect(r.status, r.text).toBe(202);
    const id = JobSchema.parse(r.json).id;
    const deadline = Date.now() + 20_000;
    while ((await sql<unknown[]>(undefined, "SELECT 1 FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(60)%'")).length === 0) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const started = Date.now();
    expect((await t.as.operator.put(`/api/v1/jobs/${id}/abort`, { body: {} })).status).toBe(202);
    const end = await followJob(t.as.viewer, id);
    expect(end.status, end.error ?? '').toBe('aborted');
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(await describeDb(db)).toEqual(changed);
    expect(await leftoverRestoreDbs()).toEqual([]);
    expect(await sql<unknown[]>(undefined, "SELECT 1 FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(60)%'")).toEqual([]);
  });
});
