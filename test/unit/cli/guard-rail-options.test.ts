// The parsers of `arca backup`'s guard-rail options: --max-duration,
// --jobs and --rate-limit (bad values are commander usage errors, exit 2).

import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseJobs, parseMaxDuration, parseRateLimit } from '../../../src/cli/options.js';

describe('--max-duration', () => {
  it('takes the expiry syntax and whole seconds, keeping the text for messages', () => {
    expect(parseMaxDuration('30m')).toEqual({ ms: 30 * 60_000, label: '30m' });
    expect(parseMaxDuration('2h')).toEqual({ ms: 2 * 3_600_000, label: '2h' });
    expect(parseMaxDuration(' 1h  30m ')).toEqual({ ms: 90 * 60_000, label: '1h 30m' });
    expect(parseMaxDuration('90s')).toEqual({ ms: 90_000, label: '90s' });
  });

  it.each(['', '0m', '0s', 'soon', '-5m', '1.5h', 'never'])('refuses %j', (v) => {
    expect(() => parseMaxDuration(v)).toThrow(InvalidArgumentError);
  });
});

describe('--jobs', () => {
  it('takes 1 to 16', () => {
    expect(parseJobs('1')).toBe(1);
    expect(parseJobs('16')).toBe(16);
  });

  it.each(['0', '17', 'x', '', '2.5', '-1', '100'])('refuses %j', (v) => {
    expect(() => parseJobs(v)).toThrow(InvalidArgumentError);
  });
});

describe('--rate-limit', () => {
  it('takes decimal and binary units, with or without /s', () => {
    expect(parseRateLimit('20MB/s')).toBe(20_000_000);
    expect(parseRateLimit('500KiB/s')).toBe(512_000);
    expect(parseRateLimit('1.5 GB/s')).toBe(1_500_000_000);
    expect(parseRateLimit('2mib')).toBe(2 * 1024 * 1024);
    expect(parseRateLimit('4096B/s')).toBe(4096);
  });

  it.each(['', 'fast', '0MB/s', '10', '10MB/h', '100B/s', '-1MB/s'])('refuses %j', (v) => {
    expect(() => parseRateLimit(v)).toThrow(InvalidArgumentError);
  });
});
