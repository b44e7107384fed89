// The PurgeEngine contract: what each kind of database (PostgreSQL,
// MySQL/MariaDB, SQLite, a directory) provides to the purge job. One engine
// per file beside this one; test/integration/purge/purge-contract.ts runs the
// same suite against each.
//
// CONTRACT
//   - check(rule) validates a rule against the live database and returns it
//     with names resolved as the database spells them (PostgreSQL: the
//     schema filled in). USAGE when the table, the date/time column or the
//     match column does not exist, when the column is not a date/time type,
//     or when the rule is of the other kind (a files rule on a SQL database or
//     the reverse); the message names what does exist. It reads only.
//   - A rule selects the rows whose column is strictly older than the cutoff
//     (`column < cutoff`; a row exactly at the cutoff stays; NULL never goes),
//     AND, with `match`, whose match column equals one of the values (bound
//     as parameters, never spliced), AND, with `where`, what the admin's SQL
//     selects (trusted, wrapped in parentheses). Identifiers are always
//     quoted by the engine's own rules. Files: regular files (never symlinks,
//     never directories) whose path relative to the root matches the glob and
//     whose mtime is older than the cutoff; symlinks are never followed.
//   - count(rule, cutoff) tells how many rows (files, and their bytes) the
//     rule selects now, reading only.
//   - purge(rule, options) deletes exactly what count() would report, in
//     batches of at most `batchSize` rows, each batch its own short
//     transaction, committed before the next starts (so no lock is held
//     across batches). After each batch that deleted something, `onBatch` is
//     called. Before each batch the signal is checked: an aborted signal
//     throws ArcaError('ABORTED') and leaves the committed batches deleted. A
//     batch still running when the signal fires gets ABORT_GRACE_MS to
//     finish (e.g. while it waits for a lock), then is cancelled and rolled
//     back. `batches` counts the batches that deleted something.
//   - Failures of the database are ArcaError('SOURCE') without passwords.
//   - close() releases the connection; calling it twice is harmless.
import type { PurgeRuleSpec } from '../../catalog/purge-rules.js';

export type PurgeEngineKind = 'postgres' | 'mysql' | 'sqlite' | 'files';

/** How long a running batch may go on after an abort before it is cancelled. */
export const ABORT_GRACE_MS = 10_000;

export interface PurgeCount {
  /** Rows, or files for a files rule. */
  items: number;
  /** Bytes of the files (0 for rows). */
  bytes: number;
}

export interface BatchReport {
  /** 1, 2, … */
  batch: number;
  /** Items this batch deleted. */
  deleted: number;
  bytes: number;
}

export interface PurgeRunOptions {
  cutoff: Date;
  batchSize: number;
  signal?: AbortSignal;
  onBatch?: (report: BatchReport) => void;
}

export interface PurgeRunResult extends PurgeCount {
  batches: number;
}

export interface PurgeEngine {
  readonly kind: PurgeEngineKind;
  check(rule: PurgeRuleSpec): Promise<PurgeRuleSpec>;
  count(rule: PurgeRuleSpec, cutoff: Date): Promise<PurgeCount>;
  purge(rule: PurgeRuleSpec, options: PurgeRunOptions): Promise<PurgeRunResult>;
  close(): Promise<void>;
}
