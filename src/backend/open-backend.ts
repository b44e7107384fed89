// Turns a volume location as a user writes it (a path, `file:///…`,
// `s3://bucket/prefix`) into a Backend, wrapped in the standard retry policy
// (the only retry layer: the S3 client's own retries are off). The one place
// that parses locations, so the CLI, the API and the catalog agree. The S3
// backend (and the AWS SDK) is loaded only when an S3 volume is opened.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArcaError } from '../errors.js';
import type { Backend } from './backend.js';
import { LocalBackend } from './local/local-backend.js';
import { RetryBackend, type RetryOptions } from './retry/retry-backend.js';
import type { S3BackendOptions } from './s3/s3-backend.js';
import { parseS3Location, type S3Location } from './s3/s3-location.js';

export interface OpenBackendOptions {
  /** Create the volume folder if it does not exist (volume add / init). */
  create?: boolean;
  /** Override the retry policy (tests). */
  retry?: RetryOptions;
  /** Tuning of S3 volumes (tests, benchmarks). */
  s3?: S3BackendOptions;
}

export type ParsedLocation = { kind: 'local'; path: string } | { kind: 's3'; url: string; s3: S3Location };

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
const HELP = 'use a folder path, file:///absolute/path or s3://bucket/prefix';

/** Parses a volume location; throws ArcaError('USAGE') for anything it cannot use. */
export function parseLocation(location: string): ParsedLocation {
  if (location.trim() === '') throw new ArcaError('USAGE', `empty volume location: ${HELP}`);
  if (location.includes('\0')) throw new ArcaError('USAGE', 'volume location contains a NUL character');
  const scheme = SCHEME.exec(location)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'local', path: path.resolve(location) };
  if (scheme === 'file') return { kind: 'local', path: fileUrlToPath(location) };
  if (scheme === 's3') {
    const s3 = parseS3Location(location);
    return { kind: 's3', url: s3.display, s3 };
  }
  const shown = redact(location);
  throw new ArcaError(
    'USAGE',
    `unsupported volume location "${shown}": ${HELP} (for a folder whose name contains ':', write ./${shown})`,
  );
}

function fileUrlToPath(location: string): string {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw new ArcaError('USAGE', `invalid file URL "${location}": ${HELP}`);
  }
  if (url.host !== '' && url.host !== 'localhost') {
    throw new ArcaError('USAGE', `file URL "${location}" names host "${url.host}"; only local paths are supported (file:///path)`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new ArcaError('USAGE', `file URL "${location}" must not have a query or fragment`);
  }
  try {
    return path.resolve(fileURLToPath(url));
  } catch (err) {
    throw new ArcaError('USAGE', `invalid file URL "${location}": ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Drops credentials, query and fragment from a URL-like location, for display. */
function redact(location: string): string {
  try {
    const url = new URL(location);
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    return url.toString();
  } catch {
    return location.replace(/\/\/[^/@]*@/, '//');
  }
}

/**
 * The location as shown to users: local volumes as an absolute path, URLs
 * without credentials. Never throws; an unusable location is returned redacted.
 */
export function describeLocation(location: string): string {
  try {
    const parsed = parseLocation(location);
    return parsed.kind === 'local' ? parsed.path : parsed.url;
  } catch {
    return redact(location);
  }
}

/**
 * Opens (or with `create`, creates) the volume's backend, with retries. An S3
 * bucket is never created: it must exist (a missing one fails at the first
 * request with NoSuchBucket); `create` has nothing to do there.
 */
export async function openBackend(location: string, opts: OpenBackendOptions = {}): Promise<Backend> {
  const parsed = parseLocation(location);
  if (parsed.kind === 's3') {
    // Loaded only for S3 volumes: the AWS SDK costs ~150 ms at every start otherwise.
    const { S3Backend } = await import('./s3/s3-backend.js');
    return new RetryBackend(S3Backend.open(parsed.s3, opts.s3), opts.retry);
  }
  const local = opts.create ? await LocalBackend.create(parsed.path) : await LocalBackend.open(parsed.path);
  return new RetryBackend(local, opts.retry);
}
