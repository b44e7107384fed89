// The job history (every backup, restore, prune, purge and check, newest
// first), one job, and one job's live progress as Server-Sent Events.
import type { FastifyInstance } from 'fastify';
import { ArcaError } from '../../errors.js';
import { getJob, listJobs, requestAbort, runningJobs } from '../../catalog/jobs.js';
import { progressView } from '../../jobs/progress-view.js';
import { sendEventStream } from '../event-stream.js';
import { registerRoute, route } from '../route.js';
import { AbortSchema, JobSchema, JobsQuery } from '../schemas.js';
import { EventsQuery, JobParams } from '../schemas-jobs.js';
import type { ServerContext } from '../server-context.js';

export function registerJobRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { catalog } = ctx;
  const tags = ['jobs'];

  registerRoute(app, route({
    method: 'GET',
    url: '/api/v1/jobs',
    action: 'read',
    summary: 'the job history, newest first',
    tags,
    query: JobsQuery,
    response: JobSchema.array(),
    handle: ({ query }) =>
      listJobs(catalog, {
        ...(query.db !== undefined ? { database: query.db } : {}),
        ...(query.volume !== undefined ? { volume: query.volume } : {}),
        ...(query.kind !== undefined ? { kind: query.kind } : {}),
        limit: query.limit ?? 50,
      }),
  }));

  registerRoute(app, route({
    method: 'GET',
    url: '/api/v1/jobs/:id',
    action: 'read',
    summary: 'one job, running or finished',
    tags,
    params: JobParams,
    response: JobSchema,
    errors: [404],
    handle: ({ params }) => {
      runningJobs(catalog); // closes the rows of processes that are gone
      const job = getJob(catalog, params.id);
      if (!job) throw new ArcaError('NOT_FOUND', `no job ${params.id}`);
      return job;
    },
  }));

  registerRoute(app, route({
    method: 'PUT',
    url: '/api/v1/jobs/:id/abort',
    action: 'backup.abort',
    summary: 'ask one running job (of any kind, in any process) to stop',
    description: 'Answers at once (202); the job stops at its next checkpoint, within a second or two. 404 when it is not running.',
    tags,
    params: JobParams,
    status: 202,
    response: AbortSchema,
    errors: [404],
    handle: ({ params }) => {
      const asked = requestAbort(catalog, { id: params.id });
      if (asked.length === 0) throw new ArcaError('NOT_FOUND', `job ${params.id} is not running`);
      return { jobs: asked.map(progressView) };
    },
  }));

  registerRoute(app, route({
    method: 'GET',
    url: '/api/v1/jobs/:id/events',
    action: 'read',
    summary: "a job's progress, live (Server-Sent Events)",
    description:
      'text/event-stream: a `progress` event (the `…/progress` shape) about once a second while the job runs, then one `end` event with the job as recorded (its status, figures and error), and the stream ends.',
    tags,
    params: JobParams,
    query: EventsQuery,
    produces: { contentType: 'text/event-stream', description: 'progress events, then the outcome' },
    errors: [404],
    handle: ({ params, query, reply }) => {
      if (!getJob(catalog, params.id)) throw new ArcaError('NOT_FOUND', `no job ${params.id}`);
      return sendEventStream(
        reply,
        {
          tick: () => {
            runningJobs(catalog);
            const job = getJob(catalog, params.id);
            if (!job) return { events: [{ event: 'error', data: { message: `job ${params.id} is gone` } }], last: true };
            if (job.status === 'running') return { events: [{ event: 'progress', data: progressView(job) }], last: false };
            return { events: [{ event: 'end', data: job }], last: true };
          },
        },
        { intervalMs: query.interval ?? 1000, stopping: ctx.stopping, streams: ctx.streams },
      );
    },
  }));
}
