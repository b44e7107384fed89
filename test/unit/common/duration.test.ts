import { describe, expect, it } from 'vitest';
import { isArcaError } from '../../../src/errors.js';
import { formatDurationSpec, MAX_DURATION_MS, parseDuration } from '../../../src/common/duration.js';

const M = 60_000;
const H = 60 * M;
const D = 24 * H;
const W = 7 * D;

function usageError(input: string): string {
  try {
    parseDuration(input);
  } catch (err) {
    expect(isArcaError(err, 'USAGE')).toBe(true);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`parseDuration(${JSON.stringify(input)}) did not throw`);
}

describe('parseDuration', () => {
  it.each([
    ['1w', W],
    ['3d', 3 * D],
    ['12h', 12 * H],
    ['30m', 30 * M],
    ['2m', 2 * M], // minutes, never months
    ['1w 3d', W + 3 * D],
    ['1w3d', W + 3 * D],
    ['3d 1w', W + 3 * D],
    ['1m 1h 1d 1w', W + D + H + M],
    ['1w2d3h4m', W + 2 * D + 3 * H + 4 * M],
    ['  12h  ', 12 * H],
    ['1w\t3d', W + 3 * D],
    ['1 w 3 d', W + 3 * D],
    ['90m', 90 * M],
    ['48h', 48 * H],
    ['007d', 7 * D],
    ['1w 0d', W],
    ['5200w', 5200 * W],
  ])('%j → %d ms', (input, expected) => {
    expect(parseDuration(input)).toBe(expected);
  });

  it('refuses empty input', () => {
    expect(usageError('')).toMatch(/empty/);
    expect(usageError('   ')).toMatch(/empty/);
  });

  it('refuses unknown units, naming them', () => {
    expect(usageError('1x')).toMatch(/unknown unit "x"/);
    expect(usageError('10s')).toMatch(/unknown unit "s"/);
    expect(usageError('1y')).toMatch(/unknown unit "y"/);
    expect(usageError('2mo')).toMatch(/unknown unit "mo"/);
    expect(usageError('1W')).toMatch(/unknown unit "W"/);
    expect(usageError('1 week')).toMatch(/unknown unit "week"/);
    expect(usageError('1w 3days')).toMatch(/unknown unit "days"/);
  });

  it('refuses a number without a unit', () => {
    expect(usageError('12')).toMatch(/missing unit after 12/);
    expect(usageError('1w 3')).toMatch(/missing unit after 3/);
    expect(usageError('1 3d')).toMatch(/unknown unit|missing unit|unexpected/);
  });

  it('refuses a unit without a number', () => {
    expect(usageError('w')).toMatch(/unexpected "w"/);
    expect(usageError('1w d')).toMatch(/unexpected "d"/);
  });

  it('refuses repeated units', () => {
    expect(usageError('1d 2d')).toMatch(/"d" given more than once/);
    expect(usageError('1h1m1h')).toMatch(/"h" given more than once/);
  });

  it('refuses zero, negative and fractional durations', () => {
    expect(usageError('0m')).toMatch(/longer than zero/);
    expect(usageError('0w 0d')).toMatch(/longer than zero/);
    expect(usageError('-1d')).toMatch(/negative/);
    expect(usageError('1w -1d')).toMatch(/negative/);
    expect(usageError('1.5d')).toMatch(/fractions/);
    expect(usageError('1,5d')).toMatch(/fractions/);
  });

  it('refuses absurdly large durations', () => {
    expect(usageError('5300w')).toMatch(/too long/);
    expect(usageError('99999999999999999999d')).toMatch(/too long/);
    expect(usageError('36501d')).toMatch(/too long/);
    expect(parseDuration('36500d')).toBe(MAX_DURATION_MS);
  });

  it('refuses other junk', () => {
    expect(usageError('never')).toMatch(/unexpected/);
    expect(usageError('1w, 3d')).toMatch(/unexpected ", 3d"/);
    expect(usageError('+1d')).toMatch(/unexpected/);
    expect(usageError('1d!')).toMatch(/unexpected "!"/);
    expect(usageError('１d')).toMatch(/unexpected/); // full-width digit
  });

  it('quotes the input in the message, shortened and on one line', () => {
    expect(usageError('1x')).toMatch(/^invalid duration "1x": /);
    const long = usageError(`${'9'.repeat(100)}q`);
    expect(long.length).toBeLessThan(250);
    expect(usageError('1d\n2x')).not.toContain('\n');
  });
});

describe('formatDurationSpec', () => {
  it('writes the canonical form', () => {
    expect(formatDurationSpec(W + 3 * D)).toBe('1w 3d');
    expect(formatDurationSpec(90 * M)).toBe('1h 30m');
    expect(formatDurationSpec(0)).toBe('0m');
  });

  it('round-trips with parseDuration', () => {
    for (const spec of ['1w 3d', '12h', '30m', '2w 1d 5h 7m']) {
      expect(formatDurationSpec(parseDuration(spec))).toBe(spec);
    }
  });
});
