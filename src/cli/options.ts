// Validation of command-line values, in one place: levels, expiry, the
// --read-data percentage, locations and paths, and the guard-rail options
// (their parsers live in src/common/guard-rails.ts, shared with schedules
// and the API). Parsers used by commander throw InvalidArgumentError (exit 2
// with commander's "option … is invalid").
import { isAbsolute, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { ArcaError, errorMessage } from '../errors.js';
import { parseExpiry } from '../common/duration.js';
import {
  MAX_JOBS,
  parseJobs as parseJobsValue,
  parseMaxDuration as parseMaxDurationValue,
  parseRateLimit as parseRateLimitValue,
  type MaxDuration,
} from '../common/guard-rails.js';
import { volumeExists } from '../jobs/volume-service.js';

export const MAX_LEVEL = 9;

/** `--level N`: an integer 0–9 written as one digit ("03", "1.0", " 1" are refused). */
export function parseLevel(value: string): number {
  if (!/^[0-9]$/.test(value)) {
    throw new InvalidArgumentError(`the level must be an integer from 0 to ${MAX_LEVEL}`);
  }
  return Number(value);
}

/** `--expire D` as parsed: milliseconds, or 'never' (commander turns a parser's null into ''). */
export type ExpireOption = number | 'never';

/** `--expire D`: a duration in ms, or 'never'. */
export const parseExpire = forCommander((value: string): ExpireOption => parseExpiry(value) ?? 'never');

/** When a backup taken at `now` with `--expire` expires (null: never). */
export function expiresAtFrom(expire: ExpireOption | undefined, now: Date): Date | null {
  if (expire === undefined || expire === 'never') return null;
  return new Date(now.getTime() + expire);
}

/** `--read-data=PCT`: "50", "50%", "12.5" → a number in (0, 100]. */
export function parseReadDataPercent(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(value);
  const pct = m ? Number(m[1]) : NaN;
  if (!(pct > 0 && pct <= 100)) {
    throw new InvalidArgumentError('the percentage must be a number greater than 0 and at most 100, e.g. 10 or 10%');
  }
  return pct;
}

/** The check's percentage from the option: absent → 0 (structure only), bare flag → 100. */
export function readDataPercentOf(option: number | boolean | undefined): number {
  if (option === undefined || option === false) return 0;
  if (option === true) return 100;
  return option;
}

const URL_WITH_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * A volume location as the catalog stores it: URLs (`file://`, `s3://`) as
 * given, plain paths made absolute against `cwd` so they work from anywhere.
 */
export function normalizeVolumeLocation(input: string, cwd: string): string {
  const text = input.trim();
  if (text === '') throw new ArcaError('USAGE', 'the volume location must not be empty');
  if (URL_WITH_SCHEME.test(text)) return text;
  return isAbsolute(text) ? resolve(text) : resolve(cwd, text);
}

/**
 * Whether `volume add` will create a new volume (so a prompted password is
 * asked twice): true when the location holds no volume yet.
 */
export async function willCreateVolume(location: string): Promise<boolean> {
  return !(await volumeExists(location));
}

/** `restore --to TARGET`: a database URL as given, or a path made absolute. */
export function resolveTarget(input: string, cwd: string): string {
  if (input.trim() === '') throw new ArcaError('USAGE', '--to needs a path or a database URL');
  if (URL_WITH_SCHEME.test(input)) return input;
  return resolve(cwd, input);
}

/** A backup id or prefix as typed: non-empty, no spaces or slashes. */
export function validateBackupIdArg(value: string): string {
  const text = value.trim();
  if (!/^[A-Za-z0-9_-]+$/.test(text)) {
    throw new ArcaError('USAGE', `invalid backup id ${JSON.stringify(value.slice(0, 80))}`);
  }
  return text;
}

/** One volume out of the registered ones: the named one, or the only one. */
export function pickVolume<V extends { name: string }>(volumes: readonly V[], requested: string | undefined): V {
  const names = volumes.map((v) => v.name);
  if (requested !== undefined) {
    const found = volumes.find((v) => v.name === requested);
    if (found) return found;
    throw new ArcaError(
      'NOT_FOUND',
      names.length > 0
        ? `no volume named ${requested} (registered: ${names.join(', ')})`
        : `no volume named ${requested}; add one with: arca volume add NAME LOCATION`,
    );
  }
  const [only, ...more] = volumes;
  if (!only) throw new ArcaError('NOT_FOUND', 'no volume registered; add one with: arca volume add NAME LOCATION');
  if (more.length > 0) {
    throw new ArcaError('USAGE', `several volumes are registered (${names.join(', ')}); choose one with --volume`);
  }
  return only;
}

/** `--max-duration D` as parsed: milliseconds and the text as given (for the error message). */
export type MaxDurationOption = MaxDuration;

/** A commander parser from a shared one: its USAGE error becomes a commander usage error (exit 2). */
function forCommander<T>(parse: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (err) {
      throw new InvalidArgumentError(errorMessage(err));
    }
  };
}

/**
 * `--max-duration D`: the expiry syntax ("30m", "2h", "1h 30m"), or whole
 * seconds ("90s") for short limits (src/common/guard-rails.ts).
 */
export const parseMaxDuration = forCommander(parseMaxDurationValue);

/** `--jobs N`: an integer 1–16. */
export const parseJobs = forCommander(parseJobsValue);

/** `--rate-limit RATE`: "20MB/s", "500KiB/s", "1.5 GB/s" (the "/s" may be left out) → bytes per second. */
export const parseRateLimit = forCommander(parseRateLimitValue);

/** `--rate-limit RATE` where the text is kept (a schedule stores it as typed): checked, then trimmed. */
export const rateLimitText = forCommander((value: string) => {
  parseRateLimitValue(value);
  return value.trim();
});

/** The help texts of the guard-rail options, shared by `arca backup` and `arca schedule add`. */
export const GUARD_RAIL_HELP = {
  maxDuration: 'stop the backup (nothing listed) when it runs longer: "30m", "2h", "1h 30m", "90s"',
  jobs: `parallel connections to the database, 1-${MAX_JOBS} (PostgreSQL)`,
  rateLimit: 'read at most this much per second from the source, e.g. "20MB/s", "500KiB/s" (directories and database dumps alike)',
  noNice: 'keep normal CPU and I/O priority (by default the backup and its dump tools run at nice 10, idle I/O)',
} as const;

/**
 * Adds the guard-rail options of `arca backup` to a command (`arca backup`,
 * `arca schedule add`, the remote `backup`): --max-duration, --jobs (with
 * `jobsDefault`, else left out when not given), --rate-limit (as bytes per
 * second, or as typed with `rate: 'text'` for what is stored or sent on) and,
 * unless `nice: false`, --no-nice.
 */
export function addGuardRailOptions(cmd: Command, how: { rate: 'bytes' | 'text'; jobsDefault?: number; nice: boolean }): Command {
  cmd.option('--max-duration <duration>', GUARD_RAIL_HELP.maxDuration, parseMaxDuration);
  if (how.jobsDefault === undefined) cmd.option('--jobs <n>', GUARD_RAIL_HELP.jobs, parseJobs);
  else cmd.option('--jobs <n>', GUARD_RAIL_HELP.jobs, parseJobs, how.jobsDefault);
  if (how.rate === 'text') cmd.option('--rate-limit <rate>', GUARD_RAIL_HELP.rateLimit, rateLimitText);
  else cmd.option('--rate-limit <rate>', GUARD_RAIL_HELP.rateLimit, parseRateLimit);
  if (how.nice) cmd.option('--no-nice', GUARD_RAIL_HELP.noNice);
  return cmd;
}
