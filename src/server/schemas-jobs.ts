// The shapes of the job endpoints (backups, restores, prune, check, purge),
// of schedules, purge rules and notifications: strict request bodies and
// the answers. Kept apart from schemas.ts (the read endpoints) by size only.
import { z } from 'zod';
import { nameSchema } from './schemas.js';
import { SCHEDULE_KINDS } from '../catalog/schedules.js';
import { MAX_JOBS, parseMaxDuration, parseRateLimit } from '../common/guard-rails.js';
import { errorMessage } from '../errors.js';

export const BackupIdSchema = z
  .string({ error: 'a backup id must be a string' })
  .regex(/^[0-9a-fA-F]{1,32}$/, 'a backup id is hexadecimal (any unique prefix of it)')
  .describe('a backup id or any unique prefix of it');

export const BackupParams = z.strictObject({ id: BackupIdSchema });
export const VolumeParams = z.strictObject({ volume: nameSchema('volume') });
export const JobParams = z.strictObject({
  id: z.string().regex(/^[1-9][0-9]{0,15}$/, 'a job id is a positive whole number').transform(Number),
});
export const ScheduleParams = z.strictObject({ name: nameSchema('schedule') });
export const RuleParams = z.strictObject({
  db: nameSchema('database'),
  id: z.string().regex(/^[1-9][0-9]{0,15}$/, 'a rule id is a positive whole number').transform(Number),
});

/** A refinement that checks a string with one of the shared parsers; its message becomes the field's issue. */
function parsedBy(parse: (value: string) => unknown): (value: string, ctx: z.RefinementCtx) => void {
  return (value, ctx) => {
    try {
      parse(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: errorMessage(err) });
    }
  };
}

const expire = z
  .string({ error: 'expire must be a string' })
  .max(100)
  .describe('a duration from now: "1w 3d", "12h", "30m" (m = minutes), or "never"');

// The guard rails of `arca backup`, for a backup started now or by a
// schedule: strings checked by the shared parsers (their message becomes the
// field's issue), a number checked by range.
const maxDurationText = z.string({ error: 'maxDuration must be a string' }).max(100).superRefine(parsedBy(parseMaxDuration));
const rateLimitText = z.string({ error: 'rateLimit must be a string' }).max(100).superRefine(parsedBy(parseRateLimit));
const JOBS_RANGE = `jobs must be a whole number from 1 to ${MAX_JOBS}`;
const jobsCount = z.number({ error: 'jobs must be a number' }).int(JOBS_RANGE).min(1, JOBS_RANGE).max(MAX_JOBS, JOBS_RANGE);
const GUARD_RAIL_TEXT = {
  maxDuration: 'stop a backup that runs longer (nothing listed), like `arca backup --max-duration`: "30m", "2h", "1h 30m", "90s"',
  rateLimit: 'read at most this much per second from the source, like `arca backup --rate-limit`: "20MB/s", "500KiB/s"',
  jobs: `parallel connections to the database, 1-${MAX_JOBS} (PostgreSQL; default 2)`,
} as const;

export const StartBackupBody = z.strictObject(
  {
    volume: nameSchema('volume').optional().describe('default: the only registered volume'),
    level: z.number({ error: 'level must be a number' }).int('level must be a whole number').min(0, 'level must be 0-9').max(9, 'level must be 0-9').optional().describe('0 = full (default), 1-9 = incremental'),
    expire: expire.optional().describe('when the backup may be pruned (default: never)'),
    maxDuration: maxDurationText.optional().describe(`${GUARD_RAIL_TEXT.maxDuration}; the job ends aborted`),
    rateLimit: rateLimitText.optional().describe(GUARD_RAIL_TEXT.rateLimit),
    jobs: jobsCount.optional().describe(GUARD_RAIL_TEXT.jobs),
  },
  {
    // Priority is the server's (`arca serve --no-nice`), not a backup's: say so rather than just "unrecognized".
    error: (issue) =>
      issue.code === 'unrecognized_keys' && issue.keys.includes('nice')
        ? 'nice is not a backup option here: the server sets the priority of all its jobs (arca serve --no-nice)'
        : undefined,
  },
);

export const RestoreBody = z.strictObject({
  backupId: BackupIdSchema,
  target: z.string({ error: 'target must be a string' }).min(1, 'target must not be empty').max(4096).describe('an absolute directory path or a database URL (postgres://, mysql://, sqlite:///abs/file.db)'),
  force: z.boolean().optional().describe('replace a non-empty target (default false)'),
  volume: nameSchema('volume').optional().describe('the volume holding the backup (default: search all)'),
});

export const BulkDeleteBody = z.strictObject({
  ids: z.array(BackupIdSchema).min(1, 'name at least one backup').max(1000),
});

export const ExpireBody = z.strictObject({ expire });

export const PruneBody = z.strictObject({
  db: nameSchema('database').optional().describe('only remove backups of this database (space is reclaimed for the whole volume)'),
});

export const CheckBody = z.strictObject({
  readDataPercent: z.number().min(0).max(100).optional().describe('0 (default): structure only; up to 100: also decrypt and re-hash that share of the data'),
});

export const PurgeBody = z.strictObject({
  volume: nameSchema('volume').optional().describe('where the backup before the purge goes (default: the only volume)'),
  batchSize: z.number().int().min(1).max(1_000_000).optional(),
});

export const EventsQuery = z.strictObject({
  interval: z.string().regex(/^[1-9][0-9]{2,4}$/, 'interval is 100-60000 ms').transform(Number).optional().describe('ms between events (default 1000)'),
});

export const ProgressQuery = z.strictObject({
  stream: z.enum(['0', '1']).optional().describe('1: Server-Sent Events, one per second, until no job of the database runs'),
});

export const NewScheduleBody = z.strictObject({
  name: nameSchema('schedule'),
  kind: z.enum(SCHEDULE_KINDS).optional().describe('default backup'),
  db: nameSchema('database').optional(),
  volume: nameSchema('volume').optional(),
  cron: z.string().min(1).max(200).describe('five fields (minute hour day month weekday) or @daily, @hourly, …'),
  timeZone: z.string().min(1).max(100).optional().describe('an IANA zone (default UTC)'),
  level: z.number().int().min(0).max(9).optional(),
  expire: expire.optional(),
  maxDuration: maxDurationText.optional().describe(`backups only: ${GUARD_RAIL_TEXT.maxDuration}`),
  rateLimit: rateLimitText.optional().describe(`backups only: ${GUARD_RAIL_TEXT.rateLimit}`),
  jobs: jobsCount.optional().describe(`backups only: ${GUARD_RAIL_TEXT.jobs}`),
  nice: z
    .boolean({ error: 'nice must be true or false' })
    .optional()
    .describe('backups only: false keeps normal CPU and I/O priority, like `arca backup --no-nice` (default true: nice 10, idle I/O)'),
});

export const NewRuleBody = z.strictObject({
  table: z.string().min(1).max(256).optional(),
  column: z.string().min(1).max(256).optional(),
  olderThan: z.string().min(1).max(100).describe('"90d", "1w 3d"'),
  match: z.strictObject({ column: z.string().min(1).max(256), values: z.array(z.string()).min(1).max(1000) }).optional(),
  where: z.string().min(1).max(10_000).optional().describe('trusted SQL, ANDed in parentheses'),
  glob: z.string().min(1).max(1000).optional().describe('files databases: paths relative to the directory'),
});

// --- answers ---------------------------------------------------------------

export const DeletedSchema = z.object({ deleted: z.array(z.string()).describe('ids of the deleted backups') });

export const ScheduleSchema = z.object({
  name: z.string(),
  kind: z.enum(SCHEDULE_KINDS),
  database: z.string().nullable(),
  volume: z.string().nullable(),
  cron: z.string(),
  timeZone: z.string(),
  options: z
    .object({
      level: z.number().optional(),
      expire: z.string().optional(),
      maxDuration: z.string().optional().describe('as given, e.g. "2h"'),
      rateLimit: z.string().optional().describe('as given, e.g. "20MB/s"'),
      jobs: z.number().int().optional(),
      nice: z.boolean().optional().describe('false: the backup runs with --no-nice; left out: true'),
    })
    .describe('what a backup schedule passes to `arca backup` (left out: the backup\'s default)'),
  createdAt: z.string(),
  lastRunAt: z.string().nullable(),
});

export const RuleSchema = z.object({
  id: z.number().int(),
  database: z.string(),
  createdAt: z.string(),
  spec: z.record(z.string(), z.unknown()),
});

export const NewRuleSchema = RuleSchema.extend({
  wouldDelete: z.object({ items: z.number(), bytes: z.number() }).describe('what the rule would delete now (rows, or files and bytes)'),
});
