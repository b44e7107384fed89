// `arca export` of a MySQL/MariaDB backup: one SQL script for the `mariadb`
// (or `mysql`) client, e.g. `mariadb DB < FILE` into an empty database:
//   1. the database's character set (ALTER DATABASE of the current one),
//   2. tables as stored (`SHOW CREATE TABLE`), foreign key checks off,
//   3. each row of the stored LOAD DATA-format stream as one single-row
//      INSERT (dedup- and diff-friendly): printable ASCII values as quoted
//      strings, anything else (and BIT) as hex literals, so no client or
//      connection character set can alter the bytes; TIMESTAMPs in UTC; one
//      transaction per table (far faster than autocommit per row);
//      AUTO_INCREMENT set back to the source's counter,
//   4. views (ordered so that a view follows the views it names), routines,
//      triggers and events, each under its recorded sql_mode and character
//      set, with DELIMITER for the compound statements.

import { ArcaError } from '../../errors.js';
import type { BlobReader } from '../../repository/blob-reader.js';
import type { TreeNode } from '../../repository/tree.js';
import type { SourceExportContext } from '../source.js';
import { CATALOG_NODE, TABLES_DIR, type MysqlCatalog, type SchemaObject, type TableEntry } from './mysql-catalog.js';
import { quoteIdent, quoteString } from './mysql-connect.js';

const nodeNamed = (nodes: TreeNode[], name: string) => nodes.find((n) => n.name === name);

async function readAll(reader: BlobReader, node: TreeNode): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of reader.readContent(node)) parts.push(c);
  return Buffer.concat(parts);
}

/** A SQL literal for one stored value (null = NULL). */
export function valueLiteral(v: Buffer | null, hex: boolean): string {
  if (v === null) return 'NULL';
  if (!hex && v.every((b) => b >= 0x20 && b < 0x7f)) return `'${v.toString('latin1').replace(/[\\']/g, (c) => `\\${c}`)}'`;
  return v.length === 0 ? "''" : `X'${v.toString('hex')}'`;
}

const UNESCAPE: Record<number, number> = { 0x30: 0x00, 0x74: 0x09, 0x6e: 0x0a, 0x72: 0x0d, 0x5a: 0x1a, 0x62: 0x08 };

/** Splits LOAD DATA's default text format into rows of fields (`\N` alone = NULL), across chunk boundaries. */
export class TsvRows {
  private field: number[] = [];
  private row: Array<Buffer | null> = [];
  private escaped = false;
  private nullField = false;

  *push(chunk: Buffer): Generator<Array<Buffer | null>> {
    for (const b of chunk) {
      if (this.escaped) {
        this.escaped = false;
        if (b === 0x4e && this.field.length === 0 && !this.nullField) this.nullField = true;
        else this.add(UNESCAPE[b] ?? b);
      } else if (b === 0x5c) this.escaped = true;
      else if (b === 0x09) this.endField();
      else if (b === 0x0a) {
        this.endField();
        yield this.row;
        this.row = [];
      } else this.add(b);
    }
  }

  /** True when no partial row is pending. */
  get clean(): boolean {
    return this.row.length === 0 && this.field.length === 0 && !this.escaped && !this.nullField;
  }

  private add(b: number): void {
    if (this.nullField) {
      this.nullField = false;
      this.field.push(0x4e);
    }
    this.field.push(b);
  }

  private endField(): void {
    this.row.push(this.nullField ? null : Buffer.from(this.field));
    this.field = [];
    this.nullField = false;
  }
}

/** Columns declared `bit(n)` in a CREATE TABLE (their values are numbers: always hex). */
function bitColumns(createSql: string): Set<string> {
  const out = new Set<string>();
  for (const m of createSql.matchAll(/^\s*`((?:[^`]|``)+)` bit\(/gim)) out.add(m[1]!.replace(/``/g, '`'));
  return out;
}

async function* tableData(ctx: SourceExportContext, table: TableEntry, node: TreeNode): AsyncGenerator<Buffer> {
  const cols = table.columns.filter((c) => c.kind === 'plain').map((c) => c.name);
  const bits = bitColumns(table.createSql);
  const hex = cols.map((c) => bits.has(c));
  const head = `INSERT INTO ${quoteIdent(table.name)} (${cols.map(quoteIdent).join(', ')}) VALUES (`;
  const rows = new TsvRows();
  for await (const chunk of ctx.reader.readContent(node)) {
    if (ctx.signal?.aborted) throw new ArcaError('ABORTED', 'export aborted');
    ctx.onBytes(chunk.length);
    const lines: string[] = [];
    for (const row of rows.push(chunk)) {
      if (row.length !== cols.length) throw new ArcaError('CORRUPT', `table ${table.name}: a stored row has ${row.length} fields, the table ${cols.length} columns`);
      lines.push(`${head}${row.map((v, i) => valueLiteral(v, hex[i]!)).join(', ')});\n`);
    }
    if (lines.length > 0) yield Buffer.from(lines.join(''), 'utf8');
  }
  if (!rows.clean) throw new ArcaError('CORRUPT', `table ${table.name}: the stored data ends in the middle of a row`);
}

function session(o: SchemaObject, timeZone?: string): string {
  const lines = ['SET NAMES utf8mb4;'];
  if (/^utf8(mb3|mb4)?$/i.test(o.charset)) lines.push(`SET SESSION character_set_client = ${o.charset};`);
  if (o.collation) lines.push(`SET SESSION collation_connection = ${quoteString(o.collation)};`);
  lines.push(`SET SESSION sql_mode = ${quoteString(o.sqlMode)};`);
  if (timeZone) lines.push(`SET SESSION time_zone = ${quoteString(timeZone)};`);
  return lines.join('\n') + '\n';
}

/** Views ordered so that each comes after the views its statement names. */
export function orderViews(views: SchemaObject[]): SchemaObject[] {
  const out: SchemaObject[] = [];
  const left = [...views];
  while (left.length > 0) {
    const i = left.findIndex((v) => !left.some((w) => w !== v && v.createSql.includes(quoteIdent(w.name))));
    out.push(...left.splice(i < 0 ? 0 : i, 1));
  }
  return out;
}

function objects(catalog: MysqlCatalog): string {
  const parts: string[] = [];
  for (const v of orderViews(catalog.views)) parts.push(`${session(v)}${v.createSql};\n`);
  const steps: Array<[SchemaObject[], boolean]> = [
    [catalog.routines, false],
    [catalog.triggers, false],
    [catalog.events, true],
  ];
  for (const [list, isEvent] of steps) {
    for (const o of list) {
      if (o.createSql.includes(';;')) throw new ArcaError('SOURCE', `${o.name}: its statement holds ";;", which this export uses as the delimiter`);
      parts.push(`${session(o, isEvent ? o.detail : undefined)}DELIMITER ;;\n${o.createSql};;\nDELIMITER ;\n`);
    }
  }
  return parts.join('\n');
}

export async function* exportMysql(ctx: SourceExportContext): AsyncGenerator<Buffer> {
  const root = (await ctx.reader.readTree(ctx.manifest.root)).nodes;
  const catalogNode = nodeNamed(root, CATALOG_NODE);
  const tablesDir = nodeNamed(root, TABLES_DIR);
  if (!catalogNode || !tablesDir?.subtree) throw new ArcaError('CORRUPT', `backup ${ctx.manifest.id} is not a MySQL backup (missing ${CATALOG_NODE} or ${TABLES_DIR}/)`);
  let catalog: MysqlCatalog;
  try {
    catalog = JSON.parse((await readAll(ctx.reader, catalogNode)).toString('utf8')) as MysqlCatalog;
  } catch (err) {
    throw new ArcaError('CORRUPT', `backup ${ctx.manifest.id}: ${CATALOG_NODE} is not valid JSON`, { cause: err });
  }
  const tableNodes = (await ctx.reader.readTree(tablesDir.subtree)).nodes;
  const db = catalog.database;
  yield Buffer.from(
    `-- MySQL/MariaDB export of backup ${ctx.manifest.id} (database ${ctx.manifest.database}, ${ctx.manifest.startedAt}), written by Arca.\n` +
      '-- Load into an empty database: mariadb DBNAME < FILE\n\n' +
      "SET NAMES utf8mb4;\nSET SESSION time_zone = '+00:00';\nSET SESSION foreign_key_checks = 0;\nSET SESSION unique_checks = 0;\n" +
      "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION';\n" +
      (db.charset ? `ALTER DATABASE CHARACTER SET ${db.charset}${db.collation ? ` COLLATE ${db.collation}` : ''};\n` : '') +
      '\n',
  );
  for (const t of catalog.tables) yield Buffer.from(`${t.createSql};\n\n`, 'utf8');
  yield Buffer.from("SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION';\n\n");
  for (const t of catalog.tables) {
    const node = nodeNamed(tableNodes, t.node);
    if (!node) throw new ArcaError('CORRUPT', `backup ${ctx.manifest.id} lacks the data of table ${t.name}`);
    yield Buffer.from('START TRANSACTION;\n');
    yield* tableData(ctx, t, node);
    yield Buffer.from('COMMIT;\n');
    const counter = /\) ENGINE=\S+ AUTO_INCREMENT=(\d+)/.exec(t.createSql)?.[1];
    if (counter) yield Buffer.from(`ALTER TABLE ${quoteIdent(t.name)} AUTO_INCREMENT = ${counter};\n`, 'utf8');
    yield Buffer.from('\n');
  }
  yield Buffer.from(objects(catalog), 'utf8');
  yield Buffer.from("\nSET SESSION foreign_key_checks = 1;\nSET SESSION unique_checks = 1;\nSET SESSION time_zone = '+00:00';\n");
}
