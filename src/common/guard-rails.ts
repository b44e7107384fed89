// The values of a backup's guard rails as users write them, parsed in one
// place for every boundary that takes them (`arca backup`, `arca schedule
// add`, the API's schedules, a schedule's stored options): the time limit
// ("2h", "90s"), the number of parallel connections (1-16) and the read-rate
// limit ("20MB/s"). Each throws ArcaError('USAGE') with what to write instead.
import { ArcaError } from '../errors.js';
import { parseDuration } from './duration.js';

/** A time limit as parsed: milliseconds and the text as given (tidied), for messages. */
export interface MaxDuration {
  ms: number;
  label: string;
}

/**
 * A time limit: the expiry syntax ("30m", "2h", "1h 30m"), or whole seconds
 * ("90s", at least "1s") for short limits.
 */
export function parseMaxDuration(value: string): MaxDuration {
  const label = value.trim().replace(/\s+/g, ' ');
  const seconds = /^(\d{1,7})\s*s$/.exec(label);
  if (seconds) {
    const ms = Number(seconds[1]) * 1000;
    if (ms === 0) throw new ArcaError('USAGE', 'the duration must be longer than zero');
    return { ms, label };
  }
  return { ms: parseDuration(value), label };
}

export const MAX_JOBS = 16;

const JOBS_MESSAGE = `the number of jobs must be an integer from 1 to ${MAX_JOBS}`;

/** A number of parallel connections given as a number (the API, stored options): an integer 1–16. */
export function checkJobs(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_JOBS) throw new ArcaError('USAGE', JOBS_MESSAGE);
  return value;
}

/** A number of parallel connections as typed: an integer 1–16. */
export function parseJobs(value: string): number {
  if (!/^\s*\d{1,2}\s*$/.test(value)) throw new ArcaError('USAGE', JOBS_MESSAGE);
  return checkJobs(Number(value));
}

const RATE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** A read-rate limit: "20MB/s", "500KiB/s", "1.5 GB/s" (the "/s" may be left out) → bytes per second, at least 1 KiB/s. */
export function parseRateLimit(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)(?:\/s)?\s*$/i.exec(value);
  const unit = m ? RATE_UNITS[m[2]!.toLowerCase()] : undefined;
  const rate = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!(rate >= 1024)) {
    throw new ArcaError('USAGE', 'the rate must be at least 1KiB/s, written like "20MB/s" or "500KiB/s" (B, KB, MB, GB, KiB, MiB, GiB)');
  }
  return rate;
}
