// How errors leave the server: every ArcaError code has one HTTP status (the
// table below is the only place that says which), every response body is
// `{error: {code, message}}`, secrets are masked, and anything that is not an
// ArcaError is a bug: logged, and answered with a plain 500 without details.
import type { z } from 'zod';
import { ArcaError, type ErrorCode } from '../errors.js';
import { redactSecrets } from '../common/redact.js';

export const HTTP_STATUS: Record<ErrorCode, number> = {
  USAGE: 400,
  AMBIGUOUS: 400,
  UNAUTHORIZED: 401,
  WRONG_PASSWORD: 403, // a volume password the server holds does not open the volume
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  CONFLICT: 409,
  ABORTED: 409,
  TOO_LARGE: 413,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  CORRUPT: 500,
  FORMAT: 500,
  CHECK_FAILED: 500,
  SOURCE: 502,
  BACKEND: 503,
  NO_PASSWORD: 503, // the server was started without a volume password
};

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

export interface HttpProblem {
  status: number;
  body: ErrorBody;
  /** Set for bugs: what to log (the response says only "internal error"). */
  bug?: unknown;
}

/** An ArcaError that carries response headers (WWW-Authenticate, Retry-After). */
export class HttpArcaError extends ArcaError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly headers: Record<string, string>,
  ) {
    super(code, message);
  }
}

/** A zod failure as one readable line: `name: Invalid input: expected string, received number`. */
export function describeZodError(where: string, error: z.ZodError): string {
  const parts = error.issues.slice(0, 3).map((issue) => {
    const path = issue.path.map(String).join('.');
    return path === '' ? issue.message : `${path}: ${issue.message}`;
  });
  const more = error.issues.length > 3 ? ` (and ${error.issues.length - 3} more)` : '';
  return `invalid ${where}: ${parts.join('; ')}${more}`;
}

/** What fastify's own 4xx errors (body parsing, limits) mean, in Arca's words. */
const FASTIFY_ERRORS: Record<string, { code: ErrorCode; message: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'USAGE', message: 'the request body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'USAGE', message: 'the request body is empty; send a JSON object' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'TOO_LARGE', message: 'the request body is too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'USAGE', message: 'unsupported content type; send application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'USAGE', message: 'the Content-Length does not match the body' },
};

function fastifyStatus(err: unknown): { status: number; code: string | undefined; message: string } | null {
  if (typeof err !== 'object' || err === null) return null;
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof e.statusCode !== 'number' || e.statusCode < 400 || e.statusCode >= 500) return null;
  return {
    status: e.statusCode,
    code: typeof e.code === 'string' ? e.code : undefined,
    message: typeof e.message === 'string' ? e.message : 'bad request',
  };
}

/** The response for any thrown value. */
export function toHttpProblem(err: unknown): HttpProblem {
  if (err instanceof ArcaError) {
    const message = redactSecrets(err.message);
    if (err.code === 'INTERNAL') return { status: 500, body: { error: { code: 'INTERNAL', message } }, bug: err };
    return { status: HTTP_STATUS[err.code], body: { error: { code: err.code, message } } };
  }
  const fst = fastifyStatus(err);
  if (fst) {
    // JSON.parse failures arrive as a SyntaxError with statusCode 400.
    const known = fst.code !== undefined ? FASTIFY_ERRORS[fst.code] : undefined;
    const isJsonSyntax = err instanceof SyntaxError;
    const code: ErrorCode = known?.code ?? (fst.status === 413 ? 'TOO_LARGE' : 'USAGE');
    const message = known?.message ?? (isJsonSyntax ? 'the request body is not valid JSON' : redactSecrets(fst.message));
    return { status: fst.status, body: { error: { code, message } } };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error (see the server log)' } }, bug: err };
}
