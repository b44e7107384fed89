// The one error root of Arca. Every error a user can see is an ArcaError with a
// stable `code` (for scripts and the API) and a message the user can act on.
// Anything else that escapes is a bug and is reported as such.

export type ErrorCode =
  | 'USAGE' // bad command-line or API input
  | 'NOT_FOUND' // a named thing (volume, database, backup, object) does not exist
  | 'AMBIGUOUS' // an id prefix matches more than one backup
  | 'ALREADY_EXISTS'
  | 'WRONG_PASSWORD'
  | 'NO_PASSWORD'
  | 'CORRUPT' // stored bytes fail authentication or hashing
  | 'FORMAT' // a volume of an unknown or unsupported format version
  | 'BACKEND' // the storage failed (disk, network)
  | 'SOURCE' // the database or directory being backed up failed
  | 'ABORTED'
  | 'CONFLICT' // something else holds what we need (a running job, a lock)
  | 'CHECK_FAILED'
  | 'UNAUTHORIZED' // the server: no or wrong credentials
  | 'FORBIDDEN' // the server: the user's role does not allow this
  | 'RATE_LIMITED' // the server: too many failed logins; try again later
  | 'TOO_LARGE' // the server: a request body over its size limit
  | 'INTERNAL';

export class ArcaError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ArcaError';
    this.code = code;
  }
}

export function isArcaError(err: unknown, code?: ErrorCode): err is ArcaError {
  return err instanceof ArcaError && (code === undefined || err.code === code);
}

/** A message for any thrown value, without stack. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
