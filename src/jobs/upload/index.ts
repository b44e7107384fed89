// Restoring a registered database from an uploaded export file (the server's
// `…/restore/upload`): `validateExport` proves the file is the database's
// native export format before anything is touched (SQLite header and
// integrity_check; a PostgreSQL dump script or pg_dump archive; a MySQL/
// MariaDB script of one database from arca export or mariadb-dump/mysqldump,
// whose `--databases` lines are neutralised in a copy beside it; a tar for
// directories) and names the file to load, `restoreExport` then loads that
// with the engine's own tools (into a scratch database or temp file), swaps
// it in only when that succeeded, and removes the copy.
import { ArcaError } from '../../errors.js';
import { driverFor } from '../../sources/index.js';
import type { JobContext } from '../types.js';
import { restorePostgresExport, validatePostgresExport, type PgExportFormat } from './postgres-upload.js';
import { restoreMysqlExport, validateMysqlExport } from './mysql-upload.js';
import { restoreSqliteExport, validateSqliteExport } from './sqlite-upload.js';
import { restoreTarExport, validateTarExport } from './files-upload.js';
import { rm, stat } from 'node:fs/promises';

export type ExportFormat = 'sqlite' | 'tar' | 'mysql-sql' | PgExportFormat;

/** The engine of a database URL, when uploads can restore it; USAGE otherwise. */
export function uploadEngine(url: string): 'sqlite' | 'postgres' | 'mysql' | 'files' {
  const kind = driverFor(url).kind;
  if (kind === 'sqlite' || kind === 'postgres' || kind === 'mysql' || kind === 'files') return kind;
  throw new ArcaError('USAGE', `restoring ${kind} databases from an uploaded file is not supported; use a backup (PUT …/backups/restore)`);
}

/** A valid upload: its format, and the file to restore from (the upload, or a rewritten copy beside it that restoreExport removes). */
export interface ValidExport {
  format: ExportFormat;
  load: string;
}

export async function validateExport(url: string, file: string): Promise<ValidExport> {
  const engine = uploadEngine(url);
  if ((await stat(file)).size === 0) throw new ArcaError('USAGE', 'the uploaded file is empty');
  if (engine === 'sqlite') return validateSqliteExport(file).then(() => ({ format: 'sqlite' as const, load: file }));
  if (engine === 'postgres') return validatePostgresExport(file);
  if (engine === 'mysql') return validateMysqlExport(file);
  return { format: await validateTarExport(file), load: file };
}

export interface UploadRestoreResult {
  target: string;
  format: ExportFormat;
  bytes: number;
}

export async function restoreExport(opts: JobContext & { url: string; file: string; format: ExportFormat; load?: string }): Promise<UploadRestoreResult> {
  const load = opts.load ?? opts.file;
  try {
    const bytes = (await stat(opts.file)).size;
    const loadBytes = load === opts.file ? bytes : (await stat(load)).size;
    const progress = (done: number) => opts.onProgress?.({ phase: 'restore', bytesDone: done, bytesTotal: bytes, itemsDone: done === bytes ? 1 : 0, itemsTotal: 1 });
    progress(0);
    // While a client tool reads the script (or its rewritten copy): how far, in bytes of the upload (never "done" before the swap).
    const loading = (read: number) => progress(Math.min(Math.floor((read / Math.max(loadBytes, 1)) * bytes), bytes - 1));
    let target: string;
    if (opts.format === 'sqlite') target = (await restoreSqliteExport(opts.url, load, opts.signal)).target;
    else if (opts.format === 'tar') target = (await restoreTarExport(opts.url, load, opts.signal)).target;
    else if (opts.format === 'mysql-sql') target = (await restoreMysqlExport(opts.url, load, opts.signal, loading)).target;
    else target = (await restorePostgresExport(opts.url, load, opts.format, opts.signal, loading)).target;
    progress(bytes);
    return { target, format: opts.format, bytes };
  } finally {
    if (load !== opts.file) await rm(load, { force: true });
  }
}
