// One way to declare an endpoint: its method and path, the action it needs
// (roles.ts), zod schemas for its path parameters, query string and body, and
// its answers. `registerRoute` validates input with those schemas (400 with a
// clear message on any mismatch, before the handler runs) and hands fastify
// their JSON Schema form, from which @fastify/swagger writes the OpenAPI
// document. Fastify's own validation and serialization are turned off
// (server.ts): zod is the one validator.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ArcaError } from '../errors.js';
import type { Principal } from './authenticator.js';
import { describeZodError } from './http-errors.js';
import { minimumRole, type Action } from './roles.js';
import { ErrorSchema } from './schemas.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** What the caller must be allowed to do; 'public' needs no login. Absent: 'read'. */
    action?: Action | 'public';
  }
}

type Schema = z.ZodType;
const NoInput = z.strictObject({});

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal | null;
  request: FastifyRequest;
  reply: FastifyReply;
}

export interface RouteDef<P extends Schema, Q extends Schema, B extends Schema> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  action: Action | 'public';
  summary: string;
  description?: string;
  tags: string[];
  params?: P;
  query?: Q;
  body?: B;
  /** The success status (default 200) and the schema of its body (none: 204-like, no content). */
  status?: 200 | 201 | 202 | 204;
  response?: Schema;
  /** A non-JSON answer the handler sends itself (a download, an event stream): its content type. */
  produces?: { contentType: string; description: string };
  /** Error statuses worth documenting besides 400/401/403 (e.g. 404, 409). */
  errors?: number[];
  handle(input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>): Promise<unknown> | unknown;
}

/** Declares a route (an identity function that lets TypeScript infer the schemas' types). */
export function route<P extends Schema = typeof NoInput, Q extends Schema = typeof NoInput, B extends Schema = z.ZodUndefined>(
  def: RouteDef<P, Q, B>,
): RouteDef<P, Q, B> {
  return def;
}

function parse<S extends Schema>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ArcaError('USAGE', describeZodError(where, result.error));
  return result.data;
}

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: Schema, io: 'input' | 'output'): JsonSchema {
  return z.toJSONSchema(schema, { target: 'openapi-3.0', io, unrepresentable: 'any' }) as JsonSchema;
}

const ERROR_TEXT: Record<number, string> = {
  400: 'invalid input (malformed JSON, unknown fields, wrong types, bad names)',
  401: 'no or wrong credentials',
  403: 'the role does not allow this',
  404: 'not found',
  409: 'conflict (already exists, in maintenance, a job running)',
  413: 'the upload is too large',
  429: 'too many failed logins',
  503: 'the server cannot open volumes (no volume password) or storage failed',
};

function openApiSchema(def: RouteDef<Schema, Schema, Schema>): Record<string, unknown> {
  const role = def.action === 'public' ? 'none (no login)' : minimumRole(def.action);
  const response: Record<string, JsonSchema> = {};
  const status = def.status ?? 200;
  response[String(status)] = def.produces
    ? { description: def.produces.description, content: { [def.produces.contentType]: { schema: { type: 'string', format: 'binary' } } } }
    : { description: 'success', ...(def.response ? jsonSchema(def.response, 'output') : { type: 'null' }) };
  const errorJson = jsonSchema(ErrorSchema, 'output');
  const errors = def.action === 'public' ? [] : [400, 401, 403, 429, ...(def.errors ?? [])];
  for (const code of [...new Set(errors)].sort()) response[String(code)] = { description: ERROR_TEXT[code] ?? 'error', ...errorJson };
  return {
    summary: def.summary,
    description: `${def.description ? `${def.description}\n\n` : ''}Least role: ${role}.`,
    tags: def.tags,
    ...(def.action === 'public' ? { security: [] } : {}),
    ...(def.params ? { params: jsonSchema(def.params, 'input') } : {}),
    ...(def.query ? { querystring: jsonSchema(def.query, 'input') } : {}),
    ...(def.body ? { body: jsonSchema(def.body, 'input') } : {}),
    response,
  };
}

/** Adds a declared route to the app. */
export function registerRoute<P extends Schema, Q extends Schema, B extends Schema>(app: FastifyInstance, def: RouteDef<P, Q, B>): void {
  app.route({
    method: def.method,
    url: def.url,
    config: { action: def.action },
    schema: openApiSchema(def as unknown as RouteDef<Schema, Schema, Schema>),
    handler: async (request, reply) => {
      const params = parse(def.params ?? NoInput, request.params ?? {}, 'path') as z.output<P>;
      const query = parse(def.query ?? NoInput, request.query ?? {}, 'query string') as z.output<Q>;
      const body = (def.body ? parse(def.body, request.body, 'request body') : undefined) as z.output<B>;
      const result = await def.handle({ params, query, body, principal: request.principal, request, reply });
      if (result === reply || reply.sent) return reply; // the handler answered itself (a stream)
      const status = def.status ?? 200;
      reply.code(status);
      if (status === 204 || result === undefined) return reply.send();
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(result));
    },
  });
}
