// When a schedule fires: cron expressions (five fields or @daily-style
// nicknames, read by croner) in a time zone (UTC unless the schedule names
// one), the next run after a moment and the latest run at or before one.
// Daylight saving time follows croner's rule for fixed-time schedules: a time
// skipped by the spring-forward jump runs once at the first valid time after
// it, a time that occurs twice on fall-back runs once (the first occurrence).
// Interval schedules ("*/15 * * * *") keep their rhythm in real time instead.
import { Cron } from 'croner';
import { ArcaError, errorMessage } from '../errors.js';

const CRON_HELP =
  'use five fields "minute hour day-of-month month day-of-week" (e.g. "0 0 * * *" for daily at 00:00, ' +
  '"30 2 * * 1-5" for 02:30 on weekdays) or @hourly, @daily, @weekly, @monthly, @yearly';

function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}

/** A valid IANA time zone in its canonical spelling ("europe/berlin" → "Europe/Berlin"); USAGE otherwise. */
export function validateTimeZone(input: string): string {
  const text = input.trim();
  let canonical: string | undefined;
  try {
    canonical = text === '' ? undefined : new Intl.DateTimeFormat('en-US', { timeZone: text }).resolvedOptions().timeZone;
  } catch {
    canonical = undefined;
  }
  if (canonical === undefined) {
    throw new ArcaError('USAGE', `unknown time zone ${quote(input)}: use an IANA name such as UTC, Europe/Berlin or America/New_York`);
  }
  return canonical;
}

/** A cron expression as stored: trimmed, runs of spaces collapsed. */
export function normalizeCron(input: string): string {
  return input.trim().replace(/\s+/g, ' ');
}

/** The times of one schedule (its cron expression read in its time zone). */
export class ScheduleTiming {
  private readonly cron: Cron;
  /** The time zone in its canonical spelling. */
  readonly zone: string;
  /** The expression as stored (see normalizeCron). */
  readonly expression: string;

  /** USAGE for an invalid expression or time zone, or one that never fires. */
  constructor(expression: string, timeZone = 'UTC') {
    this.zone = validateTimeZone(timeZone);
    this.expression = normalizeCron(expression);
    const fields = this.expression === '' ? 0 : this.expression.split(' ').length;
    if (!this.expression.startsWith('@') && fields !== 5) {
      throw new ArcaError('USAGE', `invalid cron expression ${quote(expression)}: it has ${fields} fields, not 5; ${CRON_HELP}`);
    }
    try {
      this.cron = new Cron(this.expression, { paused: true, timezone: this.zone, mode: '5-part' });
    } catch (err) {
      const why = errorMessage(err).replace(/^CronPattern:\s*/, '').replace(/\.$/, '');
      throw new ArcaError('USAGE', `invalid cron expression ${quote(expression)}: ${why}; ${CRON_HELP}`);
    }
    if (this.cron.nextRun(new Date(0)) === null) {
      throw new ArcaError('USAGE', `the cron expression ${quote(expression)} never matches a date; ${CRON_HELP}`);
    }
  }

  /** The first scheduled time strictly after `moment`, null when there is none. */
  nextAfter(moment: Date): Date | null {
    return this.cron.nextRun(moment);
  }

  /** The latest scheduled time at or before `moment`, null when there is none. */
  latestAtOrBefore(moment: Date): Date | null {
    return this.cron.previousRuns(1, new Date(moment.getTime() + 1))[0] ?? null;
  }
}

/** `instant` as ISO 8601 local time in `timeZone` with its UTC offset: "2026-03-29T03:00:00+02:00". */
export function zonedIso(instant: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(instant);
  const get = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? '00';
  const wall = `${get('year')}-${get('month')}-${get('day')}T${get('hour')}:${get('minute')}:${get('second')}`;
  const offsetMinutes = Math.round((Date.parse(`${wall}Z`) - Math.floor(instant.getTime() / 1000) * 1000) / 60_000);
  if (offsetMinutes === 0) return `${wall}Z`;
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${wall}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
