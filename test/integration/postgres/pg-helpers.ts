// Helpers for the PostgreSQL integration tests: scratch databases named
// arca_test_<random> on the local server (trust auth), dropped afterwards,
// and a comparable description of a database (normalized schema dump plus
// ordered data hashes of every table, sequence values, large objects), and
// Chinook loaded into a scratch database.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { datasetPath } from '../../helpers/shared.js';

export const SERVER = 'postgres://postgres@127.0.0.1:5432';
export const urlOf = (db: string) => `${SERVER}/${db}`;

const made = new Set<string>();

export function scratchName(): string {
  const name = `arca_test_${randomBytes(6).toString('hex')}`;
  made.add(name);
  return name;
}

export async function sql(db: string, text: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: urlOf(db) });
  await c.connect();
  try {
    return await c.query(text, params);
  } finally {
    await c.end();
  }
}

/** Creates a scratch database, optionally loading a SQL file or text with psql. */
export async function createDb(opts: { file?: string; text?: string } = {}): Promise<string> {
  const name = scratchName();
  await sql('postgres', `CREATE DATABASE ${name}`);
  if (opts.file || opts.text) {
    execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', urlOf(name), ...(opts.file ? ['-f', opts.file] : [])], {
      input: opts.text ?? '',
      stdio: ['pipe', 'ignore', 'pipe'],
    });
  }
  return name;
}

/**
 * A scratch database holding Chinook (../shared/datasets). The script itself
 * creates and connects to a database named chinook: only what follows its
 * `\c chinook;` is loaded, into the scratch database.
 */
export async function createChinookDb(): Promise<string> {
  const script = readFileSync(datasetPath('chinook-postgres.sql'), 'utf8');
  const connect = script.indexOf('\\c chinook;');
  if (connect < 0) throw new Error('chinook-postgres.sql no longer connects with \\c chinook;');
  return createDb({ text: script.slice(connect + '\\c chinook;'.length) });
}

export async function dropScratch(): Promise<void> {
  for (const name of made) await sql('postgres', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
  made.clear();
}

export async function leftoverRestoreDbs(): Promise<string[]> {
  return (await sql('postgres', "SELECT datname FROM pg_database WHERE datname LIKE 'arca\\_restore\\_%'")).rows.map((r: { datname: string }) => r.datname);
}

function schemaDump(db: string): string {
  const out = execFileSync('pg_dump', ['--schema-only', '-d', urlOf(db)], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return out
    .split('\n')
    .filter((l) => !/^-- Dumped (from|by)/.test(l) && !/^\\(un)?restrict /.test(l))
    .join('\n');
}

export interface DbDescription {
  schema: string;
  data: Record<string, string>;
  sequences: Record<string, string>;
  largeObjects: string[];
}

export async function describeDb(urlOrName: string): Promise<DbDescription> {
  const db = urlOrName.includes('://') ? new URL(urlOrName).pathname.slice(1) : urlOrName;
  const c = new pg.Client({ connectionString: urlOf(db) });
  await c.connect();
  try {
    const rels = (
      await c.query<{ q: string; kind: string }>(
        `SELECT format('%I.%I', n.nspname, c.relname) AS q, c.relkind::text AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'm', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
            AND (c.relkind <> 'm' OR c.relispopulated)
          ORDER BY 1`,
      )
    ).rows;
    const data: Record<string, string> = {};
    const sequences: Record<string, string> = {};
    for (const r of rels) {
      if (r.kind === 'S') {
        const v = (await c.query(`SELECT last_value::text AS v, is_called FROM ${r.q}`)).rows[0] as { v: string; is_called: boolean };
        sequences[r.q] = `${v.v} ${v.is_called}`;
      } else {
        const v = (await c.query(`SELECT count(*)::text AS n, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS h FROM ${r.q} t`)).rows[0] as { n: string; h: string };
        data[r.q] = `${v.n} ${v.h}`;
      }
    }
    const largeObjects = (
      await c.query<{ d: string }>(
        `SELECT concat_ws(' ', oid, pg_get_userbyid(lomowner), lomacl::text, md5(lo_get(oid)), obj_description(oid, 'pg_largeobject')) AS d
           FROM pg_largeobject_metadata ORDER BY oid`,
      )
    ).rows.map((r) => r.d);
    return { schema: schemaDump(db), data, sequences, largeObjects };
  } finally {
    await c.end();
  }
}

/** Polls `check` every 50 ms for up to 10 s; whether it came true (the caller asserts what it needs). */
export async function until(check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
