// Connections to PostgreSQL: opening a client with one clear ArcaError for
// the usual failures (unreachable server, wrong credentials, unknown
// database), the snapshot transaction (a coordinator that exports a
// REPEATABLE READ snapshot, workers that import it), and cancellation of
// running queries when a job is aborted.

import pg from 'pg';
import { ArcaError, errorMessage, isArcaError } from '../../errors.js';
import { pgStream } from './pg-socket.js';
import { databaseOf, hostOf, redactUrl, userOf } from './pg-url.js';

export type PgClient = pg.Client;

interface PgLikeError {
  code?: string;
  errors?: Array<{ code?: string }>;
  message?: string;
}

/** The SQLSTATE (or Node error code) of a pg error. */
export function codeOf(err: unknown): string | undefined {
  const e = err as PgLikeError | undefined;
  return e?.code ?? e?.errors?.find((x) => x.code)?.code;
}

/** Turns a connection failure into one clear ArcaError (never with a password). */
export function connectError(url: string, err: unknown, code: 'SOURCE' | 'CONFLICT' = 'SOURCE'): ArcaError {
  if (isArcaError(err)) return err;
  const where = `PostgreSQL server at ${hostOf(url)}`;
  const c = codeOf(err);
  const msg = redactUrl(errorMessage(err) || String(c ?? 'unknown error'));
  let text: string;
  if (c === 'ECONNREFUSED' || c === 'ENOTFOUND' || c === 'EHOSTUNREACH' || c === 'ETIMEDOUT' || c === 'EAI_AGAIN' || c === 'ENOENT' || /timeout/i.test(msg)) {
    text = `cannot reach the ${where} (${c ?? msg})`;
  } else if (c === '28P01' || c === '28000' || /password|SASL|authentication/i.test(msg)) {
    text = `authentication failed for user "${userOf(url)}" on the ${where}: ${msg}`;
  } else if (c === '3D000') {
    text = `database "${databaseOf(url)}" does not exist on the ${where}`;
  } else {
    text = `cannot connect to ${redactUrl(url)}: ${msg}`;
  }
  return new ArcaError(code, text, { cause: err });
}

/** An error from a statement, named by the step that failed. */
export function stepError(step: string, err: unknown, code: 'SOURCE' | 'CONFLICT' = 'SOURCE'): ArcaError {
  if (isArcaError(err)) return err;
  return new ArcaError(code, `${step} failed: ${redactUrl(errorMessage(err))}`, { cause: err });
}

export async function connect(url: string): Promise<PgClient> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 15_000, application_name: 'arca', stream: pgStream });
  client.on('error', () => undefined); // reported through the query that fails
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw connectError(url, err);
  }
  return client;
}

/** The backend pid of a client (for pg_cancel_backend). */
export function pidOf(client: PgClient): number | undefined {
  return (client as unknown as { processID?: number }).processID;
}

/** Closes a client; with `hard`, drops the socket at once (after an abort). */
export async function closeClient(client: PgClient, hard = false): Promise<void> {
  if (hard) {
    // The pg Client keeps its socket on `connection.stream` (not in the typings).
    const stream = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
    stream?.destroy();
  }
  await client.end().catch(() => undefined);
}

/** Session settings that make COPY output stable (dedup) and exact. */
export const STABLE_SETTINGS = [
  "SET client_encoding = 'UTF8'",
  "SET DateStyle = 'ISO, YMD'",
  "SET IntervalStyle = 'postgres'",
  "SET TimeZone = 'UTC'",
  'SET extra_float_digits = 3',
  'SET statement_timeout = 0',
  'SET lock_timeout = 0',
  'SET idle_in_transaction_session_timeout = 0',
  'SET row_security = off',
];

/** Opens the coordinator: a READ ONLY REPEATABLE READ transaction whose snapshot it exports. */
export async function openCoordinator(url: string): Promise<{ client: PgClient; snapshot: string }> {
  const client = await connect(url);
  try {
    for (const s of STABLE_SETTINGS) await client.query(s);
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const r = await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
    return { client, snapshot: r.rows[0]!.id };
  } catch (err) {
    await closeClient(client);
    throw stepError('starting the snapshot transaction', err);
  }
}

/** Opens a worker that reads in the coordinator's snapshot. */
export async function openSnapshotWorker(url: string, snapshot: string): Promise<PgClient> {
  const client = await connect(url);
  try {
    for (const s of STABLE_SETTINGS) await client.query(s);
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    await client.query(`SET TRANSACTION SNAPSHOT ${pg.escapeLiteral(snapshot)}`);
    return client;
  } catch (err) {
    await closeClient(client);
    throw stepError('joining the snapshot', err);
  }
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

/**
 * Stops an aborted job's sessions: terminates the backends of `clients` over
 * a connection of its own to `url` (same role), best effort. Not through one
 * of them: a query queued behind a statement that waits (for a lock held by
 * the application, say) would never run. Terminated rather than cancelled: a
 * cancel that lands between two statements is lost, and the next statement
 * could wait for ever.
 */
export async function stopBackends(url: string, clients: PgClient[]): Promise<void> {
  const pids = clients.map(pidOf).filter((p): p is number => typeof p === 'number');
  if (pids.length === 0) return;
  let via: PgClient | undefined;
  try {
    via = await connect(url);
    await via.query('SELECT pg_terminate_backend(p) FROM unnest($1::int[]) AS p', [pids]);
  } catch {
    // The server is gone or refuses: the job fails on its own connections.
  } finally {
    if (via) await closeClient(via);
  }
}

export function quoteIdent(name: string): string {
  return pg.escapeIdentifier(name);
}

export function qualified(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}
