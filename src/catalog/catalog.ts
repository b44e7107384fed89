// The catalog: Arca's own SQLite database (`<home>/catalog.db`) of settings,
// registered volumes and databases, and later schedules, rules and job
// history. Several `arca` processes share it: WAL mode (readers never block
// the writer) and a busy timeout (writers queue instead of failing).
// This module owns opening, pragmas, migrations and SQLite error mapping.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ArcaError, errorMessage } from '../errors.js';
import { migrate, type MigrateResult } from './migrations.js';

export const CATALOG_FILE = 'catalog.db';

export interface Catalog {
  /** The underlying connection; only the catalog's own modules use it. */
  readonly db: Database.Database;
  readonly path: string;
  /** What opening did to the schema. */
  readonly migration: MigrateResult;
  /** The clock used for `created_at` and similar stamps (injected in tests). */
  now(): Date;
  close(): void;
}

export interface OpenCatalogOptions {
  /** How long a writer waits for another process's write to finish (ms). Default 10 s. */
  busyTimeoutMs?: number;
  now?: () => Date;
}

export function catalogPath(home: string): string {
  return join(home, CATALOG_FILE);
}

/** Opens (creating if needed) and migrates the catalog at `file`. */
export function openCatalog(file: string, options: OpenCatalogOptions = {}): Catalog {
  const now = options.now ?? (() => new Date());
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: options.busyTimeoutMs ?? 10_000 });
  } catch (err) {
    throw new ArcaError('BACKEND', `cannot open the catalog ${file}: ${errorMessage(err)}`, { cause: err });
  }
  cachePreparedStatements(db);
  try {
    const migration = guard(() => {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      return migrate(db, undefined, now);
    });
    return {
      db,
      path: file,
      migration,
      now,
      close: () => {
        if (db.open) db.close();
      },
    };
  } catch (err) {
    db.close();
    if (err instanceof ArcaError && err.code === 'CORRUPT') {
      throw new ArcaError('CORRUPT', `the catalog ${file} is damaged: ${errorMessage(err.cause)}`, { cause: err });
    }
    throw err;
  }
}

/**
 * Makes `db.prepare(sql)` return one compiled statement per SQL text (the
 * server answers many small reads: compiling each statement again cost ~8% of
 * a request). Safe because the catalog's modules only run statements to the
 * end (`run`/`get`/`all`, never a half-read `iterate`) and never change a
 * statement's mode (`pluck`, `raw`, `expand`, `safeIntegers`).
 */
function cachePreparedStatements(db: Database.Database): void {
  const compiled = new Map<string, Database.Statement>();
  const prepare = db.prepare.bind(db);
  const cached = (sql: string): Database.Statement => {
    let statement = compiled.get(sql);
    if (statement === undefined) {
      statement = prepare(sql);
      compiled.set(sql, statement);
    }
    return statement;
  };
  db.prepare = cached as typeof db.prepare;
}

function sqliteCode(err: unknown): string | undefined {
  if (err instanceof Database.SqliteError) return err.code;
  return undefined;
}

/** True for a UNIQUE / PRIMARY KEY violation, optionally on a given `table.column`. */
export function isUniqueViolation(err: unknown, column?: string): boolean {
  const code = sqliteCode(err);
  if (code !== 'SQLITE_CONSTRAINT_UNIQUE' && code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') return false;
  return column === undefined || errorMessage(err).includes(column);
}

/**
 * Runs catalog work, turning SQLite's "busy/locked" (another process held the
 * write lock longer than the timeout) into ArcaError('CONFLICT') and disk
 * trouble into ArcaError('BACKEND'). Other errors pass through unchanged.
 */
export function guard<T>(work: () => T): T {
  try {
    return work();
  } catch (err) {
    const code = sqliteCode(err);
    if (code === undefined) throw err;
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
      throw new ArcaError('CONFLICT', 'the catalog is busy (another arca process is writing to it); try again', {
        cause: err,
      });
    }
    if (
      code.startsWith('SQLITE_IOERR') ||
      code === 'SQLITE_FULL' ||
      code.startsWith('SQLITE_CANTOPEN') ||
      code.startsWith('SQLITE_READONLY')
    ) {
      throw new ArcaError('BACKEND', `catalog storage failed: ${errorMessage(err)}`, { cause: err });
    }
    if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
      throw new ArcaError('CORRUPT', `the catalog is damaged: ${errorMessage(err)}`, { cause: err });
    }
    throw err;
  }
}
