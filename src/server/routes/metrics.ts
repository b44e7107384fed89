// /metrics: the Prometheus text format (metrics.ts says what is in it). It
// needs a login like every endpoint but /healthz, because it names the
// databases and volumes: give Prometheus a viewer's API token
// (`authorization: {type: Bearer, credentials: …}` in the scrape config).
import type { FastifyInstance } from 'fastify';
import { ServerMetrics } from '../metrics.js';
import { registerRoute, route } from '../route.js';
import type { ServerContext } from '../server-context.js';

export function registerMetricsRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const metrics = new ServerMetrics(ctx);
  registerRoute(app, route({
    method: 'GET',
    url: '/metrics',
    action: 'read',
    summary: 'Prometheus metrics (text format, arca_ prefix)',
    description: 'Per database: the newest successful backup (time, duration, bytes read and added), backups stored, failed backups; jobs by kind and outcome; per volume: stored bytes.',
    tags: ['system'],
    produces: { contentType: 'text/plain; version=0.0.4', description: 'the Prometheus exposition' },
    handle: async ({ reply }) => {
      const { contentType, body } = await metrics.text();
      return reply.code(200).type(contentType).send(body);
    },
  }));
}
