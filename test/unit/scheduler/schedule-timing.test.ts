// Cron expressions and time zones: validation with clear errors, next and
// latest runs, DST, and local times with their offsets.
import { describe, expect, it } from 'vitest';
import { isArcaError } from '../../../src/errors.js';
import { ScheduleTiming, validateTimeZone, zonedIso } from '../../../src/scheduler/index.js';

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isArcaError(err, 'USAGE'), String(err)).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected a USAGE error');
}

describe('ScheduleTiming', () => {
  it('accepts five fields and nicknames, tidies spaces', () => {
    expect(new ScheduleTiming('  0   0 * * *  ').expression).toBe('0 0 * * *');
    expect(new ScheduleTiming('@daily').nextAfter(new Date('2026-01-01T10:00:00Z'))).toEqual(new Date('2026-01-02T00:00:00Z'));
    expect(new ScheduleTiming('30 2 * * 1-5').nextAfter(new Date('2026-01-02T03:00:00Z'))).toEqual(new Date('2026-01-05T02:30:00Z'));
  });

  it('refuses invalid expressions with the reason and an example', () => {
    expect(usage(() => new ScheduleTiming('61 * * * *'))).toMatch(/^invalid cron expression "61 \* \* \* \*": .*minute.*; use five fields .*"0 0 \* \* \*"/);
    expect(usage(() => new ScheduleTiming('0 0 * *'))).toMatch(/invalid cron expression "0 0 \* \*": it has 4 fields, not 5; use five fields/);
    expect(usage(() => new ScheduleTiming('0 0 0 * * *'))).toMatch(/invalid cron expression/); // seconds are not offered
    expect(usage(() => new ScheduleTiming('every day'))).toMatch(/invalid cron expression "every day"/);
    expect(usage(() => new ScheduleTiming(''))).toMatch(/invalid cron expression "": it has 0 fields/);
    expect(usage(() => new ScheduleTiming('@fortnightly'))).toMatch(/invalid cron expression "@fortnightly"/);
    expect(usage(() => new ScheduleTiming('0 0 30 2 *'))).toMatch(/never matches a date/);
  });

  it('finds the latest run at or before a moment (inclusive) and the next strictly after', () => {
    const t = new ScheduleTiming('0 0 * * *');
    expect(t.latestAtOrBefore(new Date('2026-01-05T00:00:00Z'))).toEqual(new Date('2026-01-05T00:00:00Z'));
    expect(t.latestAtOrBefore(new Date('2026-01-04T23:59:59Z'))).toEqual(new Date('2026-01-04T00:00:00Z'));
    expect(t.nextAfter(new Date('2026-01-05T00:00:00Z'))).toEqual(new Date('2026-01-06T00:00:00Z'));
  });

  it('reads times in the named zone, through both DST changes', () => {
    const t = new ScheduleTiming('30 2 * * *', 'Europe/Berlin');
    const runs: string[] = [];
    let at = new Date('2026-03-27T12:00:00Z');
    for (let i = 0; i < 3; i++) runs.push((at = t.nextAfter(at) ?? at).toISOString());
    expect(runs).toEqual(['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
    expect(t.nextAfter(new Date('2026-10-25T00:30:00Z'))).toEqual(new Date('2026-10-26T01:30:00Z'));
    expect(t.latestAtOrBefore(new Date('2026-10-25T01:45:00Z'))).toEqual(new Date('2026-10-25T00:30:00Z'));
  });
});

describe('time zones', () => {
  it('accepts IANA names in their canonical spelling', () => {
    expect(validateTimeZone('Europe/Berlin')).toBe('Europe/Berlin');
    expect(validateTimeZone('europe/berlin')).toBe('Europe/Berlin');
    expect(validateTimeZone('UTC')).toBe('UTC');
  });

  it('refuses unknown zones with an example', () => {
    expect(usage(() => validateTimeZone('Mars/Olympus'))).toBe(
      'unknown time zone "Mars/Olympus": use an IANA name such as UTC, Europe/Berlin or America/New_York',
    );
    expect(usage(() => validateTimeZone(''))).toMatch(/unknown time zone ""/);
    expect(usage(() => new ScheduleTiming('0 0 * * *', 'CEST+2'))).toMatch(/unknown time zone/);
  });

  it('shows an instant as local time with its offset', () => {
    expect(zonedIso(new Date('2026-03-29T01:00:00Z'), 'Europe/Berlin')).toBe('2026-03-29T03:00:00+02:00');
    expect(zonedIso(new Date('2026-01-02T00:00:00Z'), 'Europe/Berlin')).toBe('2026-01-02T01:00:00+01:00');
    expect(zonedIso(new Date('2026-01-02T00:00:00Z'), 'America/New_York')).toBe('2026-01-01T19:00:00-05:00');
    expect(zonedIso(new Date('2026-01-02T00:00:00Z'), 'Asia/Kolkata')).toBe('2026-01-02T05:30:00+05:30');
    expect(zonedIso(new Date('2026-01-02T00:00:00Z'), 'UTC')).toBe('2026-01-02T00:00:00Z');
  });
});
