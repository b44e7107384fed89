// The catalog of a MySQL/MariaDB backup (`catalog.json`, format
// `arca-mysql-1`): the database's character set, every table with its
// CREATE statement, columns and row order, and the views, triggers, routines
// and events with the session settings they were created under. Read with
// SHOW CREATE inside the backup's snapshot transaction, so schema and data
// come from the same moment (metadata locks keep DDL out of tables already
// read; see README.md).

import { ArcaError } from '../../errors.js';
import { query, quoteIdent, type MyConn } from './mysql-connect.js';

export const CATALOG_NODE = 'catalog.json';
export const TABLES_DIR = 'tables';
export const CATALOG_FORMAT = 'arca-mysql-1';

export interface ColumnEntry {
  name: string;
  /** Generated columns are not dumped (recomputed on load). */
  kind: 'plain' | 'generated';
}

export interface TableEntry {
  name: string;
  /** Node name under tables/ (see nodeName). */
  node: string;
  engine: string | null;
  createSql: string;
  columns: ColumnEntry[];
  /** ORDER BY columns: the primary key, else a NOT NULL unique key, else [] (clustered order). */
  orderBy: string[];
  estimatedBytes: number;
}

/** A view, trigger, routine or event: its statement and the session it needs. */
export interface SchemaObject {
  name: string;
  createSql: string;
  sqlMode: string;
  charset: string;
  collation: string;
  /** Triggers: the table; routines: PROCEDURE or FUNCTION; events: the time zone. */
  detail?: string;
}

export interface MysqlCatalog {
  format: typeof CATALOG_FORMAT;
  serverVersion: string;
  database: { name: string; charset: string; collation: string };
  tables: TableEntry[];
  views: SchemaObject[];
  triggers: SchemaObject[];
  routines: SchemaObject[];
  events: SchemaObject[];
}

type Row = Record<string, string | null>;

/** `tables/<name>.tsv`: bytes outside [A-Za-z0-9_-] become %XX. */
export function nodeName(table: string): string {
  let out = '';
  for (const b of Buffer.from(table, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9_-]/.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return `${out}.tsv`;
}

const str = (v: string | null | undefined): string => v ?? '';

/** Reads the catalog of `db` on `conn` (inside the snapshot transaction). */
export async function readCatalog(conn: MyConn, db: string): Promise<MysqlCatalog> {
  const version = (await query<Row[]>(conn, 'SELECT VERSION() AS v'))[0]!.v!;
  const schema = (await query<Row[]>(conn, 'SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS co FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [db]))[0];
  if (!schema) throw new ArcaError('SOURCE', `database "${db}" does not exist`);
  const rels = await query<Row[]>(
    conn,
    'SELECT TABLE_NAME AS n, TABLE_TYPE AS t, ENGINE AS e, COALESCE(DATA_LENGTH, 0) AS b FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME',
    [db],
  );
  const unsupported = rels.filter((r) => r.t !== 'BASE TABLE' && r.t !== 'VIEW');
  if (unsupported.length > 0) {
    const list = unsupported.map((r) => `${r.n} (${str(r.t).toLowerCase()})`).join(', ');
    throw new ArcaError('SOURCE', `database "${db}" holds objects Arca cannot back up yet: ${list}`);
  }
  const columns = await query<Row[]>(
    conn,
    `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, IS_GENERATED AS g FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    [db],
  );
  const keys = await query<Row[]>(
    conn,
    `SELECT TABLE_NAME AS t, INDEX_NAME AS i, COLUMN_NAME AS c, NULLABLE AS nl, SUB_PART AS sp, SEQ_IN_INDEX AS s FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = ? AND NON_UNIQUE = 0 ORDER BY TABLE_NAME, INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX`,
    [db],
  );
  const tables: TableEntry[] = [];
  const views: SchemaObject[] = [];
  for (const r of rels) {
    const name = r.n!;
    if (r.t === 'VIEW') {
      const v = (await query<Row[]>(conn, `SHOW CREATE VIEW ${quoteIdent(name)}`))[0]!;
      views.push({ name, createSql: str(v['Create View']), sqlMode: '', charset: str(v.character_set_client), collation: str(v.collation_connection) });
      continue;
    }
    const createSql = str((await query<Row[]>(conn, `SHOW CREATE TABLE ${quoteIdent(name)}`))[0]!['Create Table']);
    const cols: ColumnEntry[] = columns
      .filter((c) => c.t === name)
      .map((c) => ({ name: c.c!, kind: c.g === 'ALWAYS' ? 'generated' : 'plain' }));
    tables.push({ name, node: nodeName(name), engine: r.e ?? null, createSql, columns: cols, orderBy: orderOf(keys.filter((k) => k.t === name)), estimatedBytes: Number(r.b) || 0 });
  }
  const triggers: SchemaObject[] = [];
  const trg = await query<Row[]>(
    conn,
    `SELECT TRIGGER_NAME AS n, EVENT_OBJECT_TABLE AS t FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?
      ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER`,
    [db],
  );
  for (const t of trg) {
    const s = (await query<Row[]>(conn, `SHOW CREATE TRIGGER ${quoteIdent(t.n!)}`))[0]!;
    triggers.push({ name: t.n!, createSql: str(s['SQL Original Statement']), sqlMode: str(s.sql_mode), charset: str(s.character_set_client), collation: str(s.collation_connection), detail: t.t! });
  }
  const routines: SchemaObject[] = [];
  const rts = await query<Row[]>(
    conn,
    "SELECT ROUTINE_NAME AS n, ROUTINE_TYPE AS t FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY ROUTINE_TYPE, ROUTINE_NAME",
    [db],
  );
  for (const r of rts) {
    if (r.t !== 'PROCEDURE' && r.t !== 'FUNCTION') throw new ArcaError('SOURCE', `routine ${r.n} is a ${str(r.t).toLowerCase()}, which Arca cannot back up yet`);
    const s = (await query<Row[]>(conn, `SHOW CREATE ${r.t} ${quoteIdent(r.n!)}`))[0]!;
    const createSql = str(s[r.t === 'PROCEDURE' ? 'Create Procedure' : 'Create Function']);
    if (!createSql) throw new ArcaError('SOURCE', `cannot read the definition of ${r.t.toLowerCase()} ${r.n} (missing privileges?)`);
    routines.push({ name: r.n!, createSql, sqlMode: str(s.sql_mode), charset: str(s.character_set_client), collation: str(s.collation_connection), detail: r.t });
  }
  const events: SchemaObject[] = [];
  const evs = await query<Row[]>(conn, 'SELECT EVENT_NAME AS n FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY EVENT_NAME', [db]);
  for (const e of evs) {
    const s = (await query<Row[]>(conn, `SHOW CREATE EVENT ${quoteIdent(e.n!)}`))[0]!;
    events.push({ name: e.n!, createSql: str(s['Create Event']), sqlMode: str(s.sql_mode), charset: str(s.character_set_client), collation: str(s.collation_connection), detail: str(s.time_zone) });
  }
  return {
    format: CATALOG_FORMAT,
    serverVersion: version,
    database: { name: db, charset: str(schema.cs), collation: str(schema.co) },
    tables,
    views,
    triggers,
    routines,
    events,
  };
}

/** The primary key, else the unique key with fewest columns, all NOT NULL and not prefixes; else []. */
function orderOf(keys: Row[]): string[] {
  const byIndex = new Map<string, Row[]>();
  for (const k of keys) byIndex.set(k.i!, [...(byIndex.get(k.i!) ?? []), k]);
  let best: string[] | undefined;
  for (const [name, cols] of byIndex) {
    if (cols.some((c) => c.c === null || c.nl === 'YES' || c.sp !== null)) continue;
    const list = cols.map((c) => c.c!);
    if (name === 'PRIMARY') return list;
    if (!best || list.length < best.length) best = list;
  }
  return best ?? [];
}

export function parseCatalog(buf: Buffer): MysqlCatalog {
  let c: MysqlCatalog;
  try {
    c = JSON.parse(buf.toString('utf8')) as MysqlCatalog;
  } catch {
    throw new ArcaError('CORRUPT', `${CATALOG_NODE} is not valid JSON`);
  }
  if (c.format !== CATALOG_FORMAT) throw new ArcaError('FORMAT', `${CATALOG_NODE} has format ${String(c.format)}, this Arca reads ${CATALOG_FORMAT}`);
  return c;
}
