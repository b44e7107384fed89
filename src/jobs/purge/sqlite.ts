// The SQLite purge engine (see purge-engine.ts for the contract). SQLite has
// no date type: a "date/time column" is one whose declared type says DATE or
// TIME (DATETIME, TIMESTAMP, DATE, …), and its values are read with
// unixepoch(value, 'auto', 'subsec'): ISO-8601 text (taken as UTC unless it
// carries an offset) or Unix seconds; anything else reads as NULL and is
// never deleted. Batches walk the rowid (the primary key of a WITHOUT ROWID
// table), each in its own IMMEDIATE transaction. better-sqlite3 is
// synchronous, so a locked database is waited for here, in short steps that
// let the abort signal and timers run, never inside one long busy wait.
import Database from 'better-sqlite3';
import { setTimeout as sleep } from 'node:timers/promises';
import { ArcaError, errorMessage } from '../../errors.js';
import type { PurgeRuleSpec, TableRule } from '../../catalog/purge-rules.js';
import { sqlitePath } from '../../sources/sqlite/sqlite-url.js';
import type { PurgeCount, PurgeEngine, PurgeRunOptions, PurgeRunResult } from './purge-engine.js';
import { keysetCondition, notFound, Params, pickName, purgeAborted, runBatches, tableRuleOf } from './purge-batches.js';

/** How long a batch waits for another connection's lock before the purge fails. */
const LOCK_WAIT_MS = 60_000;
const BUSY_STEP_MS = 100;

interface LiteColumn {
  name: string;
  type: string;
  pk: number;
}

interface LiteTable {
  name: string;
  columns: LiteColumn[];
  /** Quoted key columns in order (rowid, or the primary key of a WITHOUT ROWID table). */
  keys: string[];
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

class SqlitePurge implements PurgeEngine {
  readonly kind = 'sqlite';
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly db: Database.Database,
  ) {}

  private resolve(rule: TableRule): LiteTable {
    const names = this.db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
      .all()
      .map((r) => r.name);
    const name = pickName(rule.table, names);
    if (name === undefined) throw notFound('table', rule.table, `the SQLite database ${this.path}`, names);
    const columns = this.db.prepare<[string], LiteColumn>('SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid').all(name);
    const withoutRowid = this.db.prepare<[string], { wr: number }>("SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?").get(name)?.wr === 1;
    let keys: string[];
    if (withoutRowid) {
      keys = columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => quoteIdent(c.name));
    } else {
      const alias = ['rowid', '_rowid_', 'oid'].find((a) => !columns.some((c) => c.name.toLowerCase() === a));
      if (alias === undefined) throw new ArcaError('USAGE', `table ${name} has columns named rowid, _rowid_ and oid, so its rowid cannot be named; a purge cannot batch it`);
      keys = [alias];
    }
    return { name, columns, keys };
  }

  private column(table: LiteTable, name: string, role: string): LiteColumn {
    const picked = pickName(name, table.columns.map((c) => c.name));
    const col = table.columns.find((c) => c.name === picked);
    if (!col) throw notFound('column', name, `table ${table.name} (${role})`, table.columns.map((c) => c.name));
    return col;
  }

  async check(spec: PurgeRuleSpec): Promise<PurgeRuleSpec> {
    const rule = tableRuleOf(spec, 'SQLite');
    const table = this.run('reading the table list', () => this.resolve(rule));
    const column = this.column(table, rule.column, 'the date/time column');
    if (!/date|time/i.test(column.type)) {
      throw new ArcaError('USAGE', `column ${column.name} of ${table.name} is declared ${column.type ? `as ${column.type}` : 'without a type'}, not as a date/time type (DATETIME, TIMESTAMP, DATE)`);
    }
    const match = rule.match ? { ...rule.match, column: this.column(table, rule.match.column, 'the --match column').name } : undefined;
    return { ...rule, table: table.name, column: column.name, ...(match ? { match } : {}) };
  }

  private predicate(table: LiteTable, rule: TableRule, cutoff: Date, p: Params): string {
    const column = this.column(table, rule.column, 'the date/time column');
    const parts = [`unixepoch(${quoteIdent(column.name)}, 'auto', 'subsec') < ${p.add(cutoff.getTime() / 1000)}`];
    if (rule.match) {
      const m = this.column(table, rule.match.column, 'the --match column');
      parts.push(`${quoteIdent(m.name)} IN (${rule.match.values.map((v) => p.add(v)).join(', ')})`);
    }
    if (rule.where) parts.push(`(${rule.where})`);
    return parts.join(' AND ');
  }

  async count(spec: PurgeRuleSpec, cutoff: Date): Promise<PurgeCount> {
    const rule = tableRuleOf(spec, 'SQLite');
    const table = this.run('reading the table list', () => this.resolve(rule));
    const p = new Params('?');
    const sql = `SELECT count(*) AS n FROM ${quoteIdent(table.name)} WHERE ${this.predicate(table, rule, cutoff, p)}`;
    const row = await this.whenUnlocked(`counting the rows of ${table.name} to purge`, undefined, () =>
      this.db.prepare<unknown[], { n: number }>(sql).get(...p.values),
    );
    return { items: row?.n ?? 0, bytes: 0 };
  }

  async purge(spec: PurgeRuleSpec, opts: PurgeRunOptions): Promise<PurgeRunResult> {
    const rule = tableRuleOf(spec, 'SQLite');
    const table = this.run('reading the table list', () => this.resolve(rule));
    const qt = quoteIdent(table.name);
    const keys = table.keys;
    let prev: unknown[] | null = null;
    const batch = this.db.transaction((): { deleted: number; upper: unknown[] | null } => {
      const p = new Params('?');
      let range = this.predicate(table, rule, opts.cutoff, p);
      if (prev) range += ` AND ${keysetCondition(keys, prev, '>', p)}`;
      const bound = this.db
        .prepare<unknown[], unknown[]>(`SELECT ${keys.join(', ')} FROM ${qt} WHERE ${range} ORDER BY ${keys.join(', ')} LIMIT 1 OFFSET ${opts.batchSize - 1}`)
        .raw(true)
        .safeIntegers(true);
      const upper = bound.get(...p.values) ?? null;
      const d = new Params('?');
      d.values.push(...p.values);
      const last = upper ? ` AND ${keysetCondition(keys, upper, '<=', d)}` : '';
      const deleted = this.db.prepare(`DELETE FROM ${qt} WHERE ${range}${last}`).run(...d.values).changes;
      return { deleted, upper };
    });
    return runBatches(opts, async () => {
      const r = await this.whenUnlocked(`deleting from ${table.name}`, opts.signal, () => batch.immediate());
      prev = r.upper;
      return { deleted: r.deleted, bytes: 0, more: r.upper !== null };
    });
  }

  /** Runs `work`, retrying while another connection holds a lock (up to LOCK_WAIT_MS). */
  private async whenUnlocked<T>(step: string, signal: AbortSignal | undefined, work: () => T): Promise<T> {
    const started = performance.now();
    for (;;) {
      try {
        return work();
      } catch (err) {
        if (!isBusy(err)) throw this.failure(step, err);
        if (performance.now() - started > LOCK_WAIT_MS) {
          throw new ArcaError('SOURCE', `${step} failed: the database ${this.path} stayed locked by another connection for ${LOCK_WAIT_MS / 1000} s`, { cause: err });
        }
      }
      if (signal?.aborted) throw purgeAborted();
      await sleep(BUSY_STEP_MS);
    }
  }

  private run<T>(step: string, work: () => T): T {
    try {
      return work();
    } catch (err) {
      throw this.failure(step, err);
    }
  }

  private failure(step: string, err: unknown): ArcaError {
    if (err instanceof ArcaError) return err;
    return new ArcaError('SOURCE', `${step} failed: ${errorMessage(err)}`, { cause: err });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}

export async function openSqlitePurge(url: string): Promise<PurgeEngine> {
  const path = sqlitePath(url);
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: true, timeout: BUSY_STEP_MS });
  } catch (err) {
    throw new ArcaError('SOURCE', `cannot open the SQLite database ${path}: ${errorMessage(err)}`, { cause: err });
  }
  return new SqlitePurge(path, db);
}
