// Helpers for the MySQL/MariaDB integration tests: scratch databases named
// arca_test_<random> on the local server (root, no password), dropped
// afterwards, and a comparable description of a database (SHOW CREATE of
// every object plus an ordered hash of every table's rows, computed here
// independently of the driver's own encoding).

import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';

export const SERVER = 'mysql://root@127.0.0.1:3306';
export const urlOf = (db: string) => `${SERVER}/${db}`;

const made = new Set<string>();

export function scratchName(): string {
  const name = `arca_test_${randomBytes(6).toString('hex')}`;
  made.add(name);
  return name;
}

export async function conn(db?: string): Promise<mysql.Connection> {
  return mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: db, multipleStatements: true, charset: 'UTF8MB4_GENERAL_CI' });
}

export async function sql<T = unknown>(db: string | undefined, text: string, params: unknown[] = []): Promise<T> {
  const c = await conn(db);
  try {
    return (await c.query(text, params))[0] as T;
  } finally {
    await c.end();
  }
}

/**
 * Creates a scratch database and loads SQL (files or text) with the mariadb
 * client (DELIMITER works); the datasets' own CREATE/DROP/USE of a database
 * are left out so that they load into the scratch one.
 */
/**
 * A scratch database loaded from dump files and/or SQL text. `qualifiedAs`:
 * the database name the files qualify objects with (Sakila's views say
 * `sakila.film`), rewritten to the scratch name so nothing outside it is needed.
 */
export async function createDb(opts: { files?: string[]; text?: string; qualifiedAs?: string } = {}): Promise<string> {
  const name = scratchName();
  await sql(undefined, `CREATE DATABASE ${name}`);
  const rewrite = opts.qualifiedAs ? ` | sed -E 's/\\b${opts.qualifiedAs}\\./${name}./g'` : '';
  for (const file of opts.files ?? []) execFileSync('sh', ['-c', `grep -Eiv '^(CREATE|DROP) (DATABASE|SCHEMA)|^USE ' "${file}"${rewrite} | mariadb -uroot -h127.0.0.1 ${name}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (opts.text) execFileSync('mariadb', ['-uroot', '-h127.0.0.1', '--default-character-set=utf8mb4', name], { input: opts.text, stdio: ['pipe', 'ignore', 'pipe'] });
  return name;
}

export async function dropScratch(): Promise<void> {
  for (const name of made) await sql(undefined, `DROP DATABASE IF EXISTS \`${name}\``).catch(() => undefined);
  made.clear();
}

export async function leftoverRestoreDbs(): Promise<string[]> {
  return (await sql<Array<{ n: string }>>(undefined, "SELECT SCHEMA_NAME AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'arca\\_restore\\_%'")).map((r) => r.n);
}

export interface DbDescription {
  database: string;
  schema: Record<string, string>;
  data: Record<string, string>;
}

const q = (n: string) => '`' + n.replace(/`/g, '``') + '`';

export async function describeDb(urlOrName: string): Promise<DbDescription> {
  const db = urlOrName.includes('://') ? decodeURIComponent(new URL(urlOrName).pathname.slice(1)) : urlOrName;
  const c = await conn(db);
  try {
    await c.query("SET SESSION time_zone = '+00:00'");
    const one = async (text: string, params: unknown[] = []) => ((await c.query(text, params))[0] as Array<Record<string, string>>)[0]!;
    const many = async (text: string, params: unknown[] = []) => (await c.query(text, params))[0] as Array<Record<string, string>>;
    const sch = await one('SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS co FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [db]);
    const schema: Record<string, string> = {};
    const data: Record<string, string> = {};
    for (const t of await many('SELECT TABLE_NAME AS n, TABLE_TYPE AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1', [db])) {
      if (t.t === 'VIEW') {
        schema[`view ${t.n}`] = (await one(`SHOW CREATE VIEW ${q(t.n!)}`))['Create View']!;
        continue;
      }
      schema[`table ${t.n}`] = (await one(`SHOW CREATE TABLE ${q(t.n!)}`))['Create Table']!;
      const ncols = (await many('SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [db, t.n])).length;
      const order = Array.from({ length: ncols }, (_, i) => i + 1).join(', ');
      const [rows] = await c.query({ sql: `SELECT * FROM ${q(t.n!)} ORDER BY ${order}`, rowsAsArray: true, typeCast: false });
      const h = createHash('sha256');
      for (const r of rows as Array<Array<Buffer | null>>) h.update(JSON.stringify(r.map((v) => (v === null ? null : v.toString('hex')))) + '\n');
      data[t.n!] = `${(rows as unknown[]).length} ${h.digest('hex')}`;
    }
    for (const t of await many('SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY 1', [db])) {
      const s = await one(`SHOW CREATE TRIGGER ${q(t.n!)}`);
      schema[`trigger ${t.n}`] = [s.sql_mode, s['SQL Original Statement'], s.character_set_client, s.collation_connection].join('\n');
    }
    for (const r of await many('SELECT ROUTINE_NAME AS n, ROUTINE_TYPE AS t FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY 2, 1', [db])) {
      const s = await one(`SHOW CREATE ${r.t} ${q(r.n!)}`);
      schema[`${r.t!.toLowerCase()} ${r.n}`] = [s.sql_mode, s[r.t === 'PROCEDURE' ? 'Create Procedure' : 'Create Function'], s.character_set_client, s.collation_connection].join('\n');
    }
    for (const e of await many('SELECT EVENT_NAME AS n FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY 1', [db])) {
      const s = await one(`SHOW CREATE EVENT ${q(e.n!)}`);
      schema[`event ${e.n}`] = [s.sql_mode, s.time_zone, s['Create Event']].join('\n');
    }
    return { database: `${sch.cs} ${sch.co}`, schema, data };
  } finally {
    await c.end();
  }
}

/** Runs a shell pipeline (for datasets that need the mariadb client). */
export function shell(cmd: string): string {
  return execFileSync('sh', ['-c', cmd], { encoding: 'utf8' });
}
