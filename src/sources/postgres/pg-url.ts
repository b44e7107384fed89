// PostgreSQL URLs: normalization (`postgres://` and `postgresql://` →
// `postgres://…`), redaction of passwords for every message, and the split
// between what a client may see on its command line (the URL without the
// password) and what goes into its environment (PGPASSWORD).
//
// The password: normalize keeps a password given in the URL (dropping it
// would silently break every later backup); callers that store URLs should
// prefer `splitPassword` and keep the secret elsewhere. Without one in the
// URL, pg and libpq use PGPASSWORD or ~/.pgpass as usual.

import { ArcaError } from '../../errors.js';
import { redactSecrets } from '../../common/redact.js';

const SCHEME = /^(postgres|postgresql):\/\//i;

export function isPostgresUrl(input: string): boolean {
  return SCHEME.test(input);
}

/** Replaces passwords in URLs and `password=` conninfo words with `***`. */
export function redactUrl(text: string): string {
  return redactSecrets(text);
}

function parse(input: string): URL {
  let u: URL;
  try {
    u = new URL(input);
  } catch {
    throw new ArcaError('USAGE', `"${redactUrl(input)}" is not a valid PostgreSQL URL (postgres://user@host:5432/dbname)`);
  }
  return u;
}

/** Canonical `postgres://user[:password]@host[:port]/db[?params]`, or undefined for other schemes. */
export function normalizePostgresUrl(input: string): string | undefined {
  if (!isPostgresUrl(input)) return undefined;
  const u = parse(input);
  u.hash = '';
  const canonical = new URL(u.href.replace(SCHEME, 'postgres://'));
  if (canonical.hostname) canonical.hostname = canonical.hostname.toLowerCase(); // host names are case-insensitive
  if (!databaseOf(canonical.href)) {
    throw new ArcaError('USAGE', `${redactUrl(input)} names no database (postgres://user@host:5432/dbname)`);
  }
  if (!canonical.hostname && !canonical.searchParams.get('host')) {
    throw new ArcaError('USAGE', `${redactUrl(input)} names no host (postgres://user@host:5432/dbname, or ?host=/run/postgresql)`);
  }
  return canonical.href;
}

export function databaseOf(url: string): string {
  return decodeURIComponent(parse(url).pathname.replace(/^\//, ''));
}

export function hostOf(url: string): string {
  const u = parse(url);
  const host = u.hostname || u.searchParams.get('host') || 'localhost';
  return `${host}:${u.port || '5432'}`;
}

export function userOf(url: string): string {
  const u = parse(url);
  return decodeURIComponent(u.username) || process.env.PGUSER || process.env.USER || 'postgres';
}

/** The same server and credentials, another database. */
export function withDatabase(url: string, database: string): string {
  const u = parse(url);
  u.pathname = '/' + encodeURIComponent(database);
  return u.href;
}

/** The URL without its password, and the password (decoded) if it had one. */
export function splitPassword(url: string): { url: string; password: string | undefined } {
  const u = parse(url);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  u.password = '';
  return { url: u.href, password };
}

/**
 * Arguments and environment for a libpq client tool (pg_dump, pg_restore):
 * the password, if any, travels only in the child's environment.
 */
export function childConnection(url: string): { dbnameArg: string; env: NodeJS.ProcessEnv } {
  const { url: bare, password } = splitPassword(url);
  const env: NodeJS.ProcessEnv = { ...process.env, PGAPPNAME: 'arca' };
  if (password !== undefined) env.PGPASSWORD = password;
  return { dbnameArg: `--dbname=${bare}`, env };
}
