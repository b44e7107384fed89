// The MySQL/MariaDB purge engine (see purge-engine.ts for the contract).
// Tables of the URL's database; the session runs in UTC (TIMESTAMP columns
// are compared in UTC, DATETIME and DATE values are taken as UTC) and READ
// COMMITTED (no gap locks beyond the rows a batch deletes). Batches walk the
// primary key: the key of the batch's last row is found first, then one
// autocommitted DELETE removes the matching rows in that key range. A table
// without a primary key is purged by `DELETE … LIMIT batchSize`.
import type { ExecuteValues } from 'mysql2';
import { ArcaError } from '../../errors.js';
import type { PurgeRuleSpec, TableRule } from '../../catalog/purge-rules.js';
import { close, connect, killQueries, query, quoteIdent, stepError, type MyConn } from '../../sources/mysql/mysql-connect.js';
import { databaseOf } from '../../sources/mysql/mysql-url.js';
import type { PurgeCount, PurgeEngine, PurgeRunOptions, PurgeRunResult } from './purge-engine.js';
import {
  keysetCondition,
  notFound,
  Params,
  pickName,
  purgeAborted,
  runBatches,
  tableRuleOf,
  utcText,
  withAbortGrace,
} from './purge-batches.js';

const DATE_TIME_TYPES = new Set(['datetime', 'timestamp', 'date']);

/**
 * Runs a statement as a server-side prepared statement: unlike the client-side
 * formatting of query(), a `?` inside a string literal of the admin's
 * `--where` stays a literal.
 */
function execute<T>(conn: MyConn, sql: string, values: unknown[]): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    // Our values are strings, numbers, bigints and Buffers: what the driver itself returned or the rule holds.
    conn.execute(sql, values as ExecuteValues[], (err, result) => (err ? reject(err) : resolve(result as T)));
  });
}

interface MyColumn {
  name: string;
  type: string;
}

interface MyTable {
  name: string;
  columns: MyColumn[];
  /** Primary key columns, quoted, in order; empty without one. */
  keys: string[];
}

class MysqlPurge implements PurgeEngine {
  readonly kind = 'mysql';
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly conn: MyConn,
  ) {}

  private get where(): string {
    return `database "${databaseOf(this.url)}"`;
  }

  private async resolve(rule: TableRule): Promise<MyTable> {
    const tables = await query<Array<{ n: string }>>(
      this.conn,
      "SELECT TABLE_NAME AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1",
    );
    const names = tables.map((t) => t.n);
    const name = pickName(rule.table, names);
    if (name === undefined) throw notFound('table', rule.table, this.where, names);
    const columns = await query<MyColumn[]>(
      this.conn,
      `SELECT COLUMN_NAME AS name, DATA_TYPE AS type FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [name],
    );
    const pk = await query<Array<{ name: string }>>(
      this.conn,
      `SELECT COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`,
      [name],
    );
    return { name, columns: columns.map((c) => ({ name: c.name, type: c.type.toLowerCase() })), keys: pk.map((k) => quoteIdent(k.name)) };
  }

  private column(table: MyTable, name: string, role: string): MyColumn {
    const picked = pickName(name, table.columns.map((c) => c.name));
    const col = table.columns.find((c) => c.name === picked);
    if (!col) throw notFound('column', name, `table ${table.name} (${role})`, table.columns.map((c) => c.name));
    return col;
  }

  async check(spec: PurgeRuleSpec): Promise<PurgeRuleSpec> {
    const rule = tableRuleOf(spec, 'MySQL');
    const table = await this.query('reading the table list', () => this.resolve(rule));
    const column = this.column(table, rule.column, 'the date/time column');
    if (!DATE_TIME_TYPES.has(column.type)) {
      throw new ArcaError('USAGE', `column ${column.name} of ${table.name} is ${column.type}, not a date/time type (datetime, timestamp or date)`);
    }
    const match = rule.match ? { ...rule.match, column: this.column(table, rule.match.column, 'the --match column').name } : undefined;
    return { ...rule, table: table.name, column: column.name, ...(match ? { match } : {}) };
  }

  private predicate(table: MyTable, rule: TableRule, cutoff: Date, p: Params): string {
    const column = this.column(table, rule.column, 'the date/time column');
    const parts = [`${quoteIdent(column.name)} < CAST(${p.add(utcText(cutoff))} AS DATETIME(6))`];
    if (rule.match) {
      const m = this.column(table, rule.match.column, 'the --match column');
      parts.push(`${quoteIdent(m.name)} IN (${rule.match.values.map((v) => p.add(v)).join(', ')})`);
    }
    if (rule.where) parts.push(`(${rule.where})`);
    return parts.join(' AND ');
  }

  async count(spec: PurgeRuleSpec, cutoff: Date): Promise<PurgeCount> {
    const rule = tableRuleOf(spec, 'MySQL');
    const table = await this.query('reading the table list', () => this.resolve(rule));
    const p = new Params('?');
    const sql = `SELECT COUNT(*) AS n FROM ${quoteIdent(table.name)} WHERE ${this.predicate(table, rule, cutoff, p)}`;
    const rows = await this.query(`counting the rows of ${table.name} to purge`, () => execute<Array<{ n: number | string }>>(this.conn, sql, p.values));
    return { items: Number(rows[0]?.n ?? 0), bytes: 0 };
  }

  async purge(spec: PurgeRuleSpec, opts: PurgeRunOptions): Promise<PurgeRunResult> {
    const rule = tableRuleOf(spec, 'MySQL');
    const table = await this.query('reading the table list', () => this.resolve(rule));
    const qt = quoteIdent(table.name);
    const what = `deleting from ${table.name}`;
    if (table.keys.length === 0) {
      return runBatches(opts, async () => {
        const p = new Params('?');
        const sql = `DELETE FROM ${qt} WHERE ${this.predicate(table, rule, opts.cutoff, p)} LIMIT ${opts.batchSize}`;
        const r = await this.statement(what, opts.signal, () => execute<{ affectedRows: number }>(this.conn, sql, p.values));
        return { deleted: r.affectedRows, bytes: 0, more: r.affectedRows >= opts.batchSize };
      });
    }
    const keys = table.keys;
    let prev: unknown[] | null = null;
    return runBatches(opts, async () => {
      const p = new Params('?');
      let range = this.predicate(table, rule, opts.cutoff, p);
      if (prev) range += ` AND ${keysetCondition(keys, prev, '>', p)}`;
      const bound = `SELECT ${keys.map((k, i) => `${k} AS k${i}`).join(', ')} FROM ${qt} WHERE ${range}
        ORDER BY ${keys.join(', ')} LIMIT 1 OFFSET ${opts.batchSize - 1}`;
      const rows = await this.statement(what, opts.signal, () => execute<Array<Record<string, unknown>>>(this.conn, bound, p.values));
      const upperRow = rows[0];
      const upper = upperRow ? keys.map((_, i) => upperRow[`k${i}`]) : null;
      const d = new Params('?');
      d.values.push(...p.values);
      const last = upper ? ` AND ${keysetCondition(keys, upper, '<=', d)}` : '';
      const r = await this.statement(what, opts.signal, () => execute<{ affectedRows: number }>(this.conn, `DELETE FROM ${qt} WHERE ${range}${last}`, d.values));
      prev = upper;
      return { deleted: r.affectedRows, bytes: 0, more: upper !== null };
    });
  }

  private async query<T>(step: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw stepError(step, err);
    }
  }

  private async statement<T>(step: string, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    try {
      return await withAbortGrace(signal, work(), () => killQueries(this.url, [this.conn]));
    } catch (err) {
      if (signal?.aborted) throw purgeAborted();
      throw stepError(step, err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await close(this.conn);
  }
}

export async function openMysqlPurge(url: string): Promise<PurgeEngine> {
  const conn = await connect(url);
  try {
    await query(conn, "SET SESSION time_zone = '+00:00'");
    await query(conn, 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
  } catch (err) {
    await close(conn, true);
    throw stepError('setting up the purge session', err);
  }
  return new MysqlPurge(url, conn);
}
