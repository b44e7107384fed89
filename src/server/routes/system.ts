// The server's own endpoints: /healthz (no login: for load balancers and
// monitors) and /openapi.json (the API description; /docs browses it).
import type { FastifyInstance } from 'fastify';
import { registerRoute, route } from '../route.js';
import { HealthSchema } from '../schemas.js';
import type { ServerContext } from '../server-context.js';

export function registerSystemRoutes(app: FastifyInstance, ctx: ServerContext): void {
  registerRoute(app, route({
    method: 'GET',
    url: '/healthz',
    action: 'public',
    summary: 'liveness: the server answers',
    tags: ['system'],
    response: HealthSchema,
    handle: () => ({ status: 'ok' as const, version: ctx.version }),
  }));

  app.get('/openapi.json', { config: { action: 'read' }, schema: { hide: true } }, async (_request, reply) => {
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(app.swagger()));
  });
}
