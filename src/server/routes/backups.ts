// The backups of one database: the completed ones on every registered
// volume, the progress of its running jobs, and stopping its running backups.
// (Starting backups and restores, deleting and downloading: later routes
// here, run through ctx.jobs so a server shutdown stops them cleanly.)
import type { FastifyInstance } from 'fastify';
import { ArcaError } from '../../errors.js';
import { requireDatabase } from '../../catalog/databases.js';
import { requestAbort, runningJobs } from '../../catalog/jobs.js';
import { listBackups } from '../../jobs/index.js';
import type { BackupInfo } from '../../jobs/types.js';
import { progressView } from '../../jobs/progress-view.js';
import { registerRoute, route } from '../route.js';
import { AbortSchema, BackupSchema, DbParams, ProgressSchema } from '../schemas.js';
import type { ServerContext } from '../server-context.js';

export function registerBackupRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { catalog } = ctx;
  const tags = ['backups'];

  registerRoute(app, route({
    method: 'GET',
    url: '/api/v1/databases/:db/backups',
    action: 'read',
    summary: "the database's completed backups on every registered volume, oldest first",
    tags,
    params: DbParams,
    response: BackupSchema.array(),
    errors: [404, 503],
    handle: async ({ params }) => {
      requireDatabase(catalog, params.db);
      const backups: BackupInfo[] = [];
      for (const volume of await ctx.volumes.openAll()) backups.push(...(await listBackups(volume, params.db)));
      return backups.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
    },
  }));

  registerRoute(app, route({
    method: 'GET',
    url: '/api/v1/databases/:db/backups/progress',
    action: 'read',
    summary: "the progress of the database's running jobs (in any process), like `arca progress --json`",
    tags,
    params: DbParams,
    response: ProgressSchema.array(),
    errors: [404],
    handle: ({ params }) => {
      requireDatabase(catalog, params.db);
      return runningJobs(catalog, { database: params.db }).map(progressView);
    },
  }));

  registerRoute(app, route({
    method: 'PUT',
    url: '/api/v1/databases/:db/backups/abort',
    action: 'backup.abort',
    summary: "ask the database's running backups to stop",
    description: 'Answers at once (202); the backups stop at their next checkpoint, within a second or two. Poll `…/backups/progress`.',
    tags,
    params: DbParams,
    status: 202,
    response: AbortSchema,
    errors: [404],
    handle: ({ params }) => {
      requireDatabase(catalog, params.db);
      const backups = runningJobs(catalog, { database: params.db, kind: 'backup' });
      if (backups.length === 0) throw new ArcaError('NOT_FOUND', `no backup of ${params.db} is running`);
      const asked = backups.flatMap((j) => requestAbort(catalog, { id: j.id }));
      return { jobs: asked.map(progressView) };
    },
  }));
}
