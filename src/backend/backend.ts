// The Backend contract: raw, immutable objects on some storage (local disk,
// memory, later S3). Everything above it (content, repository) sees only keys
// and bytes; nothing here may assume a filesystem.
//
// CONTRACT (every implementation passes test/unit/backend/contract.ts):
//
// Keys
//   - A key is a '/'-separated path of segments matching /^[A-Za-z0-9._-]+$/,
//     neither '.' nor '..'; e.g. "config", "data/ab/ab12…", "sessions/x".
//     Invalid keys throw BackendError('invalid key', permanent).
//
// put(key, data)
//   - Atomic: a reader sees either no object or the whole object, never a part,
//     even if the writer dies half-way (temp + fsync + rename on disk; a single
//     PUT on S3). A put that throws may or may not have stored the object, but
//     never a torn one.
//   - Replaces an existing object with the same key. Content-addressed objects
//     are only ever re-put with identical bytes, so retries are idempotent.
//   - Durable once it resolves (fsync'd on disk).
//   - Does not hold on to `data` once it resolves: the caller may reuse the
//     buffer at once (write sessions refill stored packs' buffers). A backend
//     that keeps the bytes copies them (memory); one that sends them finishes
//     every request reading them first, even those of a failed attempt (S3
//     multipart); a wrapper passes `data` through and returns only after the
//     inner put settled (retry, faults).
//
// get(key, range?)
//   - Returns the whole object, or `range.length` bytes from `range.offset`.
//     A range past the end is an error (permanent, `pastEnd: true`), never
//     short data.
//   - A missing key throws BackendError with `notFound: true` (permanent).
//
// stat(key) → { size } or undefined when missing.
//
// list(prefix)
//   - Yields every object whose key starts with `prefix` (a folder such as
//     "data/" or "snapshots/"), in no particular order, with its size.
//   - Objects put before list() started are listed; later ones may or may not
//     be (S3 may lag: callers never depend on listing right after a write).
//
// delete(key)
//   - Idempotent: deleting a missing object succeeds.
//
// Errors
//   - BackendError.permanent === true: retrying cannot help (not found, invalid
//     key, permission denied, disk full, range out of bounds).
//   - permanent === false: transient (timeouts, resets, 5xx, EAGAIN); a retry
//     wrapper may retry these with backoff.

import { ArcaError } from '../errors.js';

export interface ObjectInfo {
  key: string;
  size: number;
}

export interface ByteRange {
  offset: number;
  length: number;
}

export interface Backend {
  /** Human-readable location, without secrets (for messages). */
  readonly location: string;
  /** Stores `data` under `key`; holds no reference to `data` once it resolves (see CONTRACT). */
  put(key: string, data: Uint8Array): Promise<void>;
  get(key: string, range?: ByteRange): Promise<Buffer>;
  stat(key: string): Promise<ObjectInfo | undefined>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

export class BackendError extends ArcaError {
  readonly permanent: boolean;
  readonly notFound: boolean;
  /** A byte range asked for bytes past the end of the object. */
  readonly pastEnd: boolean;
  readonly key: string | undefined;
  constructor(
    message: string,
    opts: { permanent: boolean; notFound?: boolean; pastEnd?: boolean; key?: string; cause?: unknown },
  ) {
    super(opts.notFound ? 'NOT_FOUND' : 'BACKEND', message, { cause: opts.cause });
    this.name = 'BackendError';
    this.permanent = opts.permanent;
    this.notFound = opts.notFound ?? false;
    this.pastEnd = opts.pastEnd ?? false;
    this.key = opts.key;
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof BackendError && err.notFound;
}

const SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Throws a permanent BackendError unless `key` is a valid object key. */
export function assertValidKey(key: string): void {
  const segments = key.split('/');
  const ok = key.length > 0 && key.length <= 1024 && segments.every((s) => SEGMENT.test(s) && s !== '.' && s !== '..');
  if (!ok) throw new BackendError(`invalid object key "${key}"`, { permanent: true, key });
}

/** Throws unless `prefix` is "" or a valid key prefix (a valid key, optionally ending in '/'). */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  assertValidKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}
