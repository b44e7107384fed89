// Expiry durations: parses the "#w #d #h #m" strings users give to `--expire`
// (and later `arca expire`, schedules) into milliseconds. `never` is not a
// duration: callers that accept it handle it before calling parseDuration.
import { ArcaError } from '../errors.js';

const UNIT_MS = {
  w: 7 * 24 * 60 * 60 * 1000,
  d: 24 * 60 * 60 * 1000,
  h: 60 * 60 * 1000,
  m: 60 * 1000,
} as const;

type Unit = keyof typeof UNIT_MS;

/** The longest expiry we accept: 100 years (of 365 days). */
export const MAX_DURATION_MS = 100 * 365 * UNIT_MS.d;

const EXAMPLE = 'use whole numbers with w (weeks), d (days), h (hours), m (minutes), e.g. "1w 3d", "12h", "30m"';

function isUnit(s: string): s is Unit {
  return s === 'w' || s === 'd' || s === 'h' || s === 'm';
}

/** Quote user input for an error message, keeping the message on one line. */
function quote(input: string): string {
  const short = input.length > 40 ? `${input.slice(0, 40)}…` : input;
  return JSON.stringify(short);
}

/**
 * Parses "1w 3d", "12h", "30m", "1w3d", "3d 1w" (any subset of w/d/h/m, any
 * order, each unit at most once, optional whitespace) into milliseconds.
 * Throws ArcaError('USAGE') for anything else, including a zero total.
 */
export function parseDuration(input: string): number {
  function fail(why: string): never {
    throw new ArcaError('USAGE', `invalid duration ${quote(input)}: ${why}`);
  }
  const text = input.trim();
  if (text === '') fail(`it is empty; ${EXAMPLE}`);

  // Each part starts at a non-space: the text is trimmed and parts eat trailing spaces.
  const part = /(\d+)\s*([A-Za-z]*)\s*/y;
  const seen = new Set<Unit>();
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    const first = text[pos];
    if (first === '-') fail('negative durations are not allowed');
    part.lastIndex = pos;
    const m = part.exec(text);
    if (!m) fail(`unexpected ${quote(text.slice(pos, pos + 10))}; ${EXAMPLE}`);
    const digits = m[1] ?? '';
    const unit = m[2] ?? '';
    const after = text[pos + digits.length];
    if (after === '.' || after === ',') fail(`fractions are not allowed; ${EXAMPLE}`);
    if (unit === '') fail(`missing unit after ${digits}; ${EXAMPLE}`);
    if (!isUnit(unit)) fail(`unknown unit ${quote(unit)}; ${EXAMPLE}`);
    const u: Unit = unit;
    if (seen.has(u)) fail(`unit "${u}" given more than once`);
    seen.add(u);
    // Long digit strings would lose precision; they are absurd anyway.
    if (digits.replace(/^0+/, '').length > 9) fail('it is too long (at most 100 years)');
    total += Number(digits) * UNIT_MS[u];
    if (total > MAX_DURATION_MS) fail('it is too long (at most 100 years)');
    pos = part.lastIndex;
  }
  if (total === 0) fail('it must be longer than zero');
  return total;
}

/** Formats milliseconds back into the canonical "#w #d #h #m" form (rounded down to minutes). */
export function formatDurationSpec(ms: number): string {
  let rest = Math.floor(ms / UNIT_MS.m) * UNIT_MS.m;
  const parts: string[] = [];
  for (const unit of ['w', 'd', 'h', 'm'] as const) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * UNIT_MS[unit];
  }
  return parts.length > 0 ? parts.join(' ') : '0m';
}

/**
 * An expiry as users write it (`--expire`, the API's `expire`): a duration
 * counted from `now` ("1w 3d", "12h") or "never" (null). USAGE otherwise.
 */
export function expiryFrom(text: string, now: Date): Date | null {
  const ms = parseExpiry(text);
  return ms === null ? null : new Date(now.getTime() + ms);
}

/** An expiry as users write it: its length in ms, or null for "never" (any case). USAGE otherwise. */
export function parseExpiry(text: string): number | null {
  if (text.trim().toLowerCase() === 'never') return null;
  return parseDuration(text);
}

/** An expiry in the form it is stored (schedules, database settings): "never" or the canonical "1w 3d". USAGE otherwise. */
export function canonicalExpiry(text: string): string {
  const ms = parseExpiry(text);
  return ms === null ? 'never' : formatDurationSpec(ms);
}
