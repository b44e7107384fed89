// What the purge engines share: the batch loop (abort checks between
// batches, the grace period of a batch running when the abort comes),
// keyset conditions over a table's key columns, parameter lists in each
// engine's placeholder style, and the messages for names that do not exist.
import { ArcaError } from '../../errors.js';
import type { PurgeRuleSpec, TableRule, FilesRule } from '../../catalog/purge-rules.js';
import { ABORT_GRACE_MS, type PurgeRunOptions, type PurgeRunResult } from './purge-engine.js';

export function purgeAborted(): ArcaError {
  return new ArcaError('ABORTED', 'purge aborted (the batches already committed stay deleted)');
}

/** One batch's outcome: what it deleted and whether another batch may find more. */
export interface BatchStep {
  deleted: number;
  bytes: number;
  more: boolean;
}

/** Runs `step` until it says there is no more, checking the signal before each batch. */
export async function runBatches(opts: PurgeRunOptions, step: () => Promise<BatchStep>): Promise<PurgeRunResult> {
  let batches = 0;
  let items = 0;
  let bytes = 0;
  for (;;) {
    if (opts.signal?.aborted) throw purgeAborted();
    const r = await step();
    if (r.deleted > 0) {
      batches++;
      items += r.deleted;
      bytes += r.bytes;
      opts.onBatch?.({ batch: batches, deleted: r.deleted, bytes: r.bytes });
    }
    if (!r.more) return { items, bytes, batches };
  }
}

/**
 * Awaits one running statement; when the signal fires meanwhile, gives it
 * `graceMs` to finish, then calls `cancel` (which makes the statement fail
 * and its transaction roll back).
 */
export async function withAbortGrace<T>(
  signal: AbortSignal | undefined,
  work: Promise<T>,
  cancel: () => Promise<void>,
  graceMs = ABORT_GRACE_MS,
): Promise<T> {
  if (!signal) return work;
  let timer: NodeJS.Timeout | undefined;
  const onAbort = (): void => {
    timer = setTimeout(() => void cancel().catch(() => undefined), graceMs);
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await work;
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (timer) clearTimeout(timer);
  }
}

/** Collects bound values and hands out placeholders: `?` (MySQL, SQLite) or `$n` (PostgreSQL). */
export class Params {
  readonly values: unknown[] = [];
  constructor(private readonly style: '?' | '$') {}

  add(value: unknown, cast = ''): string {
    this.values.push(value);
    return this.style === '?' ? '?' : `$${this.values.length}${cast}`;
  }
}

/**
 * `keys` compared with `values` in key order, written out so that indexes
 * serve it on every engine: `(a > ? OR (a = ? AND b > ?))` for `>`, and the
 * same with `<=` on the last column for `<=`.
 */
export function keysetCondition(
  keys: readonly string[],
  values: readonly unknown[],
  op: '>' | '<=',
  params: Params,
  casts: readonly string[] = [],
): string {
  const build = (i: number): string => {
    const key = keys[i]!;
    const cast = casts[i] ?? '';
    const last = i === keys.length - 1;
    const strict = op === '>' ? '>' : '<';
    if (last) return `${key} ${op} ${params.add(values[i], cast)}`;
    return `(${key} ${strict} ${params.add(values[i], cast)} OR (${key} = ${params.add(values[i], cast)} AND ${build(i + 1)}))`;
  };
  return build(0);
}

export function tableRuleOf(rule: PurgeRuleSpec, engine: string): TableRule {
  if (rule.kind !== 'table') {
    throw new ArcaError('USAGE', `a ${engine} database is purged by table rules (--table, --column, --older-than), not by --glob`);
  }
  return rule;
}

export function filesRuleOf(rule: PurgeRuleSpec): FilesRule {
  if (rule.kind !== 'files') {
    throw new ArcaError('USAGE', 'a files database is purged by --glob and --older-than rules, not by --table/--column');
  }
  return rule;
}

/** "no table X in D; tables: a, b, c (and 7 more)". */
export function notFound(what: string, name: string, where: string, existing: readonly string[]): ArcaError {
  const shown = existing.slice(0, 12).join(', ');
  const more = existing.length > 12 ? ` (and ${existing.length - 12} more)` : '';
  const list = existing.length === 0 ? `it has no ${what}s` : `its ${what}s: ${shown}${more}`;
  return new ArcaError('USAGE', `no ${what} "${name}" in ${where}; ${list}`);
}

/** Picks `name` from `names`: the exact spelling, else the one name equal ignoring case. */
export function pickName(name: string, names: readonly string[]): string | undefined {
  if (names.includes(name)) return name;
  const folded = names.filter((n) => n.toLowerCase() === name.toLowerCase());
  return folded.length === 1 ? folded[0] : undefined;
}

/** The cutoff as `YYYY-MM-DD HH:MM:SS.mmm` in UTC (MySQL, SQLite text). */
export function utcText(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}
