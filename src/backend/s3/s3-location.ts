// Parses an `s3://bucket/prefix[?region=…&endpoint=…&path-style=true|false]`
// volume location into its parts. The one place that knows the URL form of
// S3 volumes; credentials never belong in it (they come from the AWS chain).

import { ArcaError } from '../../errors.js';

export interface S3Location {
  bucket: string;
  /** The key prefix under which the volume's objects live: "" or "a/b/" (always ends in '/'). */
  prefix: string;
  /** `?region=`: overrides AWS_REGION / the shared config. */
  region?: string;
  /** `?endpoint=`: overrides AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL. */
  endpoint?: string;
  /** `?path-style=`: true/false; unset means "path-style when a custom endpoint is set". */
  pathStyle?: boolean;
  /** `s3://bucket/prefix` for messages: no query, no credentials. */
  display: string;
}

const PARAMS = ['region', 'endpoint', 'path-style'] as const;
const BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/;
const REGION = /^[a-z0-9-]{1,64}$/;
const HELP = 'write s3://bucket/prefix (optionally ?region=…&endpoint=https://…&path-style=true|false)';

function usage(message: string): ArcaError {
  return new ArcaError('USAGE', message);
}

/** Parses an s3:// location; throws ArcaError('USAGE') naming what is wrong (never echoing credentials). */
export function parseS3Location(location: string): S3Location {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw usage(`invalid S3 location: ${HELP}`);
  }
  if (url.protocol.toLowerCase() !== 's3:') throw usage(`not an S3 location: ${HELP}`);
  if (url.username !== '' || url.password !== '') {
    throw usage(
      'an S3 location must not contain credentials (they would be stored in the catalog): ' +
        'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, in the environment instead',
    );
  }
  if (url.port !== '') throw usage(`S3 location ${url.host}: a bucket name has no port; put the server in ?endpoint=…`);
  if (url.hash !== '') throw usage(`S3 location s3://${url.host}${url.pathname} must not have a #fragment`);
  const bucket = url.hostname;
  if (!BUCKET.test(bucket) || bucket.length > 63) {
    throw usage(`invalid bucket name "${bucket}" in the S3 location: 3–63 letters, digits, '.', '-' or '_'`);
  }
  const prefix = parsePrefix(url.pathname, bucket);
  const display = `s3://${bucket}/${prefix}`.replace(/\/$/, '');
  const out: S3Location = { bucket, prefix, display };
  for (const [name, value] of url.searchParams) {
    if (!(PARAMS as readonly string[]).includes(name)) {
      throw usage(`unknown parameter "${name}" in S3 location ${display}: known are ${PARAMS.join(', ')}`);
    }
    if (name === 'region') {
      if (!REGION.test(value)) throw usage(`invalid region "${value}" in S3 location ${display}`);
      out.region = value;
    } else if (name === 'endpoint') {
      out.endpoint = parseEndpoint(value, display);
    } else {
      out.pathStyle = parseBool(value, display);
    }
  }
  return out;
}

function parsePrefix(pathname: string, bucket: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    throw usage(`invalid percent-encoding in the prefix of S3 location s3://${bucket}${pathname}`);
  }
  const trimmed = decoded.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') return '';
  const segments = trimmed.split('/');
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..' || s.includes('\\') || [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
      throw usage(`invalid prefix "${trimmed}" in S3 location s3://${bucket}/…: no empty, '.' or '..' segments, no control characters`);
    }
  }
  if (trimmed.length > 512) throw usage(`the prefix of S3 location s3://${bucket}/… is longer than 512 characters`);
  return `${trimmed}/`;
}

/** Validates an endpoint URL (http or https, no credentials); returns it normalized. */
export function parseEndpoint(value: string, where: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw usage(`invalid S3 endpoint for ${where}: expected a URL such as https://s3.example.com or http://127.0.0.1:9000`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usage(`invalid S3 endpoint for ${where}: it must start with http:// or https://`);
  }
  if (url.username !== '' || url.password !== '') {
    throw usage(`the S3 endpoint for ${where} must not contain credentials: use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY`);
  }
  if (url.search !== '' || url.hash !== '') throw usage(`the S3 endpoint for ${where} must not have a query or fragment`);
  return url.toString().replace(/\/$/, '');
}

function parseBool(value: string, display: string): boolean {
  const v = value.toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes' || v === '') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  throw usage(`invalid path-style "${value}" in S3 location ${display}: use true or false`);
}
