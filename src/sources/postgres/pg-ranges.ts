// Key ranges: a large table is dumped as consecutive parts, each
// `COPY (SELECT … WHERE k >= a AND k < b ORDER BY key) TO STDOUT`, that the
// snapshot-sharing worker connections run in parallel. The parts, concatenated
// in order, are byte for byte the unsplit ordered dump (every part is ordered
// by the full key, and the ranges of the first key column tile the whole line:
// the first is open below, the last open above).
//
// Splittable: a table whose order key's first column is smallint, integer or
// bigint, of more than SPLIT_MIN_BYTES on disk (pg_table_size, in the catalog). Anything else
// (text or uuid keys, no key) is dumped unsplit.
//
// Boundaries must not move from day to day, or every part boundary would
// shift a forced chunk cut (dedup): they are the multiples of a power-of-two
// step inside (min, max] of the key. The step is the largest power of two not
// above (key span / wanted parts), so it stays put until the key density
// changes two-fold, and when it halves or doubles every other boundary stays.
// Deleting the oldest rows or appending new ones only drops or adds boundaries
// at the ends.

import { stepError, qualified, quoteIdent, type PgClient } from './pg-connect.js';
import type { TableEntry } from './pg-catalog.js';

/** Tables estimated above this are split. */
export const SPLIT_MIN_BYTES = 64 * 1024 * 1024;
/** Wanted (estimated) size of one part: parts come out between half and all of it when keys are dense. */
export const PART_BYTES = 32 * 1024 * 1024;
/** Never more parts than this (a sparse key widens the step instead). */
export const MAX_PARTS = 256;

const SPLITTABLE_TYPES = new Set(['smallint', 'integer', 'bigint']);

/** One part: the first key column in [from, to); null = unbounded. Decimal strings (bigint-safe). */
export interface KeyRange {
  from: string | null;
  to: string | null;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

/** Largest power of two ≤ n (n ≥ 1). */
function powerOfTwoAtMost(n: bigint): bigint {
  let p = 1n;
  while (p * 2n <= n) p *= 2n;
  return p;
}

/**
 * Boundaries for keys in [min, max] of a table of about `bytes`: the
 * multiples of a power-of-two step in (min, max]; [] when the table should not
 * be split. Pure, so the stability rules are testable.
 */
export function rangeBoundaries(min: bigint, max: bigint, bytes: number, opts: { partBytes?: number; maxParts?: number } = {}): bigint[] {
  const partBytes = opts.partBytes ?? PART_BYTES;
  const maxParts = opts.maxParts ?? MAX_PARTS;
  const wanted = Math.ceil(bytes / partBytes);
  if (wanted < 2 || max <= min) return [];
  const span = max - min + 1n;
  const perPart = span / BigInt(wanted);
  let step = powerOfTwoAtMost(perPart < 1n ? 1n : perPart);
  for (;;) {
    const first = (floorDiv(min, step) + 1n) * step;
    if (first > max) return [];
    const count = floorDiv(max - first, step) + 1n;
    if (count <= BigInt(maxParts - 1)) {
      const out: bigint[] = [];
      for (let b = first; b <= max; b += step) out.push(b);
      return out;
    }
    step *= 2n;
  }
}

/** Ranges from boundaries: (-∞, b0), [b0, b1), …, [bn, +∞). */
export function rangesFrom(bounds: bigint[]): KeyRange[] {
  if (bounds.length === 0) return [{ from: null, to: null }];
  const out: KeyRange[] = [{ from: null, to: bounds[0]!.toString() }];
  for (let i = 0; i < bounds.length; i++) out.push({ from: bounds[i]!.toString(), to: bounds[i + 1]?.toString() ?? null });
  return out;
}

/**
 * The parts a table is dumped in, read in the caller's snapshot; null when it
 * is dumped unsplit (small, no key, or a key that is not an integer).
 */
export async function planRanges(client: PgClient, t: TableEntry, opts: { partBytes?: number; minBytes?: number } = {}): Promise<KeyRange[] | null> {
  const key = t.orderBy?.[0];
  if (!key) return null;
  const name = qualified(t.schema, t.name);
  const bytes = t.estimatedBytes;
  if (!(bytes > (opts.minBytes ?? SPLIT_MIN_BYTES))) return null;
  try {
    const type = (
      await client.query<{ type: string }>('SELECT format_type(atttypid, NULL) AS type FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2', [name, key])
    ).rows[0]?.type;
    if (!type || !SPLITTABLE_TYPES.has(type)) return null;
    const k = quoteIdent(key);
    const mm = (await client.query<{ lo: string | null; hi: string | null }>(`SELECT min(${k})::text AS lo, max(${k})::text AS hi FROM ONLY ${name}`)).rows[0];
    if (!mm?.lo || !mm.hi) return null;
    const bounds = rangeBoundaries(BigInt(mm.lo), BigInt(mm.hi), bytes, opts.partBytes ? { partBytes: opts.partBytes } : {});
    return bounds.length === 0 ? null : rangesFrom(bounds);
  } catch (err) {
    throw stepError(`planning the key ranges of table ${t.schema}.${t.name}`, err);
  }
}

/** The WHERE clause of one range on the first key column ('' for an unbounded range). */
export function rangeWhere(t: TableEntry, r: KeyRange): string {
  const k = quoteIdent(t.orderBy![0]!);
  const conds: string[] = [];
  // Bounds are integers made by rangeBoundaries (BigInt → decimal): safe to inline.
  if (r.from !== null) conds.push(`${k} >= ${BigInt(r.from).toString()}`);
  if (r.to !== null) conds.push(`${k} < ${BigInt(r.to).toString()}`);
  return conds.length ? ` WHERE ${conds.join(' AND ')}` : '';
}
