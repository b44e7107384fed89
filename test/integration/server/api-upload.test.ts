// Download and upload-restore over real HTTPS: an export downloaded from the
// API and uploaded again (with the caller's password entered again) restores
// the database to the same data (SQLite, PostgreSQL, a directory); a wrong
// or missing password, a file that is not the database's export format, an
// upload over the size limit, and a viewer are refused and change nothing.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDatabase } from '../../../src/catalog/index.js';
import { normalizeDatabaseUrl } from '../../../src/jobs/index.js';
import { JobSchema } from '../../../src/server/schemas.js';
import { errorOf, type ApiClient } from './client.js';
import { backupAndDownload, followJob, PASSWORDS, startTestServer, type TestServer } from './fixture.js';
import { createDb, describeDb, dropScratch, leftoverRestoreDbs, sql, urlOf } from '../postgres/pg-helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ label: 'api-upload', uploadLimit: 4 * 1024 * 1024 });
});
afterAll(async () => {
  await t?.close();
  await dropScratch();
});

const upload = (db: string, parts: Array<[string, string | { filename: string; data: Buffer }]>, client: ApiClient = t.as.operator) =>
  client.upload(`/api/v1/databases/${db}/restore/upload`, parts);

describe('SQLite', () => {
  const rows = (file: string) => {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare('SELECT id, name FROM items ORDER BY id').all();
    } finally {
      db.close();
    }
  };

  it('restores an uploaded export to the same data; refuses wrong passwords, foreign files and viewers', async () => {
    const file = t.scratch.path('app.db');
    const db = new Database(file);
    db.exec("PRAGMA journal_mode = WAL; CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO items (name) VALUES ('a'), ('b'), ('c')");
    db.close();
    addDatabase(t.catalog, { name: 'app', url: normalizeDatabaseUrl(file) });
    const original = rows(file);
    const exported = await backupAndDownload(t, 'app');
    expect(exported.subarray(0, 15).toString('latin1')).toBe('SQLite format 3');

    const live = new Database(file);
    live.exec("DELETE FROM items WHERE id = 1; INSERT INTO items (name) VALUES ('changed')");
    live.close();
    const changed = rows(file);
    expect(changed).not.toEqual(original);

    const attempts: Array<[number, Array<[string, string | { filename: string; data: Buffer }]>, ApiClient?]> = [
      [403, [['password', 'not my password'], ['file', { filename: 'app.db', data: exported }]]],
      [403, [['file', { filename: 'app.db', data: exported }], ['password', PASSWORDS.admin]]],
      [400, [['file', { filename: 'app.db', data: exported }]]],
      [400, [['password', PASSWORDS.operator]]],
      [400, [['password', PASSWORDS.operator], ['file', { filename: 'app.db', data: Buffer.from('-- not a database\n') }]]],
      [400, [['password', PASSWORDS.operator], ['extra', 'x'], ['file', { filename: 'app.db', data: exported }]]],
      [413, [['password', PASSWORDS.operator], ['file', { filename: 'big.db', data: randomBytes(5 * 1024 * 1024) }]]],
      [403, [['password', PASSWORDS.viewer], ['file', { filename: 'app.db', data: exported }]], t.as.viewer],
    ];
    for (const [status, parts, client] of attempts) {
      const r = await upload('app', parts, client);
      expect(r.status, r.text).toBe(status);
      expect(errorOf(r).message).not.toContain(PASSWORDS.operator);
    }
    expect(rows(file)).toEqual(changed);
    expect((await t.as.operator.post('/api/v1/databases/app/restore/upload', { password: PASSWORDS.operator })).status).toBe(400);

    const r = await upload('app', [['password', PASSWORDS.operator], ['file', { filename: 'app.db', data: exported }]]);
    expect(r.status, r.text).toBe(202);
    const end = await followJob(t.as.viewer, JobSchema.parse(r.json).id);
    expect(end, end.error ?? '').toMatchObject({ kind: 'restore', database: 'app', status: 'succeeded', figures: { upload: true, format: 'sqlite' } });
    expect(rows(file)).toEqual(original);
    expect(readFileSync(file).subarray(0, 15).toString('latin1')).toBe('SQLite format 3');
  });
});

describe('PostgreSQL', () => {
  it('restores an uploaded export script to the same data, swapping it in only after it loaded', async () => {
    const name = await createDb({
      text: `CREATE TABLE orders (id serial PRIMARY KEY, customer text NOT NULL, total numeric(10,2), at timestamptz DEFAULT now());
             CREATE INDEX orders_customer ON orders (customer);
             INSERT INTO orders (customer, total) SELECT 'c' || (g % 17), g * 1.5 FROM generate_series(1, 500) g;
             CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;`,
    });
    addDatabase(t.catalog, { name: 'shop', url: urlOf(name) });
    const before = await describeDb(name);
    const exported = await backupAndDownload(t, 'shop');
    expect(exported.toString('utf8', 0, 200)).toMatch(/^-- PostgreSQL export of backup/);

    await sql(name, "DELETE FROM orders WHERE id < 100; INSERT INTO orders (customer, total) VALUES ('new', 1)");
    const broken = Buffer.concat([exported, Buffer.from('\nSELECT no_such_function();\n')]);
    const failed = await upload('shop', [['password', PASSWORDS.operator], ['file', { filename: 'shop.sql', data: broken }]]);
    expect(failed.status, failed.text).toBe(202);
    expect((await followJob(t.as.viewer, JobSchema.parse(failed.json).id)).status).toBe('failed');
    expect((await sql(name, 'SELECT count(*)::int AS n FROM orders')).rows[0]).toEqual({ n: 402 });
    expect((await upload('shop', [['password', PASSWORDS.operator], ['file', { filename: 'x.sql', data: Buffer.from('hello world\n') }]])).status).toBe(400);

    const r = await upload('shop', [['password', PASSWORDS.operator], ['file', { filename: 'shop.sql', data: exported }]]);
    expect(r.status, r.text).toBe(202);
    const end = await followJob(t.as.viewer, JobSchema.parse(r.json).id);
    expect(end.status, end.error ?? '').toBe('succeeded');
    expect(await describeDb(name)).toEqual(before);
    expect(await leftoverRestoreDbs()).toEqual([]);
  });
  it('restores an uploaded pg_dump -Fc archive (fed to pg_restore on stdin); a truncated one changes nothing', async () => {
    const name = await createDb({
      text: `CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL, tags text[]);
             INSERT INTO notes (body, tags) SELECT repeat(md5(g::text), 8), ARRAY['t' || (g % 5)] FROM generate_series(1, 3000) g;
             CREATE UNIQUE INDEX notes_body ON notes (body, id);`,
    });
    addDatabase(t.catalog, { name: 'notes', url: urlOf(name) });
    const before = await describeDb(name);
    const archive = t.scratch.path('notes.dump');
    execFileSync('pg_dump', ['-Fc', '-h', '127.0.0.1', '-U', 'postgres', '-f', archive, name]);
    const data = readFileSync(archive);
    expect(data.subarray(0, 5).toString('latin1')).toBe('PGDMP');

    await sql(name, "DELETE FROM notes WHERE id % 2 = 0; INSERT INTO notes (body) VALUES ('after the dump')");
    const changed = await describeDb(name);
    const truncated = await upload('notes', [['password', PASSWORDS.operator], ['file', { filename: 'notes.dump', data: data.subarray(0, data.length - 4000) }]]);
    if (truncated.status === 202) expect((await followJob(t.as.viewer, JobSchema.parse(truncated.json).id)).status).toBe('failed');
    else expect(truncated.status, truncated.text).toBe(400);
    expect(await describeDb(name)).toEqual(changed);

    const r = await upload('notes', [['password', PASSWORDS.operator], ['file', { filename: 'notes.dump', data }]]);
    expect(r.status, r.text).toBe(202);
    const end = await followJob(t.as.viewer, JobSchema.parse(r.json).id);
    expect(end, end.error ?? '').toMatchObject({ status: 'succeeded', figures: { upload: true, format: 'pg-custom' } });
    expect(await describeDb(name)).toEqual(before);
    expect(await leftoverRestoreDbs()).toEqual([]);
  });

  it('loads a script as SQL only: psql commands (a shell, another database) are refused and change nothing', async () => {
    const other = await createDb({ text: 'CREATE TABLE kept (id int PRIMARY KEY); INSERT INTO kept VALUES (1);' });
    const name = await createDb({ text: 'CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, $$one$$), (2, $$two$$);' });
    addDatabase(t.catalog, { name: 'guarded', url: urlOf(name) });
    const before = await describeDb(name);
    const otherBefore = await describeDb(other);
    const dump = execFileSync('pg_dump', ['-h', '127.0.0.1', '-U', 'postgres', name], { encoding: 'utf8' });
    const dumpKey = /^\\restrict (\w+)$/m.exec(dump)?.[1];
    expect(dumpKey, 'pg_dump brackets its script with \\restrict').toBeDefined();
    const marker = t.scratch.path(`shell-ran-${randomBytes(4).toString('hex')}`);
    const attacks = [
      `\\! touch ${marker}`,
      // The dump's own key is in the file, so its author knows it; psql was restricted with another.
      `\\unrestrict ${dumpKey}\n\\! touch ${marker}`,
      `\\connect ${other}\nDROP TABLE kept;`,
      `\\o ${marker}\nSELECT 1;`,
    ];
    for (const attack of attacks) {
      const script = dump.replace(/^(CREATE TABLE public\.t )/m, `${attack}\n$1`);
      const line = script.slice(0, script.indexOf(attack)).split('\n').length + (attack.startsWith('\\unrestrict') ? 1 : 0);
      const r = await upload('guarded', [['password', PASSWORDS.operator], ['file', { filename: 'guarded.sql', data: Buffer.from(script) }]]);
      expect(r.status, r.text).toBe(202);
      const end = await followJob(t.as.viewer, JobSchema.parse(r.json).id);
      expect(end.status, attack).toBe('failed');
      expect(end.error, attack).toContain(`the uploaded script holds a psql command on line ${line}`);
    }
    expect(existsSync(marker)).toBe(false);
    expect(await describeDb(other)).toEqual(otherBefore);
    expect(await describeDb(name)).toEqual(before);
    expect(await leftoverRestoreDbs()).toEqual([]);
  });

  it('restores a pg_dump script whose COPY data holds lines like its \\restrict ones, unchanged', async () => {
    // COPY text writes a carriage return as \r: a value of a carriage return and "estrict abc123" is the data line "\restrict abc123".
    const name = await createDb({
      text: `CREATE TABLE lines (v text);
             INSERT INTO lines VALUES ('\\restrict abc123'), (chr(13) || 'estrict abc123'), (chr(13) || 'estrict ' || repeat('k', 64)), ('\\.x');`,
    });
    addDatabase(t.catalog, { name: 'lines', url: urlOf(name) });
    const before = await describeDb(name);
    const dump = execFileSync('pg_dump', ['-h', '127.0.0.1', '-U', 'postgres', name], { encoding: 'utf8' });
    expect(dump).toMatch(/^\\restrict abc123$/m); // the second row, as a COPY data line
    await sql(name, 'DELETE FROM lines');
    const r = await upload('lines', [['password', PASSWORDS.operator], ['file', { filename: 'lines.sql', data: Buffer.from(dump) }]]);
    expect(r.status, r.text).toBe(202);
    const end = await followJob(t.as.viewer, JobSchema.parse(r.json).id);
    expect(end.status, end.error ?? '').toBe('succeeded');
    expect(await describeDb(name)).toEqual(before);
  });
});

describe('directories', () => {
  it('restores an uploaded tar export to the same files', async () => {
    const dir = t.scratch.path('docs');
    const exported = await backupAndDownload(t, 'docs');
    writeFileSync(`${dir}/readme.txt`, 'changed\n');
    writeFileSync(`${dir}/extra.txt`, 'extra\n');
    const r = await upload('docs', [['password', PASSWORDS.operator], ['file', { filename: 'docs.tar', data: exported }]]);
    expect(r.status, r.text).toBe(202);
    expect((await followJob(t.as.viewer, JobSchema.parse(r.json).id)).status).toBe('succeeded');
    expect(readFileSync(`${dir}/readme.txt`, 'utf8')).toBe('hello from the api test\n');
    expect(() => readFileSync(`${dir}/extra.txt`)).toThrow();
    expect((await upload('docs', [['password', PASSWORDS.operator], ['file', { filename: 'x.tar', data: Buffer.from('not a tar at all') }]])).status).toBe(400);
  });
});
