// Builds the fastify app: TLS (or plain HTTP), the logger, zod as the only
// validator, the JSON error format, login on every request except /healthz
// (then the role check of the route's action), the OpenAPI document and
// /docs, and the endpoints.
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fastifyMultipart from '@fastify/multipart';
import type { Logger } from 'pino';
import { ArcaError } from '../errors.js';
import { redactSecrets } from '../common/redact.js';
import type { Authenticator } from './authenticator.js';
import { HttpArcaError, toHttpProblem } from './http-errors.js';
import { mayDo, minimumRole } from './roles.js';
import type { ServerContext } from './server-context.js';
import { registerBackupRoutes } from './routes/backups.js';
import { registerBackupJobRoutes } from './routes/backup-jobs.js';
import { registerMetricsRoutes } from './routes/metrics.js';
import { registerPurgeRoutes } from './routes/purge.js';
import { registerScheduleRoutes } from './routes/schedules.js';
import { registerUploadRoutes } from './routes/upload.js';
import { registerVolumeJobRoutes } from './routes/volume-jobs.js';
import { registerDatabaseRoutes } from './routes/databases.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerSystemRoutes } from './routes/system.js';
import { registerVolumeRoutes } from './routes/volumes.js';

export interface AppOptions {
  /** null: plain HTTP (--insecure-http). */
  tls: { cert: string; key: string } | null;
  logger: Logger;
  authenticator: Authenticator;
  /** Take X-Forwarded-For from a reverse proxy as the client address. */
  trustProxy?: boolean;
  /** Largest JSON body accepted (bytes). Default 1 MiB. */
  bodyLimit?: number;
}

export async function buildApp(ctx: ServerContext, options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    https: options.tls ? { cert: options.tls.cert, key: options.tls.key } : null,
    loggerInstance: options.logger,
    // One compact line per request instead (onResponse below).
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: options.trustProxy === true,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  }) as unknown as FastifyInstance;

  // zod validates (route.ts); fastify only carries the JSON Schemas for the OpenAPI document.
  app.setValidatorCompiler(() => (data) => ({ value: data }));
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  app.decorateRequest('principal', null);

  app.setErrorHandler((err, request, reply) => {
    const problem = toHttpProblem(err);
    if (problem.bug !== undefined) {
      const bug = problem.bug instanceof Error ? (problem.bug.stack ?? problem.bug.message) : String(problem.bug);
      request.log.error({ bug: redactSecrets(bug) }, 'internal error');
    }
    if (err instanceof HttpArcaError) void reply.headers(err.headers);
    return reply.code(problem.status).type('application/json; charset=utf-8').send(JSON.stringify(problem.body));
  });
  app.setNotFoundHandler((request) => {
    throw new ArcaError('NOT_FOUND', `no endpoint ${request.method} ${request.url.split('?')[0] ?? ''}`);
  });

  app.addHook('onRequest', async (request) => {
    const action = request.routeOptions.config?.action ?? 'read';
    if (action === 'public') return;
    const principal = await options.authenticator.authenticate(request.headers.authorization, request.ip);
    request.principal = principal;
    if (!mayDo(principal.user.role, action)) {
      throw new ArcaError(
        'FORBIDDEN',
        `user ${principal.user.name} (${principal.user.role}) may not do this: it needs the ${minimumRole(action)} role`,
      );
    }
  });

  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        user: request.principal?.user.name,
      },
      'request',
    );
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Arca API',
        version: ctx.version,
        description: 'Back up, restore and purge databases. Every endpoint except /healthz needs Basic or Bearer authentication.',
      },
      components: {
        securitySchemes: {
          basic: { type: 'http', scheme: 'basic' },
          bearer: { type: 'http', scheme: 'bearer', description: 'an API token from `arca token create`' },
        },
      },
      security: [{ basic: [] }, { bearer: [] }],
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  // Uploads only (…/restore/upload): limits are set per request there.
  await app.register(fastifyMultipart, { limits: { fileSize: ctx.uploadLimit, files: 1 } });

  registerSystemRoutes(app, ctx);
  registerDatabaseRoutes(app, ctx);
  registerVolumeRoutes(app, ctx);
  registerBackupRoutes(app, ctx);
  registerJobRoutes(app, ctx);
  registerBackupJobRoutes(app, ctx);
  registerVolumeJobRoutes(app, ctx);
  registerPurgeRoutes(app, ctx);
  registerScheduleRoutes(app, ctx);
  registerUploadRoutes(app, ctx);
  registerMetricsRoutes(app, ctx);
  return app;
}
