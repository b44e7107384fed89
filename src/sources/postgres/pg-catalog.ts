// What a PostgreSQL backup holds besides the schema dump: the explicit list
// of tables (schema, name, columns, the order their rows are dumped in),
// sequences with their values, materialized views, large objects' metadata,
// the roles the schema refers to, and the database's encoding. It is read in
// the backup's snapshot and stored as `catalog.json` next to the streams.

import { ArcaError } from '../../errors.js';
import { codeOf, qualified, quoteIdent, stepError, type PgClient } from './pg-connect.js';
import { rangeWhere, type KeyRange } from './pg-ranges.js';

export const CATALOG_FORMAT = 'arca-postgres-1';
export const CATALOG_NODE = 'catalog.json';
export const SCHEMA_NODE = 'schema.dump';
export const TABLES_DIR = 'tables';
export const LARGE_OBJECTS_NODE = 'large-objects.bin';

export interface TableEntry {
  schema: string;
  name: string;
  /** Node name under `tables/`. */
  node: string;
  /** Columns in the dump, in order (generated columns are left out: they are computed again). */
  columns: string[];
  /** Columns of the primary key or a unique NOT NULL index; null = physical order. */
  orderBy: string[] | null;
  /** Size on disk with TOAST (pg_table_size): big tables start first, and are split (pg-ranges.ts). */
  estimatedBytes: number;
  /**
   * Set when the table was dumped in key ranges (pg-ranges.ts): the stored
   * stream is the parts' streams concatenated in this order (byte-identical to
   * an unsplit dump), and each part's size lets a restore load them in parallel.
   */
  parts?: TablePart[];
}

export interface TablePart extends KeyRange {
  /** Bytes of this part's COPY stream. */
  bytes: number;
  rows: number;
}

export interface SequenceEntry {
  schema: string;
  name: string;
  lastValue: string;
  isCalled: boolean;
}

export interface MatviewEntry {
  schema: string;
  name: string;
  populated: boolean;
}

export interface LargeObjectEntry {
  oid: number;
  owner: string;
  acl: string | null;
  comment: string | null;
}

export interface PgCatalog {
  format: typeof CATALOG_FORMAT;
  serverVersion: string;
  database: { name: string; encoding: string; collate: string; ctype: string };
  /** Roles that own or are granted something in the database. */
  roles: string[];
  tables: TableEntry[];
  sequences: SequenceEntry[];
  matviews: MatviewEntry[];
  largeObjects: LargeObjectEntry[];
}

/** A reversible node name for any identifier: bytes outside [A-Za-z0-9_-] become %XX. */
export function escapeName(name: string): string {
  let out = '';
  for (const b of Buffer.from(name, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9_-]/.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

export function tableNodeName(schema: string, name: string): string {
  return `${escapeName(schema)}.${escapeName(name)}.copy`;
}

const USER_RELATION = `
  n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
  AND c.relpersistence <> 't'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`;

/** Reads the catalog in the caller's (snapshot) transaction. */
export async function readCatalog(client: PgClient): Promise<PgCatalog> {
  try {
    const db = (
      await client.query<{ name: string; encoding: string; collate: string; ctype: string; version: string }>(
        `SELECT current_database() AS name, pg_encoding_to_char(encoding) AS encoding, datcollate AS collate, datctype AS ctype,
                current_setting('server_version') AS version
           FROM pg_database WHERE datname = current_database()`,
      )
    ).rows[0]!;
    const rels = (
      await client.query<{ oid: number; schema: string; name: string; relkind: string; bytes: number; populated: boolean }>(
        `SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind, pg_table_size(c.oid)::float8 AS bytes,
                c.relispopulated AS populated
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'S', 'm') AND ${USER_RELATION}
          ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`,
      )
    ).rows;
    const tableOids = rels.filter((r) => r.relkind === 'r').map((r) => r.oid);
    const cols = (
      await client.query<{ rel: number; attnum: number; name: string; notnull: boolean; generated: string }>(
        `SELECT attrelid::int AS rel, attnum::int AS attnum, attname AS name, attnotnull AS notnull, attgenerated::text AS generated
           FROM pg_attribute WHERE attrelid = ANY($1::oid[]) AND attnum > 0 AND NOT attisdropped ORDER BY attrelid, attnum`,
        [tableOids],
      )
    ).rows;
    const keys = (
      await client.query<{ rel: number; primary: boolean; cols: number[] }>(
        `SELECT i.indrelid::int AS rel, i.indisprimary AS primary,
                (string_to_array(i.indkey::text, ' ')::int[])[1:i.indnkeyatts] AS cols
           FROM pg_index i
          WHERE i.indrelid = ANY($1::oid[]) AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
          ORDER BY i.indisprimary DESC, i.indnatts, i.indexrelid`,
        [tableOids],
      )
    ).rows;
    const los = (
      await client.query<{ oid: number; owner: string; acl: string | null; comment: string | null }>(
        `SELECT m.oid::bigint::float8 AS oid, pg_get_userbyid(m.lomowner) AS owner, m.lomacl::text AS acl,
                obj_description(m.oid, 'pg_largeobject') AS comment
           FROM pg_largeobject_metadata m ORDER BY m.oid`,
      )
    ).rows;
    const roles = (
      await client.query<{ name: string }>(
        `SELECT r.rolname AS name FROM pg_shdepend d JOIN pg_roles r ON r.oid = d.refobjid
          WHERE d.refclassid = 'pg_authid'::regclass AND d.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
         UNION SELECT rolname FROM pg_roles WHERE oid = 10 ORDER BY 1`,
      )
    ).rows.map((r) => r.name);

    const colsOf = new Map<number, typeof cols>();
    for (const c of cols) colsOf.set(c.rel, [...(colsOf.get(c.rel) ?? []), c]);
    const tables: TableEntry[] = [];
    for (const r of rels.filter((x) => x.relkind === 'r')) {
      const all = colsOf.get(r.oid) ?? [];
      const byNum = new Map(all.map((c) => [c.attnum, c]));
      let orderBy: string[] | null = null;
      for (const k of keys.filter((x) => x.rel === r.oid)) {
        const kc = k.cols.map((n) => byNum.get(n));
        if (kc.every((c) => c !== undefined && (k.primary || c.notnull))) {
          orderBy = kc.map((c) => c!.name);
          break;
        }
      }
      tables.push({
        schema: r.schema,
        name: r.name,
        node: tableNodeName(r.schema, r.name),
        columns: all.filter((c) => c.generated === '').map((c) => c.name),
        orderBy,
        estimatedBytes: r.bytes,
      });
    }
    const sequences: SequenceEntry[] = [];
    for (const s of rels.filter((x) => x.relkind === 'S')) {
      const v = (await client.query<{ last_value: string; is_called: boolean }>(`SELECT last_value::text, is_called FROM ${qualified(s.schema, s.name)}`)).rows[0]!;
      sequences.push({ schema: s.schema, name: s.name, lastValue: v.last_value, isCalled: v.is_called });
    }
    return {
      format: CATALOG_FORMAT,
      serverVersion: db.version,
      database: { name: db.name, encoding: db.encoding, collate: db.collate, ctype: db.ctype },
      roles,
      tables,
      sequences,
      matviews: rels.filter((x) => x.relkind === 'm').map((m) => ({ schema: m.schema, name: m.name, populated: m.populated })),
      largeObjects: los.map((l) => ({ oid: Number(l.oid), owner: l.owner, acl: l.acl, comment: l.comment })),
    };
  } catch (err) {
    throw stepError('reading the database catalog', err);
  }
}

/** Takes ACCESS SHARE locks on every table (as pg_dump does), so none is dropped mid-backup. */
export async function lockTables(client: PgClient, catalog: PgCatalog): Promise<void> {
  const names = catalog.tables.map((t) => `ONLY ${qualified(t.schema, t.name)}`);
  try {
    for (let i = 0; i < names.length; i += 200) {
      await client.query(`LOCK TABLE ${names.slice(i, i + 200).join(', ')} IN ACCESS SHARE MODE`);
    }
  } catch (err) {
    throw stepError('locking the tables', err);
  }
}

/**
 * Takes a worker's own ACCESS SHARE lock on a table before its COPY, without
 * waiting (NOWAIT, inside a savepoint, so the snapshot transaction goes on).
 * The coordinator holds that lock already, so a wait can only mean that
 * another session asked for a conflicting lock after it (ALTER TABLE,
 * TRUNCATE, VACUUM FULL…) and waits for the coordinator: a COPY queued behind
 * that session would wait for ever, and the application's queries behind both.
 * False then: the caller runs the COPY on the coordinator, which holds the
 * lock (pg-backup.ts).
 */
export async function lockForCopy(client: PgClient, t: TableEntry): Promise<boolean> {
  try {
    await client.query(`SAVEPOINT arca_lock; LOCK TABLE ONLY ${qualified(t.schema, t.name)} IN ACCESS SHARE MODE NOWAIT; RELEASE SAVEPOINT arca_lock`);
    return true;
  } catch (err) {
    if (codeOf(err) !== LOCK_NOT_AVAILABLE) throw stepError(`locking table ${t.schema}.${t.name}`, err);
    await client.query('ROLLBACK TO SAVEPOINT arca_lock');
    return false;
  }
}

const LOCK_NOT_AVAILABLE = '55P03';

/** The COPY statement that dumps one table's rows (or one key range of them), in key order when it has a key. */
export function copyOutSql(t: TableEntry, range?: KeyRange): string {
  const cols = t.columns.map(quoteIdent).join(', ');
  const where = range ? rangeWhere(t, range) : '';
  const order = t.orderBy ? ` ORDER BY ${t.orderBy.map(quoteIdent).join(', ')}` : '';
  return `COPY (SELECT ${cols} FROM ONLY ${qualified(t.schema, t.name)}${where}${order}) TO STDOUT`;
}

export function copyInSql(t: TableEntry): string {
  const cols = t.columns.length > 0 ? ` (${t.columns.map(quoteIdent).join(', ')})` : ''; // a table may have no columns
  return `COPY ${qualified(t.schema, t.name)}${cols} FROM STDIN`;
}

export function parseCatalog(buf: Buffer): PgCatalog {
  let c: PgCatalog;
  try {
    c = JSON.parse(buf.toString('utf8')) as PgCatalog;
  } catch {
    throw new ArcaError('CORRUPT', `${CATALOG_NODE} of the backup is not valid JSON`);
  }
  if (c.format !== CATALOG_FORMAT) throw new ArcaError('FORMAT', `${CATALOG_NODE} has format ${String(c.format)}; this Arca reads ${CATALOG_FORMAT}`);
  return c;
}
