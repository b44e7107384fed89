// MySQL/MariaDB URLs: normalization (`mysql://` and `mariadb://` →
// `mysql://user[:password]@host:port/db`), redaction for every message, and
// the connection options for mysql2. The password comes from the URL or,
// without one there, from MYSQL_PWD (as the mysql/mariadb clients do); it
// never goes on a command line (this driver runs no child process at all).

import type { ConnectionOptions } from 'mysql2';
import { redactSecrets } from '../../common/redact.js';
import { ArcaError } from '../../errors.js';

const SCHEME = /^(mysql|mariadb):\/\//i;
export const DEFAULT_PORT = 3306;

export function isMysqlUrl(input: string): boolean {
  return SCHEME.test(input);
}

export function redactUrl(text: string): string {
  return redactSecrets(text);
}

function parse(input: string): URL {
  try {
    return new URL(input.replace(SCHEME, 'mysql://'));
  } catch {
    throw new ArcaError('USAGE', `"${redactUrl(input)}" is not a valid MySQL URL (mysql://user@host:3306/dbname)`);
  }
}

/** Canonical `mysql://user[:password]@host:port/db[?params]`, or undefined for other schemes. */
export function normalizeMysqlUrl(input: string): string | undefined {
  if (!isMysqlUrl(input)) return undefined;
  const u = parse(input);
  u.hash = '';
  if (!u.hostname && !u.searchParams.get('socket')) {
    throw new ArcaError('USAGE', `${redactUrl(input)} names no host (mysql://user@host:3306/dbname)`);
  }
  u.hostname = u.hostname.toLowerCase();
  if (!u.port) u.port = String(DEFAULT_PORT); // mysql: is not a special scheme: the port stays explicit
  const db = databaseOf(u.href);
  if (!db || db.includes('/')) throw new ArcaError('USAGE', `${redactUrl(input)} names no database (mysql://user@host:3306/dbname)`);
  if (db.length > 64) throw new ArcaError('USAGE', `database name "${db}" is longer than 64 characters`);
  u.pathname = '/' + encodeURIComponent(db);
  lockWaitSecondsOf(u.href);
  return u.href;
}

/** How long a backup waits for a table lock another session holds: `?lock_wait_timeout=SECONDS`, default 300. */
export function lockWaitSecondsOf(url: string): number {
  const v = parse(url).searchParams.get('lock_wait_timeout');
  if (v === null) return DEFAULT_LOCK_WAIT_SECONDS;
  if (!/^\d{1,8}$/.test(v) || Number(v) < 1 || Number(v) > 31_536_000) {
    throw new ArcaError('USAGE', `lock_wait_timeout must be a whole number of seconds from 1 to 31536000, not "${v}"`);
  }
  return Number(v);
}

/** A backup fails after 5 minutes of waiting for a lock, rather than the server's default of a day, during which it would look hung. */
const DEFAULT_LOCK_WAIT_SECONDS = 300;

export function databaseOf(url: string): string {
  return decodeURIComponent(parse(url).pathname.replace(/^\//, ''));
}

export function hostOf(url: string): string {
  const u = parse(url);
  const socket = u.searchParams.get('socket');
  return socket ? socket : `${u.hostname || 'localhost'}:${u.port || DEFAULT_PORT}`;
}

export function userOf(url: string): string {
  return decodeURIComponent(parse(url).username) || process.env.USER || 'root';
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

/** mysql2 options for `url`; `database: null` connects without selecting one. */
export function connectionOptions(url: string, database?: string | null): ConnectionOptions {
  const u = parse(url);
  const { password } = splitPassword(url);
  const socket = u.searchParams.get('socket');
  const opts: ConnectionOptions = {
    user: userOf(url),
    password: password ?? process.env.MYSQL_PWD ?? '',
    connectTimeout: 15_000,
    charset: 'UTF8MB4_GENERAL_CI',
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    multipleStatements: false,
  };
  if (socket) opts.socketPath = socket;
  else {
    opts.host = u.hostname || 'localhost';
    opts.port = Number(u.port || DEFAULT_PORT);
  }
  const db = database === undefined ? databaseOf(url) : database;
  if (db) opts.database = db;
  return opts;
}
