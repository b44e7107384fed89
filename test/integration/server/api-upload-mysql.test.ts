// Upload-restore of MySQL/MariaDB over real HTTPS against the local MariaDB:
// the export downloaded from the API (and a plain mariadb-dump of the same
// database) uploaded again with the caller's password restores the same data
// and the same SHOW CREATE of tables, views, triggers and routines; so does a
// `mariadb-dump --databases SRC` dump (also with --add-drop-database) of
// another database, whose USE/CREATE/DROP/ALTER DATABASE lines are
// neutralised: SRC itself is left untouched, the rewritten copy is removed,
// and the progress of its load counts bytes of the upload up to 100%. A script that fails in the middle, an
// aborted load, a dump of two databases, a file that is no dump and a wrong
// password change nothing and leave no scratch database behind.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDatabase } from '../../../src/catalog/index.js';
import { normalizeDatabaseUrl } from '../../../src/jobs/index.js';
import { restoreExport, validateExport } from '../../../src/jobs/upload/index.js';
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
/** Another database with the same objects, its default character set changed after the routines were created. */
let src: string;

beforeAll(async () => {
  t = await startTestServer({ label: 'api-upload-mysql' });
  db = await createDb({ text: SCHEMA });
  addDatabase(t.catalog, { name: 'shopmy', url: normalizeDatabaseUrl(urlOf(db)) });
  before = await describeDb(db);
  expect(Object.keys(before.schema).sort()).toEqual([
    'function twice', 'procedure count_orders', 'table audit', 'table customers', 'table orders', 'trigger audit_orders', 'view big_customers', 'view on_view',
  ]);
  dumped = execFileSync('mariadb-dump', ['-uroot', '-h127.0.0.1', '--routines', '--events', '--triggers', db], { maxBuffer: 64 << 20 });
  src = await createDb({ text: SCHEMA });
  await sql(src, `ALTER DATABASE \`${src}\` CHARACTER SET latin1 COLLATE latin1_swedish_ci`);
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

  it('loads a script as SQL only: client commands (a shell, a file, another connection) fail the load and change nothing', async () => {
    await sql(db, 'CREATE TABLE upload_probe (i int)'); // not in the dump: a load that ran would drop it
    const changed = await describeDb(db);
    const marker = t.scratch.path('client-command-ran');
    const text = dumped.toString('latin1');
    const at = text.indexOf('CREATE TABLE');
    for (const command of [`\\! touch ${marker}`, `system touch ${marker}`, `\\. ${marker}`, 'connect mysql']) {
      const end = await uploadAndFollow(Buffer.from(`${text.slice(0, at)}${command}\n${text.slice(at)}`, 'latin1'));
      expect(end.status, command).toBe('failed');
      expect(end.error, command).toMatch(/loading the uploaded script \((mariadb|mysql)\): ERROR/);
    }
    expect(existsSync(marker)).toBe(false);
    expect(await describeDb(db)).toEqual(changed);
    expect(await leftoverRestoreDbs()).toEqual([]);
    await sql(db, 'DROP TABLE upload_probe');
  });

  it('restores a plain mariadb-dump of the database', async () => {
    expect(dumped.toString('utf8', 0, 200)).toMatch(/-- MariaDB dump /);
    await change();
    const end = await uploadAndFollow(dumped);
    expect(end.status, end.error ?? '').toBe('succeeded');
    expect(await describeDb(db)).toEqual(before);
    expect(await leftoverRestoreDbs()).toEqual([]);
  });

  it('restores a mariadb-dump --databases dump of another database into the target, leaving that database untouched', async () => {
    const source = await describeDb(src);
    expect(source.database).toBe('latin1 latin1_swedish_ci');
    for (const extra of [[], ['--add-drop-database']]) {
      const dump = execFileSync('mariadb-dump', ['-uroot', '-h127.0.0.1', '--routines', '--events', '--triggers', ...extra, '--databases', src], { maxBuffer: 64 << 20 });
      const text = dump.toString('latin1');
      expect(text).toContain(`\nCREATE DATABASE /*!32312 IF NOT EXISTS*/ \`${src}\` /*!40100 DEFAULT CHARACTER SET latin1 COLLATE latin1_swedish_ci */;\n`);
      expect(text).toContain(`\nUSE \`${src}\`;\n`);
      // mariadb-dump switches the database's collation to the routines' own around each of them.
      expect(text).toContain(`\nALTER DATABASE \`${src}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci ;\n`);
      if (extra.length > 0) expect(text).toContain(`\n/*!40000 DROP DATABASE IF EXISTS \`${src}\`*/;\n`);
      // A table the dump does not hold: it would vanish if the dump's DROP DATABASE ran, and the load would land beside it after its USE.
      await sql(src, 'CREATE TABLE not_in_dump (i int); INSERT INTO not_in_dump VALUES (7)');
      const sourceNow = await describeDb(src);
      await change();

      const end = await uploadAndFollow(dump);
      expect(end, end.error ?? '').toMatchObject({ kind: 'restore', database: 'shopmy', status: 'succeeded', figures: { upload: true, format: 'mysql-sql', bytes: dump.length } });
      expect(await describeDb(db)).toEqual(source);
      expect(await describeDb(src)).toEqual(sourceNow);
      expect(await leftoverRestoreDbs()).toEqual([]);
      // The rewritten copy went with the upload folder.
      const uploads = join(t.home, 'uploads');
      const deadline = Date.now() + 10_000;
      while (readdirSync(uploads).length > 0) {
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await sql(src, 'DROP TABLE not_in_dump');
    }
    // The restored triggers work in the target.
    await sql(db, 'INSERT INTO orders (customer_id) VALUES (1)');
    expect(await sql(db, 'SELECT what FROM audit ORDER BY n DESC LIMIT 1')).toEqual([{ what: 'order 5' }]);
  });

  it('reports the progress of loading the rewritten copy in bytes of the upload, up to 100%, and removes the copy', async () => {
    const dump = execFileSync('mariadb-dump', ['-uroot', '-h127.0.0.1', '--routines', '--triggers', '--add-drop-database', '--databases', src], { maxBuffer: 64 << 20 });
    // A pause in the middle of the load, so that the client's read offset is sampled (once a second).
    const text = dump.toString('latin1');
    const cut = text.indexOf('UNLOCK TABLES;\n') + 'UNLOCK TABLES;\n'.length;
    const file = t.scratch.path('progress.sql');
    writeFileSync(file, Buffer.from(`${text.slice(0, cut)}SELECT SLEEP(1.5);\n${text.slice(cut)}`, 'latin1'));
    const size = statSync(file).size;
    const valid = await validateExport(urlOf(db), file);
    expect(valid.load).toBe(`${file}.arca-load`);
    expect(statSync(valid.load).size).not.toBe(size); // comments added, names dropped from ALTER DATABASE
    const seen: Array<{ bytesDone: number; bytesTotal: number | null }> = [];
    const result = await restoreExport({ url: urlOf(db), file, load: valid.load, format: valid.format, onProgress: (p) => seen.push(p) });
    expect(result).toMatchObject({ format: 'mysql-sql', bytes: size });
    expect(seen[0]).toMatchObject({ bytesDone: 0, bytesTotal: size });
    expect(seen.at(-1)).toMatchObject({ bytesDone: size, bytesTotal: size });
    expect(seen.some((p) => p.bytesDone > 0 && p.bytesDone < size), JSON.stringify(seen)).toBe(true);
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]!.bytesTotal).toBe(size);
      expect(seen[i]!.bytesDone).toBeGreaterThanOrEqual(seen[i - 1]!.bytesDone);
    }
    expect(existsSync(valid.load)).toBe(false);
    expect(existsSync(file)).toBe(true);
    expect(await describeDb(db)).toEqual(await describeDb(src));
  });

  it('refuses files that are no dump of one database, NUL bytes and a wrong password, changing nothing', async () => {
    const changed = await change();
    const sourceBefore = await describeDb(src);
    const two = execFileSync('mariadb-dump', ['-uroot', '-h127.0.0.1', '--routines', '--add-drop-database', '--databases', src, db], { maxBuffer: 64 << 20 });
    const attempts: Array<[number, Buffer, string?, RegExp?]> = [
      [400, Buffer.from('hello world\nDROP TABLE customers;\n'), undefined, /not a MySQL\/MariaDB export/],
      [400, Buffer.from('PGDMP\0\0binary'), undefined, /not a MySQL\/MariaDB export/],
      [400, two, undefined, new RegExp(`names two databases, \`${src}\` \\(line \\d+\\) and \`${db}\` \\(line \\d+\\): an upload restores ONE database`)],
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
    expect(await describeDb(src)).toEqual(sourceBefore);
    expect(await leftoverRestoreDbs()).toEqual([]);
    expect(readdirSync(join(t.home, 'uploads'))).toEqual([]);
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
