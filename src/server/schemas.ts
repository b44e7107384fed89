// The shapes of the API: request parameters, query strings and bodies (all
// strict: unknown fields are refused) and the JSON the endpoints answer. The
// same zod schemas validate input at the HTTP boundary and produce the
// OpenAPI 3 description (`/openapi.json`).
import { z } from 'zod';
import { NAME_PATTERN } from '../common/names.js';
import { JOB_KINDS } from '../catalog/jobs.js';

const NAME_RULE = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit, without '..'";

export function nameSchema(kind: string): z.ZodString {
  const message = `invalid ${kind} name: use ${NAME_RULE}`;
  return z
    .string({ error: `the ${kind} name must be a string` })
    .regex(NAME_PATTERN, message)
    .refine((s) => !s.includes('..'), message);
}

const isoTime = (what: string) => z.string().describe(`${what} (ISO 8601, UTC)`);
const nullableIsoTime = (what: string) => z.string().nullable().describe(`${what} (ISO 8601, UTC), or null`);

export const ErrorSchema = z.object({
  error: z.object({
    code: z.string().describe('a stable code: USAGE, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT, RATE_LIMITED, …'),
    message: z.string().describe('what went wrong, for people'),
  }),
});

export const HealthSchema = z.object({ status: z.literal('ok'), version: z.string() });

// --- path parameters and query strings ------------------------------------

export const DbParams = z.strictObject({ db: nameSchema('database') });
export type DbParams = z.output<typeof DbParams>;

const digits = (what: string, max: number) =>
  z
    .string()
    .regex(/^[1-9][0-9]{0,5}$/, `${what} must be a whole number from 1 to ${max}`)
    .transform(Number)
    .refine((n) => n <= max, `${what} must be a whole number from 1 to ${max}`);

export const JobsQuery = z.strictObject({
  db: nameSchema('database').optional().describe('only jobs of this database'),
  volume: nameSchema('volume').optional().describe('only jobs on this volume'),
  kind: z.enum(JOB_KINDS).optional().describe('only jobs of this kind'),
  limit: digits('limit', 1000).optional().describe('at most this many, newest first (default 50)'),
});

// --- bodies ----------------------------------------------------------------

export const NewDatabaseBody = z.strictObject({
  name: nameSchema('database'),
  url: z
    .string({ error: 'url must be a string' })
    .min(1, 'url must not be empty')
    .max(4096)
    .describe('an absolute directory path, file:///abs/dir, postgres://…, mysql://…, mariadb://…, sqlite:///abs/app.db'),
});

export const NewVolumeBody = z.strictObject({
  name: nameSchema('volume'),
  location: z
    .string({ error: 'location must be a string' })
    .min(1, 'location must not be empty')
    .max(4096)
    .describe('an absolute directory path or file:// URL; an empty or missing folder gets a new volume'),
});

// --- answers ---------------------------------------------------------------

export const DatabaseSchema = z.object({
  name: z.string(),
  url: z.string().describe('the source URL, with any password masked'),
  createdAt: isoTime('when it was registered'),
  settings: z.record(z.string(), z.unknown()),
  state: z.enum(['ready', 'maintenance']).describe('maintenance while a purge or a restore into it runs'),
  maintenance: z
    .object({ job: z.number().int(), kind: z.string(), since: isoTime('when that job started') })
    .nullable(),
});

export const VolumeSchema = z.object({
  name: z.string(),
  location: z.string(),
  volumeId: z.string(),
  createdAt: isoTime('when it was registered'),
});

export const NewVolumeSchema = VolumeSchema.extend({ created: z.boolean().describe('true: a new volume; false: an existing one attached') });

export const BackupSchema = z.object({
  id: z.string(),
  database: z.string(),
  volume: z.string(),
  level: z.number().int().min(0).max(9),
  parent: z.string().nullable(),
  status: z.literal('completed'),
  startedAt: isoTime('start'),
  finishedAt: isoTime('end'),
  expiresAt: nullableIsoTime('when it may be pruned'),
  bytesRead: z.number(),
  bytesAdded: z.number(),
});

export const ProgressSchema = z.object({
  job: z.number().int(),
  kind: z.enum(JOB_KINDS),
  database: z.string().nullable(),
  volume: z.string().nullable(),
  startedAt: isoTime('start'),
  phase: z.string().nullable(),
  bytesDone: z.number(),
  bytesTotal: z.number().nullable(),
  percent: z.number().nullable().describe('0-100, null while the total is unknown'),
  etaSeconds: z.number().nullable(),
  bytesPerSecond: z.number().nullable(),
  abortRequested: z.boolean(),
});

export const JobSchema = z.object({
  id: z.number().int(),
  kind: z.enum(JOB_KINDS),
  database: z.string().nullable(),
  volume: z.string().nullable(),
  schedule: z.string().nullable(),
  host: z.string(),
  pid: z.number().int(),
  startedAt: isoTime('start'),
  heartbeatAt: isoTime('last sign of life'),
  finishedAt: nullableIsoTime('end'),
  status: z.enum(['running', 'succeeded', 'failed', 'aborted', 'skipped']),
  progress: z
    .object({
      phase: z.string(),
      bytesDone: z.number(),
      bytesTotal: z.number().nullable(),
      itemsDone: z.number(),
      itemsTotal: z.number().nullable(),
      rate: z.number().nullable(),
    })
    .nullable(),
  figures: z.record(z.string(), z.unknown()),
  error: z.string().nullable(),
  abortRequested: z.boolean(),
});

export const AbortSchema = z.object({ jobs: z.array(ProgressSchema).describe('the running jobs asked to stop') });
