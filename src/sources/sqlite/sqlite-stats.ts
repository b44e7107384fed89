// Per-table row counts and checksums of a SQLite database, the same function
// for backup (recorded in the manifest) and restore (checked before the file
// is renamed into place). A table's checksum is the SHA-256 of its rows in
// rowid order (primary-key order for WITHOUT ROWID tables), each value
// encoded with its storage class: NULL 0x00; INTEGER 0x01 + int64 BE; REAL
// 0x02 + float64 BE; TEXT 0x03 + u32 BE length + UTF-8; BLOB 0x04 + u32 BE
// length + bytes. Virtual tables are skipped (their shadow tables count).

import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { ArcaError } from '../../errors.js';

export interface TableStat {
  name: string;
  rows: number;
  sha256: string;
}

const YIELD_EVERY = 5000;

function quoteId(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Data tables of the main schema, by name (binary order). */
export function listTables(db: Database.Database): Array<{ name: string; withoutRowid: boolean }> {
  const rows = db
    .prepare("SELECT name, wr FROM pragma_table_list WHERE schema = 'main' AND type IN ('table', 'shadow') AND name NOT IN ('sqlite_schema', 'sqlite_master')")
    .all() as Array<{ name: string; wr: number }>;
  return rows.map((r) => ({ name: r.name, withoutRowid: r.wr === 1 })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function orderBy(db: Database.Database, table: { name: string; withoutRowid: boolean }): string {
  const cols = db.prepare('SELECT name, pk FROM pragma_table_info(?)').all(table.name) as Array<{ name: string; pk: number }>;
  if (table.withoutRowid) {
    return cols
      .filter((c) => c.pk > 0)
      .sort((a, b) => a.pk - b.pk)
      .map((c) => quoteId(c.name))
      .join(', ');
  }
  const names = new Set(cols.map((c) => c.name.toLowerCase()));
  const alias = ['rowid', '_rowid_', 'oid'].find((a) => !names.has(a));
  if (!alias) throw new ArcaError('SOURCE', `table ${table.name} hides its rowid behind columns named rowid, _rowid_ and oid`);
  return alias;
}

function encodeValue(v: unknown, out: Buffer[]): void {
  if (v === null) out.push(Buffer.of(0));
  else if (typeof v === 'bigint') {
    const b = Buffer.alloc(9);
    b[0] = 1;
    b.writeBigInt64BE(v, 1);
    out.push(b);
  } else if (typeof v === 'number') {
    const b = Buffer.alloc(9);
    b[0] = 2;
    b.writeDoubleBE(v, 1);
    out.push(b);
  } else if (typeof v === 'string' || Buffer.isBuffer(v)) {
    const body = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    const head = Buffer.alloc(5);
    head[0] = typeof v === 'string' ? 3 : 4;
    head.writeUInt32BE(body.length, 1);
    out.push(head, body);
  } else {
    throw new ArcaError('INTERNAL', `unexpected SQLite value of type ${typeof v}`);
  }
}

/** Row count and checksum of every table; yields to the event loop now and then so `signal` is honoured. */
export async function tableStats(db: Database.Database, signal?: AbortSignal): Promise<TableStat[]> {
  const stats: TableStat[] = [];
  for (const table of listTables(db)) {
    const stmt = db.prepare(`SELECT * FROM main.${quoteId(table.name)} ORDER BY ${orderBy(db, table)}`).raw(true).safeIntegers(true);
    const hash = createHash('sha256');
    let rows = 0;
    let parts: Buffer[] = [];
    for (const row of stmt.iterate() as IterableIterator<unknown[]>) {
      for (const v of row) encodeValue(v, parts);
      rows++;
      if (parts.length > 4096) {
        hash.update(Buffer.concat(parts));
        parts = [];
      }
      if (rows % YIELD_EVERY === 0) {
        await new Promise((r) => setImmediate(r));
        if (signal?.aborted) throw new ArcaError('ABORTED', 'backup aborted');
      }
    }
    hash.update(Buffer.concat(parts));
    stats.push({ name: table.name, rows, sha256: hash.digest('hex') });
  }
  return stats;
}

/** The schema as SQLite stores it (type, name, table, SQL), in a stable order. */
export function schemaOf(db: Database.Database): Array<{ type: string; name: string; tbl_name: string; sql: string | null }> {
  return db.prepare('SELECT type, name, tbl_name, sql FROM main.sqlite_schema ORDER BY type, name').all() as Array<{
    type: string;
    name: string;
    tbl_name: string;
    sql: string | null;
  }>;
}
