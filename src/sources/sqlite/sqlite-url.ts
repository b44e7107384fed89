// SQLite URLs: `sqlite:///abs/path.db` (canonical) or a plain path to an
// existing file ending in .db/.sqlite/.sqlite3 (a directory of that name
// stays with the files driver). One setting travels in the URL:
// `?lock_timeout_ms=N`, the rollback-journal lock bound (sqlite-snapshot.ts). Restore targets use the same forms, but need
// not exist and may have any name.

import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { ArcaError } from '../../errors.js';

const SCHEME = /^sqlite:/i;
const EXTENSION = /\.(db|sqlite|sqlite3)$/i;
const OTHER_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

export function isSqliteUrl(input: string): boolean {
  return SCHEME.test(input);
}

/** The absolute path a `sqlite:` URL names. */
export function sqlitePath(url: string): string {
  let path: string;
  try {
    path = fileURLToPath(url.replace(SCHEME, 'file:').replace(/[?#].*$/s, ''));
  } catch {
    throw new ArcaError('USAGE', `"${url}" is not a valid SQLite URL (it needs an absolute path: sqlite:///srv/app.db)`);
  }
  return path;
}

export function toSqliteUrl(path: string, lockTimeoutMs?: number): string {
  const url = pathToFileURL(path).href.replace(/^file:/, 'sqlite:');
  return lockTimeoutMs === undefined ? url : `${url}?lock_timeout_ms=${lockTimeoutMs}`;
}

/** The `lock_timeout_ms` setting of a sqlite URL, if any (USAGE when it is not a whole number of ms). */
export function lockTimeoutOf(url: string): number | undefined {
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const key of params.keys()) {
    if (key !== 'lock_timeout_ms') throw new ArcaError('USAGE', `unknown SQLite URL parameter "${key}" (known: lock_timeout_ms)`);
  }
  const v = params.get('lock_timeout_ms');
  if (v === null) return undefined;
  if (!/^\d{1,9}$/.test(v)) throw new ArcaError('USAGE', `lock_timeout_ms must be a whole number of milliseconds, not "${v}"`);
  return Number(v);
}

/** Throws USAGE unless SQLite itself can read `path` as a database (SQLite opens it, so no POSIX lock of ours is dropped). */
function checkIsDatabase(path: string): void {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: 1000 });
    db.pragma('schema_version', { simple: true });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_NOTADB') throw new ArcaError('USAGE', `${path} is not a SQLite database`);
    // Busy, locked or unreadable just now: the backup reports it with its own reason.
  } finally {
    db?.close();
  }
}

/** Canonical `sqlite:///abs/path.db`, or undefined when the input is not this driver's. */
export function normalizeSqliteUrl(input: string): string | undefined {
  let path: string;
  if (isSqliteUrl(input)) path = sqlitePath(input);
  else if (OTHER_SCHEME.test(input) || input.startsWith('file:') || !EXTENSION.test(input)) return undefined;
  else path = resolve(input);
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new ArcaError('USAGE', `${path} does not exist (a SQLite database is an existing file)`);
  }
  if (st.isDirectory()) {
    if (isSqliteUrl(input)) throw new ArcaError('USAGE', `${path} is a directory, not a SQLite database file`);
    return undefined; // a directory named like a database: the files driver's
  }
  if (!st.isFile()) throw new ArcaError('USAGE', `${path} is not a regular file`);
  checkIsDatabase(path);
  return toSqliteUrl(path, isSqliteUrl(input) ? lockTimeoutOf(input) : undefined);
}

/** The file a restore writes: a `sqlite:` URL or a plain path (which need not exist). */
export function restoreTargetPath(target: string): string {
  if (isSqliteUrl(target)) return sqlitePath(target);
  if (OTHER_SCHEME.test(target) || target.startsWith('file:')) {
    throw new ArcaError('USAGE', `a SQLite backup restores to a sqlite:///path URL or a file path, not ${target}`);
  }
  return resolve(target);
}
