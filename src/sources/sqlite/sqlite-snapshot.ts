// The consistent copy: one read transaction on the source pins a snapshot
// (WAL: a read mark, writers go on; rollback journal: a SHARED lock, writers
// wait to commit), and SQLite's online backup API copies every page of that
// snapshot into a private temp file, a bounded number of pages per step.
// Because the source connection's read transaction stays open across all
// steps, the backup never sees another connection's commit and so never
// restarts (the backup API restarts only when its source changes between
// steps, which a pinned snapshot rules out). See README.md for measurements.
//
// Rollback-journal mode: holding the SHARED lock stalls every writer's commit,
// so the copy gives up once it has held the lock for `lockTimeoutMs` (and
// waits at most that long to get it); the error says why and what to do.

import Database from 'better-sqlite3';
import { ArcaError, errorMessage } from '../../errors.js';

export const DEFAULT_LOCK_TIMEOUT_MS = 2000;
/** Bytes copied per backup step (between steps the event loop runs: abort, timers). */
const STEP_BYTES = 4 << 20;
/** How long a WAL-mode reader may wait for its read mark (rare: recovery, a checkpoint restart). */
const WAL_BUSY_MS = 5000;

export interface SnapshotOptions {
  lockTimeoutMs: number;
  signal?: AbortSignal;
}

export interface SnapshotInfo {
  journalMode: string;
  pageSize: number;
  pageCount: number;
  /** How long the read transaction on the source was open. */
  heldMs: number;
}

function aborted(): ArcaError {
  return new ArcaError('ABORTED', 'backup aborted');
}

function sqliteCode(err: unknown): string | undefined {
  return (err as { code?: string })?.code;
}

function sourceError(path: string, what: string, err: unknown, lockTimeoutMs: number): ArcaError {
  if (err instanceof ArcaError) return err;
  const code = sqliteCode(err);
  if (code === 'SQLITE_NOTADB') return new ArcaError('SOURCE', `${path} is not a SQLite database`, { cause: err });
  if (code === 'SQLITE_CANTOPEN') return new ArcaError('SOURCE', `cannot open SQLite database ${path}: ${errorMessage(err)}`, { cause: err });
  if (code?.startsWith('SQLITE_BUSY')) {
    return new ArcaError(
      'SOURCE',
      `${path}: gave up after waiting ${lockTimeoutMs} ms for a read lock: another connection holds a write lock ` +
        `(in rollback-journal mode a committing writer locks readers out). Retry later, raise the lock timeout, or switch the database to WAL (PRAGMA journal_mode=WAL)`,
      { cause: err },
    );
  }
  return new ArcaError('SOURCE', `cannot ${what} SQLite database ${path}: ${errorMessage(err)}`, { cause: err });
}

/** Copies the current snapshot of `path` into the new file `dest`. */
export async function copySnapshot(path: string, dest: string, opts: SnapshotOptions): Promise<SnapshotInfo> {
  if (opts.signal?.aborted) throw aborted();
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: opts.lockTimeoutMs });
  } catch (err) {
    throw sourceError(path, 'open', err, opts.lockTimeoutMs);
  }
  try {
    let journalMode: string;
    let started: number;
    try {
      journalMode = String(db.pragma('journal_mode', { simple: true }));
      if (journalMode === 'wal') db.pragma(`busy_timeout = ${WAL_BUSY_MS}`);
      db.exec('BEGIN');
      db.prepare('SELECT count(*) FROM main.sqlite_schema').get(); // takes the snapshot
      started = performance.now();
      journalMode = String(db.pragma('journal_mode', { simple: true })); // as of the snapshot
    } catch (err) {
      throw sourceError(path, 'read', err, opts.lockTimeoutMs);
    }
    const pageSize = Number(db.pragma('page_size', { simple: true }));
    const pageCount = Number(db.pragma('page_count', { simple: true }));
    const bounded = journalMode !== 'wal';
    const pagesPerStep = Math.max(16, Math.floor(STEP_BYTES / pageSize));
    try {
      await db.backup(dest, {
        progress: () => {
          if (opts.signal?.aborted) throw aborted();
          const held = performance.now() - started;
          if (bounded && held > opts.lockTimeoutMs) {
            throw new ArcaError(
              'SOURCE',
              `${path}: gave up after holding a read lock for ${Math.round(held)} ms (limit ${opts.lockTimeoutMs} ms): ` +
                `in ${journalMode} (rollback-journal) mode the lock stalls every writer's commit. ` +
                `Switch the database to WAL (PRAGMA journal_mode=WAL), raise the lock timeout, or back up when it is quieter`,
            );
          }
          return pagesPerStep;
        },
      });
    } catch (err) {
      throw sourceError(path, 'copy', err, opts.lockTimeoutMs);
    }
    return { journalMode, pageSize, pageCount, heldMs: performance.now() - started };
  } finally {
    try {
      if (db.inTransaction) db.exec('COMMIT');
    } finally {
      db.close();
    }
  }
}
