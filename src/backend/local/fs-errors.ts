// Maps Node filesystem errors (errno codes) to BackendErrors: which ones are
// permanent (retrying cannot help: disk full, permission denied, …) and which
// are transient, with a message naming the volume, the object and the cause.

import { BackendError } from '../backend.js';

/** What the backend was doing, for messages ("… while writing data/ab/…"). */
export type FsActivity = 'writing' | 'reading' | 'checking' | 'listing' | 'deleting' | 'opening';

const PERMANENT: Readonly<Record<string, string>> = {
  ENOSPC: 'disk full',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENAMETOOLONG: 'file name too long',
  EFBIG: 'file too large',
  EXDEV: 'temporary folder and object are on different file systems',
  ELOOP: 'too many levels of symbolic links',
  ENOTDIR: 'a file is in the way of a folder',
  EISDIR: 'a folder is in the way of a file',
  EEXIST: 'a file is in the way of a folder',
  EINVAL: 'invalid argument',
  ENOENT: 'no such file or folder',
};

const TRANSIENT: Readonly<Record<string, string>> = {
  EAGAIN: 'resource temporarily unavailable',
  EBUSY: 'device or resource busy',
  EIO: 'I/O error',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EINTR: 'interrupted system call',
  ETIMEDOUT: 'timed out',
  ESTALE: 'stale file handle',
  ECONNRESET: 'connection reset',
  ENOMEM: 'out of memory',
};

/** The errno code of a Node system error, or undefined for anything else. */
export function errnoCode(err: unknown): string | undefined {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

/** Whether `err` says the path (or one of its folders) does not exist. */
export function isMissing(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Turns a filesystem error into a BackendError. ENOENT/ENOTDIR while reading
 * or checking an object means "not found". Errors that are not system errors
 * (bugs) are returned unchanged.
 */
export function mapFsError(err: unknown, location: string, activity: FsActivity, key: string): unknown {
  if (err instanceof BackendError) return err;
  const code = errnoCode(err);
  if (code === undefined) return err;
  if ((activity === 'reading' || activity === 'checking') && isMissing(err)) {
    return new BackendError(`volume ${location}: object ${key} not found`, { permanent: true, notFound: true, key, cause: err });
  }
  const permanent = PERMANENT[code];
  const what = permanent ?? TRANSIENT[code] ?? 'file system error';
  return new BackendError(`volume ${location}: ${what} (${code}) while ${activity} ${key}`, {
    // Unknown codes are treated as transient: a few wasted retries cost less
    // than failing a backup over a hiccup.
    permanent: permanent !== undefined,
    key,
    cause: err,
  });
}
