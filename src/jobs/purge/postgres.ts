// The PostgreSQL purge engine (see purge-engine.ts for the contract). Tables
// are found by schema and name (search_path order when no schema is given);
// the cutoff is bound as a timestamptz with the session in UTC, so
// `timestamp` and `date` columns are read as UTC. Batches walk the primary
// key (the ctid when there is none): the key of the batch's last row is found
// first, then one DELETE removes the matching rows in that key range, in its
// own transaction (autocommit), so no lock outlives a batch.
import { ArcaError } from '../../errors.js';
import type { PurgeRuleSpec, TableRule } from '../../catalog/purge-rules.js';
import { closeClient, connect, pidOf, quoteIdent, stepError, type PgClient } from '../../sources/postgres/pg-connect.js';
import { databaseOf } from '../../sources/postgres/pg-url.js';
import type { PurgeCount, PurgeEngine, PurgeRunOptions, PurgeRunResult } from './purge-engine.js';
import {
  keysetCondition,
  notFound,
  Params,
  pickName,
  purgeAborted,
  runBatches,
  tableRuleOf,
  withAbortGrace,
} from './purge-batches.js';

const DATE_TIME_TYPES = new Set(['timestamp', 'timestamptz', 'date']);

interface PgColumn {
  name: string;
  /** format_type(): usable in a cast. */
  type: string;
  /** The base type's name (through a domain). */
  base: string;
}

interface PgTable {
  oid: string;
  schema: string;
  name: string;
  qualified: string;
  columns: PgColumn[];
  /** Primary key columns in order, or the ctid when there is no primary key. */
  keys: Array<{ sql: string; cast: string }>;
}

class PostgresPurge implements PurgeEngine {
  readonly kind = 'postgres';
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly client: PgClient,
  ) {}

  private get where(): string {
    return `database "${databaseOf(this.url)}"`;
  }

  private async resolve(rule: TableRule): Promise<PgTable> {
    const tables = (
      await this.client.query<{ oid: string; schema: string; name: string; kind: string; pos: number | null }>(
        `SELECT c.oid::text AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
                array_position(current_schemas(false), n.nspname) AS pos
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
          ORDER BY pos NULLS LAST, n.nspname, c.relname`,
      )
    ).rows;
    const inSchema = (schema: string) => tables.filter((t) => t.schema === schema);
    let schema = rule.schema;
    let name = rule.table;
    if (schema === undefined && rule.table.includes('.')) {
      const [s, ...rest] = rule.table.split('.');
      const picked = pickName(s ?? '', [...new Set(tables.map((t) => t.schema))]);
      if (picked !== undefined) {
        schema = picked;
        name = rest.join('.');
      }
    }
    const candidates = schema === undefined ? tables.filter((t) => t.pos !== null) : inSchema(schema);
    const exact = candidates.find((t) => t.name === name);
    const pickedName = exact ? exact.name : pickName(name, [...new Set(candidates.map((t) => t.name))]);
    const found = candidates.find((t) => t.name === pickedName);
    if (!found) {
      const shown = (schema === undefined ? tables : candidates).map((t) => (t.pos === 1 ? t.name : `${t.schema}.${t.name}`));
      throw notFound('table', schema === undefined ? name : `${schema}.${name}`, this.where, shown);
    }
    const columns = (
      await this.client.query<PgColumn>(
        `SELECT a.attname AS name, format_type(a.atttypid, NULL) AS type,
                (SELECT bt.typname FROM pg_type bt WHERE bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END) AS base
           FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
          WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
        [found.oid],
      )
    ).rows;
    const pk = (
      await this.client.query<{ name: string; type: string }>(
        `SELECT a.attname AS name, format_type(a.atttypid, NULL) AS type
           FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
          WHERE i.indrelid = $1::oid AND i.indisprimary ORDER BY k.ord`,
        [found.oid],
      )
    ).rows;
    const qualified = `${quoteIdent(found.schema)}.${quoteIdent(found.name)}`;
    if (pk.length === 0 && found.kind === 'p') {
      throw new ArcaError('USAGE', `the partitioned table ${found.schema}.${found.name} has no primary key; a purge walks the primary key of partitioned tables, so add one`);
    }
    const keys = pk.length > 0 ? pk.map((k) => ({ sql: quoteIdent(k.name), cast: `::${k.type}` })) : [{ sql: 'ctid', cast: '::tid' }];
    return { oid: found.oid, schema: found.schema, name: found.name, qualified, columns, keys };
  }

  private column(table: PgTable, name: string, role: string): PgColumn {
    const picked = pickName(name, table.columns.map((c) => c.name));
    const col = table.columns.find((c) => c.name === picked);
    if (!col) throw notFound(`column`, name, `table ${table.schema}.${table.name} (${role})`, table.columns.map((c) => c.name));
    return col;
  }

  async check(spec: PurgeRuleSpec): Promise<PurgeRuleSpec> {
    const rule = tableRuleOf(spec, 'PostgreSQL');
    const table = await this.query('reading the table list', () => this.resolve(rule));
    const column = this.column(table, rule.column, 'the date/time column');
    if (!DATE_TIME_TYPES.has(column.base)) {
      throw new ArcaError('USAGE', `column ${column.name} of ${table.schema}.${table.name} is ${column.type}, not a date/time type (timestamp, timestamptz or date)`);
    }
    const match = rule.match ? { ...rule.match, column: this.column(table, rule.match.column, 'the --match column').name } : undefined;
    return { ...rule, schema: table.schema, table: table.name, column: column.name, ...(match ? { match } : {}) };
  }

  private predicate(table: PgTable, rule: TableRule, cutoff: Date, p: Params): string {
    const parts = [`${quoteIdent(this.column(table, rule.column, 'the date/time column').name)} < ${p.add(cutoff.toISOString(), '::timestamptz')}`];
    if (rule.match) {
      const m = this.column(table, rule.match.column, 'the --match column');
      parts.push(`${quoteIdent(m.name)} = ANY(${p.add(rule.match.values, `::${m.type}[]`)})`);
    }
    if (rule.where) parts.push(`(${rule.where})`);
    return parts.join(' AND ');
  }

  async count(spec: PurgeRuleSpec, cutoff: Date): Promise<PurgeCount> {
    const rule = tableRuleOf(spec, 'PostgreSQL');
    const table = await this.query('reading the table list', () => this.resolve(rule));
    const p = new Params('$');
    const sql = `SELECT count(*)::text AS n FROM ${table.qualified} WHERE ${this.predicate(table, rule, cutoff, p)}`;
    const r = await this.query(`counting the rows of ${table.schema}.${table.name} to purge`, () => this.client.query<{ n: string }>(sql, p.values));
    return { items: Number(r.rows[0]?.n ?? 0), bytes: 0 };
  }

  async purge(spec: PurgeRuleSpec, opts: PurgeRunOptions): Promise<PurgeRunResult> {
    const rule = tableRuleOf(spec, 'PostgreSQL');
    const table = await this.query('reading the table list', () => this.resolve(rule));
    const keys = table.keys.map((k) => k.sql);
    const casts = table.keys.map((k) => k.cast);
    const what = `deleting from ${table.schema}.${table.name}`;
    let prev: string[] | null = null;
    return runBatches(opts, async () => {
      const p = new Params('$');
      let range = this.predicate(table, rule, opts.cutoff, p);
      if (prev) range += ` AND ${keysetCondition(keys, prev, '>', p, casts)}`;
      const bound = `SELECT ${keys.map((k, i) => `${k}::text AS k${i}`).join(', ')} FROM ${table.qualified}
        WHERE ${range} ORDER BY ${keys.join(', ')} LIMIT 1 OFFSET ${opts.batchSize - 1}`;
      const upperRow = (await this.statement(what, opts.signal, () => this.client.query<Record<string, string>>(bound, p.values))).rows[0];
      const upper = upperRow ? keys.map((_, i) => upperRow[`k${i}`]!) : null;
      const d = new Params('$');
      d.values.push(...p.values);
      const last = upper ? ` AND ${keysetCondition(keys, upper, '<=', d, casts)}` : '';
      const r = await this.statement(what, opts.signal, () => this.client.query(`DELETE FROM ${table.qualified} WHERE ${range}${last}`, d.values));
      prev = upper;
      return { deleted: r.rowCount ?? 0, bytes: 0, more: upper !== null };
    });
  }

  /** Runs a read; database errors become SOURCE errors naming the step. */
  private async query<T>(step: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw stepError(step, err);
    }
  }

  /** Runs one statement of a batch under the abort grace period. */
  private async statement<T>(step: string, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    try {
      return await withAbortGrace(signal, work(), () => this.cancel());
    } catch (err) {
      if (signal?.aborted) throw purgeAborted();
      throw stepError(step, err);
    }
  }

  private async cancel(): Promise<void> {
    const pid = pidOf(this.client);
    if (pid === undefined) return;
    const other = await connect(this.url);
    try {
      await other.query('SELECT pg_cancel_backend($1)', [pid]);
    } finally {
      await closeClient(other);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await closeClient(this.client);
  }
}

export async function openPostgresPurge(url: string): Promise<PurgeEngine> {
  const client = await connect(url);
  try {
    await client.query("SET TimeZone = 'UTC'");
    await client.query("SET application_name = 'arca purge'");
  } catch (err) {
    await closeClient(client);
    throw stepError('setting up the purge session', err);
  }
  return new PostgresPurge(url, client);
}
