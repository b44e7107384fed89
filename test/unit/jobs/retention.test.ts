// The retention policy as a pure function: expiry first, then keep rules over
// UTC hours, days, ISO weeks, months and years, to the second.

import { describe, expect, it } from 'vitest';
import { applyRetention, bucketOf, isoWeek, validatePolicy, type RetentionInput } from '../../../src/jobs/retention.js';

let n = 0;
const b = (startedAt: string, expiresAt: string | null = null): RetentionInput => ({ id: `b${String(++n).padStart(3, '0')}-${startedAt}`, startedAt, expiresAt });
const NOW = new Date('2026-11-22T12:00:00.000Z');
const kept = (ds: ReturnType<typeof applyRetention>) => ds.filter((d) => d.action === 'keep').map((d) => d.startedAt);

describe('applyRetention', () => {
  it('empty input gives no decisions', () => {
    expect(applyRetention([], { keepLast: 3 }, NOW)).toEqual([]);
    expect(applyRetention([], {}, NOW)).toEqual([]);
  });

  it('an empty policy keeps every backup that has not expired; expired ones go', () => {
    const ds = applyRetention([b('2026-11-01T00:00:00.000Z'), b('2026-11-02T00:00:00.000Z', '2026-11-20T00:00:00.000Z')], {}, NOW);
    expect(ds.map((d) => [d.startedAt, d.action, d.reasons])).toEqual([
      ['2026-11-02T00:00:00.000Z', 'remove', ['expired at 2026-11-20T00:00:00.000Z']],
      ['2026-11-01T00:00:00.000Z', 'keep', ['no retention policy; not expired']],
    ]);
  });

  it('expires exactly at expiresAt, not a millisecond before', () => {
    const at = '2026-11-22T12:00:00.000Z';
    expect(applyRetention([b('2026-11-01T00:00:00.000Z', at)], {}, NOW)[0]!.action).toBe('remove');
    expect(applyRetention([b('2026-11-01T00:00:00.000Z', at)], {}, new Date(NOW.getTime() - 1))[0]!.action).toBe('keep');
  });

  it('only keep-last: the N newest stay, the rest are dropped by policy', () => {
    const list = ['01', '02', '03', '04', '05'].map((d) => b(`2026-11-${d}T10:00:00.000Z`));
    const ds = applyRetention(list, { keepLast: 2 }, NOW);
    expect(kept(ds)).toEqual(['2026-11-05T10:00:00.000Z', '2026-11-04T10:00:00.000Z']);
    expect(ds[0]!.reasons).toEqual(['kept by keep-last (1 of 2)']);
    expect(ds.slice(2).every((d) => d.reasons.join() === 'dropped by policy')).toBe(true);
  });

  it('expired backups go regardless of the policy and take no slot from it', () => {
    const list = [b('2026-11-20T10:00:00.000Z', '2026-11-21T00:00:00.000Z'), b('2026-11-19T10:00:00.000Z'), b('2026-11-18T10:00:00.000Z')];
    const ds = applyRetention(list, { keepLast: 2 }, NOW);
    expect(ds.map((d) => d.action)).toEqual(['remove', 'keep', 'keep']);
    expect(ds[0]!.reasons).toEqual(['expired at 2026-11-21T00:00:00.000Z']);
  });

  it('two backups in the same hour: keep-hourly keeps the newer, to the second', () => {
    const list = [b('2026-11-22T10:59:59.000Z'), b('2026-11-22T10:00:00.000Z'), b('2026-11-22T09:59:59.999Z')];
    const ds = applyRetention(list, { keepHourly: 5 }, NOW);
    expect(kept(ds)).toEqual(['2026-11-22T10:59:59.000Z', '2026-11-22T09:59:59.999Z']);
    expect(ds[0]!.reasons).toEqual(['kept by keep-hourly (2026-11-22T10)']);
    expect(ds[1]!.reasons).toEqual(['dropped by policy']);
  });

  it('keep-daily counts days that have backups, newest first, in UTC', () => {
    const list = [b('2026-11-20T23:59:59.000Z'), b('2026-11-21T00:00:00.000Z'), b('2026-11-18T12:00:00.000Z'), b('2026-11-20T01:00:00.000Z')];
    const ds = applyRetention(list, { keepDaily: 2 }, NOW);
    expect(kept(ds)).toEqual(['2026-11-21T00:00:00.000Z', '2026-11-20T23:59:59.000Z']);
    expect(ds.find((d) => d.startedAt === '2026-11-20T23:59:59.000Z')!.reasons).toEqual(['kept by keep-daily (2026-11-20)']);
  });

  it('ISO weeks: Sunday 2027-01-03 is in 2026-W53, Monday 2027-01-04 starts 2027-W01', () => {
    expect(isoWeek(new Date('2027-01-03T23:59:59Z'))).toEqual({ year: 2026, week: 53 });
    expect(isoWeek(new Date('2027-01-04T00:00:00Z'))).toEqual({ year: 2027, week: 1 });
    expect(isoWeek(new Date('2024-12-30T00:00:00Z'))).toEqual({ year: 2025, week: 1 });
    expect(isoWeek(new Date('2026-11-22T12:00:00Z'))).toEqual({ year: 2026, week: 47 });
    const list = [b('2027-01-04T00:00:00.000Z'), b('2027-01-03T23:59:59.000Z'), b('2026-12-28T00:00:00.000Z'), b('2026-12-27T23:59:59.000Z')];
    const ds = applyRetention(list, { keepWeekly: 3 }, new Date('2027-02-01T00:00:00Z'));
    expect(kept(ds)).toEqual(['2027-01-04T00:00:00.000Z', '2027-01-03T23:59:59.000Z', '2026-12-27T23:59:59.000Z']);
    expect(ds.map((d) => d.reasons[0])).toEqual([
      'kept by keep-weekly (2027-W01)',
      'kept by keep-weekly (2026-W53)',
      'dropped by policy',
      'kept by keep-weekly (2026-W52)',
    ]);
  });

  it('year and month boundaries, and several rules giving several reasons', () => {
    const list = [b('2026-01-01T00:00:00.000Z'), b('2025-12-31T23:59:59.000Z'), b('2025-06-01T00:00:00.000Z'), b('2024-12-31T00:00:00.000Z')];
    const ds = applyRetention(list, { keepYearly: 2, keepMonthly: 2, keepLast: 1 }, NOW);
    expect(ds.map((d) => [d.action, d.reasons])).toEqual([
      ['keep', ['kept by keep-last (1 of 1)', 'kept by keep-monthly (2026-01)', 'kept by keep-yearly (2026)']],
      ['keep', ['kept by keep-monthly (2025-12)', 'kept by keep-yearly (2025)']],
      ['remove', ['dropped by policy']],
      ['remove', ['dropped by policy']],
    ]);
    expect(bucketOf('keepYearly', new Date('2025-12-31T23:59:59.999Z'))).toBe('2025');
    expect(bucketOf('keepMonthly', new Date('2026-03-01T00:00:00Z'))).toBe('2026-03');
  });

  it('validates policies: unknown rules, negative or fractional counts; 0 removes a rule', () => {
    expect(validatePolicy({ keepDaily: 7, keepLast: 0 })).toEqual({ keepDaily: 7 });
    expect(() => validatePolicy({ keepDayly: 7 })).toThrow(/unknown rule "keepDayly"/);
    expect(() => validatePolicy({ keepDaily: -1 })).toThrow(/keep-daily must be a whole number/);
    expect(() => validatePolicy({ keepDaily: 1.5 })).toThrow(/keep-daily/);
    expect(() => validatePolicy([])).toThrow(/object/);
  });
});
