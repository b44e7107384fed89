// Schedules over the API: list and show (with the next run), add and remove
// (admin), validated like `arca schedule add` (src/scheduler/schedule-spec.ts),
// backup guard rails included.
// The scheduler (`arca scheduler`, or the server's when it runs one) picks
// changes up within 30 s.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { canonicalExpiry } from '../../common/duration.js';
import { addSchedule, listSchedules, removeSchedule, requireSchedule, type ScheduleRecord } from '../../catalog/schedules.js';
import { prepareSchedule } from '../../scheduler/schedule-spec.js';
import { ScheduleTiming } from '../../scheduler/schedule-timing.js';
import { registerRoute, route } from '../route.js';
import { NewScheduleBody, ScheduleParams, ScheduleSchema } from '../schemas-jobs.js';
import type { ServerContext } from '../server-context.js';

const ScheduleView = ScheduleSchema.extend({ nextRunAt: z.string().nullable().describe('the next run (ISO 8601, UTC)') });

function view(s: ScheduleRecord): z.output<typeof ScheduleView> {
  let next: string | null;
  try {
    next = new ScheduleTiming(s.cron, s.timeZone).nextAfter(new Date())?.toISOString() ?? null;
  } catch {
    next = null;
  }
  return { ...s, nextRunAt: next };
}

export function registerScheduleRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { catalog } = ctx;
  const tags = ['schedules'];

  registerRoute(app, route({
    method: 'GET',
    url: '/api/v1/schedules',
    action: 'read',
    summary: 'the schedules, by name, with their next run',
    tags,
    response: ScheduleView.array(),
    handle: () => listSchedules(catalog).map(view),
  }));

  registerRoute(app, route({
    method: 'GET',
    url: '/api/v1/schedules/:name',
    action: 'read',
    summary: 'one schedule',
    tags,
    params: ScheduleParams,
    response: ScheduleView,
    errors: [404],
    handle: ({ params }) => view(requireSchedule(catalog, params.name)),
  }));

  registerRoute(app, route({
    method: 'POST',
    url: '/api/v1/schedules',
    action: 'schedules.change',
    summary: 'add a schedule',
    description:
      'Like `arca schedule add`: a backup and a purge name a database, a check does not; level, expire and the guard rails (maxDuration, rateLimit, jobs, nice) apply to backups, validated like `arca backup`\'s options.',
    tags,
    body: NewScheduleBody,
    status: 201,
    response: ScheduleView,
    errors: [404, 409],
    handle: ({ body }) => {
      const expire = body.expire === undefined ? undefined : canonicalExpiry(body.expire);
      const spec = prepareSchedule(catalog, {
        name: body.name,
        kind: body.kind ?? 'backup',
        database: body.db ?? null,
        volume: body.volume ?? null,
        cron: body.cron,
        timeZone: body.timeZone ?? 'UTC',
        options: {
          ...(body.level !== undefined ? { level: body.level } : {}),
          ...(expire !== undefined ? { expire } : {}),
          ...(body.maxDuration !== undefined ? { maxDuration: body.maxDuration } : {}),
          ...(body.rateLimit !== undefined ? { rateLimit: body.rateLimit } : {}),
          ...(body.jobs !== undefined ? { jobs: body.jobs } : {}),
          ...(body.nice !== undefined ? { nice: body.nice } : {}),
        },
      });
      return view(addSchedule(catalog, spec));
    },
  }));

  registerRoute(app, route({
    method: 'DELETE',
    url: '/api/v1/schedules/:name',
    action: 'schedules.change',
    summary: 'remove a schedule',
    tags,
    params: ScheduleParams,
    status: 204,
    errors: [404],
    handle: ({ params }) => removeSchedule(catalog, params.name),
  }));
}
