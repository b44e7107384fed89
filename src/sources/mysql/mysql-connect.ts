// Connections to MySQL/MariaDB (mysql2, callback API wrapped in promises so
// that queries can also stream): one clear ArcaError for the usual failures
// (unreachable server, wrong credentials, unknown database), session settings
// that make dumps stable, and KILL QUERY for aborts.

import mysql from 'mysql2';
import { ArcaError, errorMessage, isArcaError } from '../../errors.js';
import { connectionOptions, databaseOf, hostOf, redactUrl, userOf } from './mysql-url.js';

export type MyConn = mysql.Connection;
/** A row as raw values (typeCast false): Buffer, or null for SQL NULL. */
export type RawRow = Array<Buffer | null>;

interface MyLikeError {
  code?: string;
  errno?: number;
  message?: string;
}

/** Turns a connection failure into one clear ArcaError (never with a password). */
export function connectError(url: string, err: unknown): ArcaError {
  if (isArcaError(err)) return err;
  const e = err as MyLikeError | undefined;
  const c = e?.code;
  const where = `MySQL server at ${hostOf(url)}`;
  const msg = redactUrl(errorMessage(err) || String(c ?? 'unknown error')).split('\n')[0]!;
  let text: string;
  if (c === 'ECONNREFUSED' || c === 'ENOTFOUND' || c === 'EHOSTUNREACH' || c === 'ETIMEDOUT' || c === 'EAI_AGAIN' || c === 'ENOENT' || c === 'PROTOCOL_CONNECTION_LOST') {
    text = `cannot reach the ${where} (${c})`;
  } else if (c === 'ER_ACCESS_DENIED_ERROR' || c === 'ER_NOT_SUPPORTED_AUTH_MODE' || e?.errno === 1045) {
    text = `authentication failed for user "${userOf(url)}" on the ${where}: ${msg}`;
  } else if (c === 'ER_BAD_DB_ERROR' || e?.errno === 1049) {
    text = `database "${databaseOf(url)}" does not exist on the ${where}`;
  } else if (c === 'ER_DBACCESS_DENIED_ERROR' || e?.errno === 1044) {
    text = `user "${userOf(url)}" may not use database "${databaseOf(url)}" on the ${where}: ${msg}`;
  } else {
    text = `cannot connect to ${redactUrl(url)}: ${msg}`;
  }
  return new ArcaError('SOURCE', text, { cause: err });
}

/** An error from a statement, named by the step that failed. */
export function stepError(step: string, err: unknown): ArcaError {
  if (isArcaError(err)) return err;
  const e = err as MyLikeError | undefined;
  if (e?.errno === 1205 || e?.code === 'ER_LOCK_WAIT_TIMEOUT') {
    return new ArcaError('SOURCE', `${step} failed: another session held a lock it needed for longer than lock_wait_timeout (SHOW PROCESSLIST shows which; the URL's ?lock_wait_timeout=SECONDS sets the wait)`, { cause: err });
  }
  return new ArcaError('SOURCE', `${step} failed: ${redactUrl(errorMessage(err)).split('\n')[0]}`, { cause: err });
}

/** Connects to the database of `url` (or to none with `database: null`). */
export async function connect(url: string, database?: string | null): Promise<MyConn> {
  const conn = mysql.createConnection(connectionOptions(url, database));
  conn.on('error', () => undefined); // reported through the query that fails
  try {
    await new Promise<void>((resolve, reject) => conn.connect((err) => (err ? reject(err) : resolve())));
  } catch (err) {
    conn.destroy();
    throw connectError(url, err);
  }
  return conn;
}

/** Runs one statement; resolves with its rows (objects) or OK packet. */
export function query<T = unknown>(conn: MyConn, sql: string, values: unknown[] = []): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    conn.query(sql, values, (err, result) => (err ? reject(err) : resolve(result as T)));
  });
}

/** Runs a statement that returns rows as arrays of strings (utf8) or null. */
export async function rows(conn: MyConn, sql: string, values: unknown[] = []): Promise<Array<Array<string | null>>> {
  const r = await new Promise<unknown>((resolve, reject) => {
    conn.query({ sql, values, rowsAsArray: true, typeCast: false }, (err, result) => (err ? reject(err) : resolve(result)));
  });
  return (r as RawRow[]).map((row) => row.map((v) => (v === null ? null : v.toString('utf8'))));
}

export async function close(conn: MyConn | undefined, hard = false): Promise<void> {
  if (!conn) return;
  if (hard) return conn.destroy();
  await new Promise<void>((resolve) => conn.end(() => resolve()));
  conn.destroy();
}

/** KILL QUERY on the statements of `conns`, from a fresh connection (best effort). */
export async function killQueries(url: string, conns: Array<MyConn | undefined>): Promise<void> {
  const ids = conns.map((c) => c?.threadId).filter((x): x is number => typeof x === 'number');
  if (ids.length === 0) return;
  let killer: MyConn | undefined;
  try {
    killer = await connect(url, null);
    for (const id of ids) await query(killer, `KILL QUERY ${Number(id)}`).catch(() => undefined);
  } catch {
    // the connections are destroyed next anyway
  } finally {
    await close(killer);
  }
}

export function quoteIdent(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

export function quoteString(s: string): string {
  return mysql.escape(s);
}

/**
 * Calls `onAbort` once when `signal` aborts; returns the function that
 * unregisters it. Throws ABORTED at once if the signal already fired.
 */
export function onAbort(signal: AbortSignal | undefined, what: string, onAbort: () => void): () => void {
  if (!signal) return () => undefined;
  if (signal.aborted) throw new ArcaError('ABORTED', `${what} aborted`);
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new ArcaError('ABORTED', `${what} aborted`);
}
