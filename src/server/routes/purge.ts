// Purge over the API (admin): the rules of a database (list, add — checked
// against the live database, like `arca purge rule add` — and remove), a
// purge as a job (202; a backup first unless the database's
// backupBeforePurge is off, expiring as its purgeBackupExpire says; the
// database is in maintenance meanwhile), and the progress of its running
// purge. The purge settings themselves are changed with `arca purge
// settings` only (the API shows them in the database's `settings`).
import type { FastifyInstance } from 'fastify';
import { ArcaError } from '../../errors.js';
import { parseDuration } from '../../common/duration.js';
import { requireDatabase } from '../../catalog/databases.js';
import { runningJobs } from '../../catalog/jobs.js';
import { addPurgeRule, backupBeforePurgeOf, listPurgeRules, purgeBackupExpireMsOf, parsePurgeRuleSpec, removePurgeRule, type PurgeRuleRecord, type PurgeRuleSpec } from '../../catalog/purge-rules.js';
import { checkPurgeRule, noPurgeRules, purgeFigures, runPurge } from '../../jobs/purge/index.js';
import { progressView } from '../../jobs/progress-view.js';
import type { z } from 'zod';
import { chooseVolume } from '../locate.js';
import { registerRoute, route } from '../route.js';
import { DbParams, JobSchema, ProgressSchema } from '../schemas.js';
import { NewRuleBody, NewRuleSchema, PurgeBody, RuleParams, RuleSchema } from '../schemas-jobs.js';
import type { ServerContext } from '../server-context.js';
import { startJob } from '../start-job.js';

/** The rule a request body describes, before it is checked against the database. */
export function ruleSpecFrom(url: string, o: z.output<typeof NewRuleBody>): PurgeRuleSpec {
  const age = { olderThan: o.olderThan.trim(), olderThanMs: parseDuration(o.olderThan) };
  if (url.startsWith('file:')) {
    if (o.table !== undefined || o.column !== undefined || o.match !== undefined || o.where !== undefined) {
      throw new ArcaError('USAGE', 'a files database takes {glob, olderThan} rules, not table/column/match/where');
    }
    if (o.glob === undefined) throw new ArcaError('USAGE', 'a rule for a files database needs glob (relative to the directory, e.g. "logs/**/*.log")');
    return parsePurgeRuleSpec({ kind: 'files', glob: o.glob, ...age });
  }
  if (o.glob !== undefined) throw new ArcaError('USAGE', 'glob is for files databases; a database rule names table and column');
  if (o.table === undefined || o.column === undefined) throw new ArcaError('USAGE', 'a purge rule needs table and column (and olderThan)');
  return parsePurgeRuleSpec({ kind: 'table', table: o.table, column: o.column, ...age, ...(o.match ? { match: o.match } : {}), ...(o.where !== undefined ? { where: o.where } : {}) });
}

const ruleView = (r: PurgeRuleRecord) => ({ id: r.id, database: r.database, createdAt: r.createdAt, spec: r.spec });

export function registerPurgeRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { catalog } = ctx;
  const tags = ['purge'];

  registerRoute(app, route({
    method: 'GET',
    url: '/api/v1/databases/:db/purge/rules',
    action: 'read',
    summary: "the database's purge rules",
    tags,
    params: DbParams,
    response: RuleSchema.array(),
    errors: [404],
    handle: ({ params }) => {
      requireDatabase(catalog, params.db);
      return listPurgeRules(catalog, params.db).map(ruleView);
    },
  }));

  registerRoute(app, route({
    method: 'POST',
    url: '/api/v1/databases/:db/purge/rules',
    action: 'rules.change',
    summary: 'add a purge rule, checked against the live database',
    description: 'Table rules: {table, column, olderThan, match?, where?}; files databases: {glob, olderThan}. Answers with what the rule would delete now. `where` is trusted SQL from an admin.',
    tags,
    params: DbParams,
    body: NewRuleBody,
    status: 201,
    response: NewRuleSchema,
    errors: [404, 502],
    handle: async ({ params, body }) => {
      const record = requireDatabase(catalog, params.db);
      const { spec, count } = await checkPurgeRule(record.url, ruleSpecFrom(record.url, body));
      const added = addPurgeRule(catalog, params.db, spec);
      return { ...ruleView(added), wouldDelete: { items: count.items, bytes: count.bytes } };
    },
  }));

  registerRoute(app, route({
    method: 'DELETE',
    url: '/api/v1/databases/:db/purge/rules/:id',
    action: 'rules.change',
    summary: 'remove a purge rule',
    tags,
    params: RuleParams,
    status: 204,
    errors: [404],
    handle: ({ params }) => {
      requireDatabase(catalog, params.db);
      removePurgeRule(catalog, params.db, params.id);
    },
  }));

  registerRoute(app, route({
    method: 'PUT',
    url: '/api/v1/databases/:db/purge/start',
    action: 'purge.run',
    summary: 'purge the database by its rules (after a backup)',
    description:
      "Answers 202 with the job once it runs; the database is in maintenance until it ends. 409 while a purge or a restore of it runs. The backup taken first (unless the database's backupBeforePurge is off) expires as its purgeBackupExpire setting says (`arca purge settings DB --backup-expire`; default never), counted from the start of the purge; the job's figures give `backup` and `backupExpiresAt`.",
    tags,
    params: DbParams,
    body: PurgeBody.nullish(),
    status: 202,
    response: JobSchema,
    errors: [404, 409, 503],
    handle: async ({ params, body, request }) => {
      const record = requireDatabase(catalog, params.db);
      const rules = listPurgeRules(catalog, params.db);
      if (rules.length === 0) throw noPurgeRules(params.db);
      const backupBefore = backupBeforePurgeOf(record);
      const backupExpireMs = backupBefore ? purgeBackupExpireMsOf(record) : null;
      const volume = backupBefore ? await chooseVolume(ctx, body?.volume) : null;
      const started = await startJob(
        ctx,
        request.log,
        { kind: 'purge', database: record.name, volume: volume?.ref.name ?? null, exclusive: [{ kinds: ['purge', 'restore'], scope: 'database' }] },
        (job) =>
          runPurge({
            database: { name: record.name, url: record.url },
            rules,
            ...(body?.batchSize !== undefined ? { batchSize: body.batchSize } : {}),
            backupTo: volume,
            backupExpireMs,
            signal: job.signal,
            onProgress: job.onProgress,
          }),
        purgeFigures,
      );
      return started.record;
    },
  }));

  registerRoute(app, route({
    method: 'GET',
    url: '/api/v1/databases/:db/purge/progress',
    action: 'read',
    summary: "the progress of the database's running purge (an empty list when none runs)",
    tags,
    params: DbParams,
    response: ProgressSchema.array(),
    errors: [404],
    handle: ({ params }) => {
      requireDatabase(catalog, params.db);
      return runningJobs(catalog, { database: params.db, kind: 'purge' }).map(progressView);
    },
  }));
}
