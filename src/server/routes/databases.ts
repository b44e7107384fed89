// The databases endpoints: list, show (with state ready/maintenance, like
// `arca db list --json`), register (admin) and forget (admin).
import { isAbsolute } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { ArcaError } from '../../errors.js';
import { redactSecrets } from '../../common/redact.js';
import type { Catalog } from '../../catalog/catalog.js';
import { addDatabase, listDatabases, removeDatabase, requireDatabase, type DatabaseRecord } from '../../catalog/databases.js';
import { maintenanceOf, runningJobs, type JobRecord } from '../../catalog/jobs.js';
import { normalizeDatabaseUrl } from '../../jobs/index.js';
import { registerRoute, route } from '../route.js';
import { DatabaseSchema, DbParams, NewDatabaseBody } from '../schemas.js';
import type { ServerContext } from '../server-context.js';

export type DatabaseView = z.output<typeof DatabaseSchema>;

/** `running`: runningJobs() when the caller lists many databases (asked once, not per database). */
export function databaseView(catalog: Catalog, d: DatabaseRecord, running?: readonly JobRecord[]): DatabaseView {
  const holder = maintenanceOf(catalog, d.name, running);
  return {
    ...d,
    url: redactSecrets(d.url),
    state: holder ? 'maintenance' : 'ready',
    maintenance: holder ? { job: holder.id, kind: holder.kind, since: holder.startedAt } : null,
  };
}

const URL_WITH_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/** `arca db add`'s validation; over the API a path must be absolute (the server's working directory means nothing to a client). */
export function apiDatabaseUrl(input: string): string {
  const text = input.trim();
  if (!URL_WITH_SCHEME.test(text) && !isAbsolute(text)) {
    throw new ArcaError('USAGE', 'a database path must be absolute over the API (or a URL such as file:///abs/dir)');
  }
  return normalizeDatabaseUrl(text);
}

export function registerDatabaseRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { catalog } = ctx;
  const tags = ['databases'];

  registerRoute(app, route({
    method: 'GET',
    url: '/api/v1/databases',
    action: 'read',
    summary: 'the registered databases',
    tags,
    response: DatabaseSchema.array(),
    handle: () => {
      const running = runningJobs(catalog);
      return listDatabases(catalog).map((d) => databaseView(catalog, d, running));
    },
  }));

  registerRoute(app, route({
    method: 'GET',
    url: '/api/v1/databases/:db',
    action: 'read',
    summary: 'one database, with its state',
    tags,
    params: DbParams,
    response: DatabaseSchema,
    errors: [404],
    handle: ({ params }) => databaseView(catalog, requireDatabase(catalog, params.db)),
  }));

  registerRoute(app, route({
    method: 'POST',
    url: '/api/v1/databases',
    action: 'databases.change',
    summary: 'register a database',
    description: 'The URL is validated like `arca db add` does; paths must be absolute.',
    tags,
    body: NewDatabaseBody,
    status: 201,
    response: DatabaseSchema,
    errors: [409],
    handle: ({ body }) => databaseView(catalog, addDatabase(catalog, { name: body.name, url: apiDatabaseUrl(body.url) })),
  }));

  registerRoute(app, route({
    method: 'DELETE',
    url: '/api/v1/databases/:db',
    action: 'databases.change',
    summary: 'forget a database (its backups stay on the volumes)',
    tags,
    params: DbParams,
    status: 204,
    errors: [404, 409],
    handle: ({ params }) => {
      requireDatabase(catalog, params.db);
      const running = runningJobs(catalog, { database: params.db });
      const first = running[0];
      if (first) {
        throw new ArcaError('CONFLICT', `database ${params.db} has a running ${first.kind} (job ${first.id}); abort it or wait`);
      }
      removeDatabase(catalog, params.db);
    },
  }));
}
