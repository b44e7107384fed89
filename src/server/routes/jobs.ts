// The job history: every backup, restore, prune, purge and check, newest first.
import type { FastifyInstance } from 'fastify';
import { listJobs } from '../../catalog/jobs.js';
import { registerRoute, route } from '../route.js';
import { JobSchema, JobsQuery } from '../schemas.js';
import type { ServerContext } from '../server-context.js';

export function registerJobRoutes(app: FastifyInstance, ctx: ServerContext): void {
  registerRoute(app, route({
    method: 'GET',
    url: '/api/v1/jobs',
    action: 'read',
    summary: 'the job history, newest first',
    tags: ['jobs'],
    query: JobsQuery,
    response: JobSchema.array(),
    handle: ({ query }) =>
      listJobs(ctx.catalog, {
        ...(query.db !== undefined ? { database: query.db } : {}),
        ...(query.volume !== undefined ? { volume: query.volume } : {}),
        ...(query.kind !== undefined ? { kind: query.kind } : {}),
        limit: query.limit ?? 50,
      }),
  }));
}
