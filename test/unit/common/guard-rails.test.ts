// The shared parsers of the backup guard rails (src/common/guard-rails.ts),
// below the CLI: `arca backup`, `arca schedule add`, the API and stored
// schedule options all use them, so a bad value is an ArcaError('USAGE')
// with one line saying what to write (the CLI's wrappers are tested in
// test/unit/cli/guard-rail-options.test.ts).
import { describe, expect, it } from 'vitest';
import { isArcaError } from '../../../src/errors.js';
import { checkJobs, parseJobs, parseMaxDuration, parseRateLimit } from '../../../src/common/guard-rails.js';

function usageError(work: () => unknown): string {
  try {
    work();
  } catch (err) {
    expect(isArcaError(err, 'USAGE')).toBe(true);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('it did not throw');
}

describe('parseMaxDuration', () => {
  it('takes the expiry syntax and whole seconds, tidying the text', () => {
    expect(parseMaxDuration('2h')).toEqual({ ms: 7_200_000, label: '2h' });
    expect(parseMaxDuration(' 1h  30m ')).toEqual({ ms: 5_400_000, label: '1h 30m' });
    expect(parseMaxDuration('1s')).toEqual({ ms: 1000, label: '1s' });
  });

  it('refuses what is not a positive duration, saying how to write one', () => {
    expect(usageError(() => parseMaxDuration('0s'))).toBe('the duration must be longer than zero');
    expect(usageError(() => parseMaxDuration('soon'))).toMatch(/^invalid duration "soon": .*e\.g\. "1w 3d", "12h", "30m"$/);
    expect(usageError(() => parseMaxDuration('1.5h'))).toMatch(/fractions are not allowed/);
    expect(usageError(() => parseMaxDuration('never'))).toMatch(/invalid duration "never"/);
  });
});

describe('parseJobs and checkJobs', () => {
  it('take 1 to 16', () => {
    expect(parseJobs(' 4 ')).toBe(4);
    expect(checkJobs(1)).toBe(1);
    expect(checkJobs(16)).toBe(16);
  });

  it.each([0, 17, 2.5, -1, Number.NaN])('checkJobs refuses %j', (n) => {
    expect(usageError(() => checkJobs(n))).toBe('the number of jobs must be an integer from 1 to 16');
  });

  it.each(['0', '17', '2.5', 'x', ''])('parseJobs refuses %j', (v) => {
    expect(usageError(() => parseJobs(v))).toBe('the number of jobs must be an integer from 1 to 16');
  });
});

describe('parseRateLimit', () => {
  it('takes decimal and binary units', () => {
    expect(parseRateLimit('20MB/s')).toBe(20_000_000);
    expect(parseRateLimit('1KiB/s')).toBe(1024);
  });

  it.each(['fast', '0MB/s', '1000B/s', '10MB/h'])('refuses %j', (v) => {
    expect(usageError(() => parseRateLimit(v))).toMatch(/^the rate must be at least 1KiB\/s, written like "20MB\/s"/);
  });
});
