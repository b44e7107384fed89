// Maps whatever the AWS SDK throws into BackendErrors: not found, permanent
// (access, missing bucket, wrong region, bad request) or transient (5xx,
// throttling, timeouts, resets, corrupted uploads the server refused). The
// messages say what to do and never carry credentials: the SDK's own error
// (whose body may echo an access key id or a string to sign) is never
// attached, only its code, HTTP status and request id.

import { BackendError } from '../backend.js';

export interface S3ErrorContext {
  /** `s3://bucket/prefix`, for messages. */
  location: string;
  bucket: string;
  /** What we were doing: 'reading', 'writing', 'checking', 'listing', 'deleting'. */
  doing: string;
  /** The volume's object key (without the prefix), or a description such as 'snapshots/'. */
  key: string;
  /** Where requests go (a custom endpoint, or AWS), for connection errors. */
  endpoint: string;
}

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown; requestId?: unknown; extendedRequestId?: unknown };
}

const AUTH = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'AccountProblem',
  'AllAccessDisabled',
  'InvalidSecurity',
  'NotSignedUp',
  'Forbidden',
]);
const REGION = new Set(['PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException', 'Redirect']);
/** Service errors a retry can fix, whatever their HTTP status. */
const TRANSIENT = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequests',
  'RequestLimitExceeded',
  'RequestThrottled',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout', // 400 on S3: the upload stalled
  'RequestTimeTooSkewed', // the SDK corrects its clock offset from the response; the next try is signed right
  'BadDigest', // the body arrived corrupted (Content-MD5 / CRC32 mismatch): send it again
  'InvalidDigest',
  'XAmzContentSHA256Mismatch',
  'IncompleteBody',
  'OperationAborted',
  'TimeoutError',
  'RequestTimeoutException',
]);
const NETWORK = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

const GENERIC = new Set(['Unknown', 'UnknownError', 'Error']);

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The HTTP status of an SDK service error, if it has one. */
export function httpStatusOf(err: unknown): number | undefined {
  const s = (err as SdkErrorShape | null)?.$metadata?.httpStatusCode;
  return typeof s === 'number' ? s : undefined;
}

/** The S3 error code (NoSuchKey, SlowDown, …) or network errno (ECONNRESET, …) of an SDK error. */
export function errorCodeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as SdkErrorShape;
  return str(e.code) ?? str((e as { Code?: unknown }).Code) ?? str(e.name);
}

/**
 * Turns an SDK or network error into a BackendError. Bugs (TypeError,
 * RangeError, …) are returned unchanged, so no wrapper retries them.
 */
export function toBackendError(err: unknown, ctx: S3ErrorContext): Error {
  if (err instanceof BackendError) return err;
  if (err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError || err instanceof ReferenceError) {
    return err;
  }
  const status = httpStatusOf(err);
  // A HEAD answer has no body, so the SDK knows only the status ("Unknown", "NotFound").
  const rawCode = errorCodeOf(err) ?? 'Error';
  const code = GENERIC.has(rawCode) && status !== undefined ? `HTTP ${status}` : rawCode;
  const where = `volume ${ctx.location}`;
  const what = `while ${ctx.doing} ${ctx.key}`;
  const requestId = str((err as SdkErrorShape | null)?.$metadata?.requestId);
  const tag =
    status === undefined ? code : `${code.startsWith('HTTP ') ? code : `${code}, HTTP ${status}`}${requestId ? `, request ${requestId}` : ''}`;
  const permanent = (message: string, extra: { notFound?: boolean; pastEnd?: boolean } = {}): BackendError =>
    new BackendError(message, { permanent: true, key: ctx.key, ...extra });
  const transient = (message: string, cause?: unknown): BackendError =>
    new BackendError(message, { permanent: false, key: ctx.key, cause });

  if (code === 'NoSuchKey' || (status === 404 && (code === 'NotFound' || code === 'HTTP 404'))) {
    return permanent(`${where}: object ${ctx.key} not found`, { notFound: true });
  }
  if (code === 'NoSuchBucket') {
    return permanent(`${where}: bucket "${ctx.bucket}" does not exist at ${ctx.endpoint} (NoSuchBucket): create it first, or fix the location`);
  }
  if (code === 'InvalidRange' || status === 416) {
    return permanent(`${where}: byte range past the end of object ${ctx.key} (${tag})`, { pastEnd: true });
  }
  if (code === 'RequestTimeTooSkewed') {
    return transient(`${where}: the server says this machine's clock is off (${tag}) ${what}; check the system time`);
  }
  if (AUTH.has(code) || status === 403 || status === 401) {
    return permanent(
      `${where}: access denied (${tag}) ${what}: check the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE) ` +
        `and that they may read, write, list and delete in bucket "${ctx.bucket}"`,
    );
  }
  if (REGION.has(code) || status === 301 || status === 307) {
    return permanent(`${where}: bucket "${ctx.bucket}" is in another region (${tag}): set AWS_REGION or add ?region=… to the location`);
  }
  if (TRANSIENT.has(code) || status === 429 || (status !== undefined && status >= 500 && status !== 501)) {
    return transient(`${where}: the server failed (${tag}) ${what}; retrying may help`);
  }
  if (status !== undefined && status >= 200 && status < 300) {
    // The answer was cut off or garbled (e.g. a connection reset while reading it).
    return transient(`${where}: unreadable answer from the server (${tag}) ${what}`);
  }
  if (status !== undefined) {
    return permanent(`${where}: the server refused the request (${tag}) ${what}`);
  }
  if (code === 'CredentialsProviderError' || /credential/i.test(String((err as SdkErrorShape).message ?? ''))) {
    return permanent(
      `${where}: no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (shared config files), in the environment`,
    );
  }
  if (/region is missing/i.test(String((err as SdkErrorShape).message ?? ''))) {
    return permanent(`${where}: no AWS region configured: set AWS_REGION, or add ?region=… to the location`);
  }
  if (NETWORK.has(code) || code === 'AbortError' || code === 'TimeoutError') {
    return transient(`${where}: connection to ${ctx.endpoint} failed (${code}) ${what}`, err);
  }
  // Anything else from the network stack or the SDK (a reset mid-answer shows
  // up as a plain "aborted" or "socket hang up" Error): worth a retry.
  const msg = String((err as SdkErrorShape | null)?.message ?? '').slice(0, 200);
  return transient(`${where}: request to ${ctx.endpoint} failed (${code}${msg ? `: ${msg}` : ''}) ${what}`, err);
}
