// The backups of one database: the completed ones on every registered
// volume (from the manifest cache), the progress of its running jobs (as JSON,
// or live as Server-Sent Events with ?stream=1), and stopping its running
// backups. Starting, restoring, deleting and downloading: backup-jobs.ts.
import type { FastifyInstance } from 'fastify';
import { ArcaError } from '../../errors.js';
import { requireDatabase } from '../../catalog/databases.js';
import { getJob, requestAbort, runningJobs, type JobRecord } from '../../catalog/jobs.js';
import type { BackupInfo } from '../../jobs/types.js';
import { progressView } from '../../jobs/progress-view.js';
import { sendEventStream, type SseEvent } from '../event-stream.js';
import { registerRoute, route } from '../route.js';
import { ProgressQuery } from '../schemas-jobs.js';
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
      for (const volume of await ctx.volumes.openAll()) backups.push(...(await ctx.manifests.list(volume, params.db)));
      return backups.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
    },
  }));

  registerRoute(app, route({
    method: 'GET',
    url: '/api/v1/databases/:db/backups/progress',
    action: 'read',
    summary: "the progress of the database's running jobs (in any process), like `arca progress --json`",
    description:
      'With `?stream=1`: Server-Sent Events instead, a `progress` event (this list) about once a second, then, once no job of the database runs, ' +
      'one `end` event with the jobs seen as recorded (`{jobs: [...]}`), and the stream ends.',
    tags,
    params: DbParams,
    query: ProgressQuery,
    response: ProgressSchema.array(),
    errors: [404],
    handle: ({ params, query, reply }) => {
      requireDatabase(catalog, params.db);
      if (query.stream !== '1') return runningJobs(catalog, { database: params.db }).map(progressView);
      const seen = new Set<number>();
      return sendEventStream(
        reply,
        {
          tick: () => {
            const running = runningJobs(catalog, { database: params.db });
            for (const j of running) seen.add(j.id);
            const events: SseEvent[] = [{ event: 'progress', data: running.map(progressView) }];
            if (running.length > 0) return { events, last: false };
            const ended = [...seen].map((id) => getJob(catalog, id)).filter((j): j is JobRecord => j !== null);
            return { events: [...events, { event: 'end', data: { jobs: ended } }], last: true };
          },
        },
        { intervalMs: 1000, stopping: ctx.stopping, streams: ctx.streams },
      );
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
