import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  formatDuration,
  formatEta,
  formatPercent,
  formatRate,
  formatTimestamp,
} from '../../../src/common/format.js';
import { isValidName, validateName } from '../../../src/common/names.js';
import { isArcaError } from '../../../src/errors.js';

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1, '1 B'],
    [1023, '1023 B'],
    [1024, '1.00 KiB'],
    [1536, '1.50 KiB'],
    [10 * 1024, '10.0 KiB'],
    [123 * 1024 * 1024, '123 MiB'],
    [1024 * 1024 - 1, '1.00 MiB'], // never "1024 KiB"
    [5 * 1024 ** 3, '5.00 GiB'],
    [2 * 1024 ** 4, '2.00 TiB'],
    [-2048, '-2.00 KiB'],
  ])('%d → %s', (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });

  it('handles non-finite values', () => {
    expect(formatBytes(NaN)).toBe('?');
  });
});

describe('formatRate / formatDuration / formatEta / formatPercent', () => {
  it('formats rates', () => {
    expect(formatRate(120 * 1024 * 1024)).toBe('120 MiB/s');
    expect(formatRate(null)).toBe('? B/s');
  });

  it('formats durations', () => {
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(12_340)).toBe('12.3s');
    expect(formatDuration(245_000)).toBe('4m 05s');
    expect(formatDuration(2 * 3600_000 + 3 * 60_000)).toBe('2h 03m');
    expect(formatDuration(3 * 86400_000 + 4 * 3600_000)).toBe('3d 04h');
  });

  it('formats ETAs as clocks', () => {
    expect(formatEta(7)).toBe('0:07');
    expect(formatEta(754)).toBe('12:34');
    expect(formatEta(3723)).toBe('1:02:03');
    expect(formatEta(0.2)).toBe('0:01');
    expect(formatEta(null)).toBe('--:--');
    expect(formatEta(Infinity)).toBe('--:--');
    expect(formatEta(1e9)).toBe('>99h');
  });

  it('never shows 100% before the end', () => {
    expect(formatPercent(0, 100)).toBe('0%');
    expect(formatPercent(37, 100)).toBe('37%');
    expect(formatPercent(999, 1000)).toBe('99%');
    expect(formatPercent(1000, 1000)).toBe('100%');
    expect(formatPercent(5, null)).toBe('?%');
    expect(formatPercent(5, 0)).toBe('?%');
  });

  it('formats timestamps in local time', () => {
    expect(formatTimestamp(new Date(2024, 4, 1, 13, 45, 7))).toBe('2024-05-01 13:45:07');
    expect(formatTimestamp(null)).toBe('-');
    expect(formatTimestamp(null, 'never')).toBe('never');
  });
});

describe('names', () => {
  it.each(['a', 'main', 'db-1', 'my_vol.2', 'A'.repeat(64), '0day'])('accepts %j', (name) => {
    expect(isValidName(name)).toBe(true);
    expect(validateName('volume', name)).toBe(name);
  });

  it.each(['', '.hidden', '-x', '_x', 'a/b', 'a..b', '..', 'a b', 'é', 'A'.repeat(65), 'a\nb', 'a:b'])(
    'refuses %j with a usage error',
    (name) => {
      expect(isValidName(name)).toBe(false);
      try {
        validateName('database', name);
        expect.unreachable();
      } catch (err) {
        expect(isArcaError(err, 'USAGE')).toBe(true);
        expect((err as Error).message).toMatch(/^invalid database name /);
        expect((err as Error).message).not.toContain('\n');
      }
    },
  );
});
